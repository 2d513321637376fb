"""``srbench run`` and the folder commands: the grid's configuration and plan, the pipeline that
degrades, runs methods and scores every image, set-level metrics, and folder operations
(``degrade``, ``upscale``, ``eval``)."""

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
