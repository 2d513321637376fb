"""The ``srbench`` command line: thin commands over :mod:`srbench.run` and the other packages.

``base`` holds the Typer :data:`app`, the error handling and the options commands share; each
other module holds one group of commands, registered on ``app`` when it is imported here:

* ``images``: ``sample``, ``degrade``, ``upscale``, ``eval`` (folders of images)
* ``ls``: ``ls`` (what srbench knows)
* ``assets``: ``download``, ``weights`` (datasets and pretrained files into the caches)
* ``run``: ``run`` (the benchmark grid, ``--resume``)
* ``train``: ``train``
* ``results``: ``leaderboard``, ``baseline``, ``check``, ``report`` (the store)
* ``figures``: ``plot`` (one figure from the store)
* ``store``: ``verify`` (damaged files listed and quarantined); it also prints the library's
  warnings (damaged files left out, tables not shown) as ``warning:`` lines on stderr

Exit codes are listed in :mod:`srbench.cli.base`.
"""

import importlib

from srbench.cli.base import app, main

__all__ = ["app", "main"]

#: The command modules, in the order ``srbench --help`` lists their commands.
COMMAND_MODULES = ("images", "ls", "assets", "run", "train", "results", "figures", "store")

for _module in COMMAND_MODULES:
    importlib.import_module(f"srbench.cli.{_module}")  # registers its commands on app
