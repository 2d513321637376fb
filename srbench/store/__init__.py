"""The results store: one tidy long table per run (``schema``), written atomically under a lock
(``writer``), read by every consumer through :func:`load_results` (``reader``); damaged files
are recognised and left out with a warning (``damage``), listed and moved aside by
``srbench verify`` (``verify``).

Each public name is imported from its module on first use: the modules need pandas and pyarrow
(about 0.4 s to import), which ``srbench ls runs`` on an empty store and the start of
``srbench run`` do without.
"""

from __future__ import annotations

from srbench.system.lazy import lazy_names

_MODULES = {
    "damage": ("QUARANTINE", "Damage", "DamagedFileError"),
    "reader": (
        "dataset_sizes",
        "load_manifests",
        "load_results",
        "load_store",
        "read_manifest",
        "read_run",
        "run_dirs",
        "scan_run",
    ),
    "schema": (
        "CELL_KEY",
        "COLUMNS",
        "IDENTITY",
        "MANIFEST",
        "NULLABLE_KEY",
        "ROW_KEY",
        "SET_IMAGE",
    ),
    "writer": ("RunWriter", "new_run_id"),
}
__all__, __getattr__, __dir__ = lazy_names(__name__, _MODULES)
