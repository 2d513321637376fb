"""The results store: one tidy long table per run (``schema``), written atomically under a lock
(``writer``), read by every consumer through :func:`load_results` (``reader``)."""

from srbench.store.reader import (
    dataset_sizes,
    load_manifests,
    load_results,
    read_manifest,
    read_run,
    run_dirs,
)
from srbench.store.schema import CELL_KEY, COLUMNS, IDENTITY, MANIFEST, ROW_KEY, SET_IMAGE
from srbench.store.writer import RunWriter, new_run_id

__all__ = [
    "CELL_KEY",
    "COLUMNS",
    "IDENTITY",
    "MANIFEST",
    "ROW_KEY",
    "SET_IMAGE",
    "RunWriter",
    "dataset_sizes",
    "load_manifests",
    "load_results",
    "new_run_id",
    "read_manifest",
    "read_run",
    "run_dirs",
]
