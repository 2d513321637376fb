"""``srbench run`` and the folder commands.

Modules: ``config`` (the run's typed configuration), ``plan`` (the configuration checked and
resolved into methods, metrics, protocol, device and datasets before any work), ``pipeline``
(the run: store every row, resume, the local executor), ``cells`` (the per-image work every
executor shares: what is still to do; degrade, run the methods, score),
``distributed`` (``--executor ray``: the cells as Ray tasks; imported only then), ``isolation``
(how methods are called: in-process threads, timeouts, ``--isolate`` worker processes), ``rows``
(the stored rows, failures and set-level values), ``setlevel`` (FID/KID patch features per image),
``folders`` (``degrade``/``upscale`` a folder) and ``evaluate`` (``eval``: score SR against HR
folders).
"""

from srbench.run.evaluate import EvalResult, evaluate_folders, pair_folders
from srbench.run.folders import FolderResult, degrade_folder, upscale_folder
from srbench.run.pipeline import RunConfig, RunResult, resume, run

__all__ = [
    "EvalResult",
    "FolderResult",
    "RunConfig",
    "RunResult",
    "degrade_folder",
    "evaluate_folders",
    "pair_folders",
    "resume",
    "run",
    "upscale_folder",
]
