"""``srbench run`` and the folder commands.

Modules: ``config`` (the run's typed configuration), ``plan`` (the configuration checked and
resolved into methods, metrics, protocol, device and datasets before any work), ``pipeline``
(the run: store every row, resume, the local executor), ``items`` (what is still to do: an item
per image, a job per method), ``cells`` (the per-image work every executor shares: degrade, run
the methods, score),
``distributed`` (``--executor ray``: the cells as Ray tasks; imported only then), ``isolation``
(how methods are called: in-process threads, timeouts, ``--isolate`` worker processes), ``rows``
(the stored rows, failures and set-level values), ``setlevel`` (FID/KID patch features per image),
``folders`` (``degrade``/``upscale`` a folder) and ``evaluate`` (``eval``: score SR against HR
folders).

Each public name is imported from its module on first use, so that ``srbench run`` does not
load ``eval``'s pandas before its first image.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = {
    "evaluate": ("EvalResult", "evaluate_folders", "pair_folders"),
    "folders": ("FolderResult", "degrade_folder", "upscale_folder"),
    "pipeline": ("RunConfig", "RunResult", "resume", "run"),
}
_PUBLIC = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'srbench.run' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"srbench.run.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
