"""The results store: one tidy long table per run (``schema``), written atomically under a lock
(``writer``), read by every consumer through :func:`load_results` (``reader``); damaged files
are recognised and left out with a warning (``damage``), listed and moved aside by
``srbench verify`` (``verify``)."""

from srbench.store.damage import QUARANTINE, Damage, DamagedFileError
from srbench.store.reader import (
    dataset_sizes,
    load_manifests,
    load_results,
    load_store,
    read_manifest,
    read_run,
    run_dirs,
    scan_run,
)
from srbench.store.schema import (
    CELL_KEY,
    COLUMNS,
    IDENTITY,
    MANIFEST,
    NULLABLE_KEY,
    ROW_KEY,
    SET_IMAGE,
)
from srbench.store.writer import RunWriter, new_run_id

__all__ = [
    "CELL_KEY",
    "COLUMNS",
    "IDENTITY",
    "MANIFEST",
    "NULLABLE_KEY",
    "QUARANTINE",
    "ROW_KEY",
    "SET_IMAGE",
    "Damage",
    "DamagedFileError",
    "RunWriter",
    "dataset_sizes",
    "load_manifests",
    "load_results",
    "load_store",
    "new_run_id",
    "read_manifest",
    "read_run",
    "run_dirs",
    "scan_run",
]
