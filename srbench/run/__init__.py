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

from srbench.system.lazy import lazy_names

_MODULES = {
    "evaluate": ("EvalResult", "evaluate_folders", "pair_folders"),
    "folders": ("FolderResult", "degrade_folder", "upscale_folder"),
    "pipeline": ("RunConfig", "RunResult", "resume", "run"),
}
__all__, __getattr__, __dir__ = lazy_names(__name__, _MODULES)
