"""srbench: a benchmark and evaluation suite for single-image super-resolution.

Public API (each name is imported on first use, so ``import srbench`` stays cheap)::

    from srbench import imresize, read_image, score_pair, get_protocol, parse_spec
    from srbench import bicubic_upscale, rgb2ycbcr, ycbcr2rgb  # for plug-ins

The package follows the data: ``catalog`` (datasets) -> ``degradations`` -> ``methods`` ->
``metrics`` -> ``run`` -> ``store`` -> ``leaderboard`` -> ``report`` / ``check``, with
``training`` beside them and ``cli`` on top.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from types import ModuleType
from typing import Any

_PUBLIC = {
    "DEGRADATIONS": "srbench.degradations",
    "parse_spec": "srbench.degradations",
    "evaluate_folders": "srbench.run.evaluate",
    "modcrop": "srbench.imageio",
    "read_image": "srbench.imageio",
    "rgb2y": "srbench.imageio",
    "write_png": "srbench.imageio",
    "METRICS": "srbench.metrics",
    "PROTOCOLS": "srbench.metrics",
    "get_protocol": "srbench.metrics",
    "score_pair": "srbench.metrics",
    "bicubic_upscale": "srbench.resize",
    "imresize": "srbench.resize",
    "rgb2ycbcr": "srbench.color",
    "ycbcr2rgb": "srbench.color",
}

__all__ = ["__version__", *sorted(_PUBLIC)]


def _version() -> str:
    # importlib.metadata takes 20-30 ms to import: only ``--version`` and provenance need it
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("srbench")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":  # read on first use, like the public names below
        globals()[name] = _version()
        return globals()[name]
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'srbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC, "__version__"})


# Modules that moved when the package was arranged by role (0.2). Importing an old path still
# works for one release and warns with the new one.
_MOVED = {
    "srbench.allocator": "srbench.system.memory",
    "srbench.api": "srbench.run.folders",
    "srbench.checkpoints": "srbench.weights.loading",
    "srbench.datasets": "srbench.catalog.resolve",
    "srbench.device": "srbench.system.device",
    "srbench.evaluate": "srbench.run.evaluate",
    "srbench.fsutil": "srbench.system.files",
    "srbench.inference": "srbench.methods.inference",
    "srbench.install": "srbench.catalog.install",
    "srbench.methods.weightstore": "srbench.weights.tags",
    "srbench.nets": "srbench.methods.families",
    "srbench.nets.common": "srbench.methods.layers",
    "srbench.nets.edsr": "srbench.methods.families.edsr.net",
    "srbench.nets.rrdb": "srbench.methods.families.esrgan.net",
    "srbench.nets.srresnet": "srbench.methods.families.srgan.net",
    "srbench.nets.srugan": "srbench.methods.families.srugan.net",
    "srbench.nets.upsample": "srbench.methods.layers",
    "srbench.optional": "srbench.system.extras",
    "srbench.plots": "srbench.report.plots",
    "srbench.provenance": "srbench.system.provenance",
    "srbench.regress": "srbench.check",
    "srbench.runner": "srbench.run.pipeline",
    "srbench.sample": "srbench.catalog.sample",
    "srbench.setmetrics": "srbench.run.setlevel",
    "srbench.stats": "srbench.leaderboard.stats",
    "srbench.tables": "srbench.leaderboard.tables",
    "srbench.visuals": "srbench.report.visuals",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves an old module path as the module that now holds its code, with a warning."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in _MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        if fullname.startswith("srbench.nets."):  # else a second copy of a family would load
            raise ModuleNotFoundError(f"{fullname} no longer exists; see srbench.methods.families")
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = _MOVED[spec.name]
        warnings.warn(
            f"{spec.name} moved to {new}; import it from there (the old path goes in 0.3).",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(new)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module is the already-imported new one."""


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.insert(0, _MovedModules())  # before the path finders, which would load copies
