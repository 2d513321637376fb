"""The field's own scoring functions, imported from the installed packages for side-by-side timing.

``import basicsr`` and ``import pyiqa`` run their whole package ``__init__`` (BasicSR's imports
``torchvision.transforms.functional_tensor``, removed in torchvision 0.17; pyiqa's needs
``huggingface_hub``), so a plain import fails on a current stack although the metric modules
themselves only need numpy, OpenCV and torch. :func:`load_leaf` imports just the files named,
with empty parent packages standing in for the real ``__init__`` modules: the code timed is the
installed package's own, unmodified. Each loader returns ``None`` when the package is absent.

pyiqa's metrics take ``(N, 3, H, W)`` float tensors in ``[0, 1]``; ``color_space="ycbcr"`` makes
their ``test_y_channel`` the BT.601 Y of MATLAB's ``rgb2ycbcr`` (their default is YIQ's Y).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "basicsr_imresize",
    "basicsr_psnr_ssim",
    "load_leaf",
    "load_leaves",
    "pyiqa_psnr_ssim",
]


def load_leaf(package: str, modules: list[str], attributes: dict[str, list[str]] | None = None):
    """Import ``modules`` (dotted names under ``package``) without running package ``__init__``s.

    ``attributes`` maps a stand-in package to names it must re-export (from the modules loaded
    before), as its real ``__init__`` would. Returns the last module, or ``None`` when
    ``package`` is not installed.
    """
    loaded = load_leaves(package, modules, attributes)
    return None if loaded is None else loaded[modules[-1]]


def load_leaves(
    package: str, modules: list[str], attributes: dict[str, list[str]] | None = None
) -> dict[str, types.ModuleType] | None:
    """:func:`load_leaf`, returning every module named (dotted name -> module)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.submodule_search_locations is None:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    saved = {name: mod for name, mod in sys.modules.items() if name.split(".")[0] == package}
    try:
        loaded = {}
        for dotted in modules:
            parts = dotted.split(".")
            for depth in range(1, len(parts)):
                _stand_in(".".join(parts[:depth]), root.parent)
            module = loaded[dotted] = importlib.import_module(dotted)
            for pkg, names in (attributes or {}).items():
                if pkg in sys.modules:
                    for name in names:
                        if hasattr(module, name):
                            setattr(sys.modules[pkg], name, getattr(module, name))
        return loaded
    finally:
        # Leave sys.modules as it was: a later plain import must not find the stand-ins.
        for name in [n for n in sys.modules if n.split(".")[0] == package]:
            if name not in saved:
                del sys.modules[name]
        sys.modules.update(saved)


def _stand_in(name: str, site: Path) -> None:
    if name in sys.modules:
        return
    package = types.ModuleType(name)
    package.__path__ = [str(site.joinpath(*name.split(".")))]
    sys.modules[name] = package


def basicsr_psnr_ssim() -> tuple[Callable, Callable] | None:
    """BasicSR's ``calculate_psnr`` and ``calculate_ssim`` (``basicsr.metrics.psnr_ssim``)."""
    module = load_leaf(
        "basicsr",
        ["basicsr.utils.color_util", "basicsr.utils.registry", "basicsr.metrics.psnr_ssim"],
        {"basicsr.utils": ["bgr2ycbcr", "rgb2ycbcr", "rgb2ycbcr_pt"]},
    )
    if module is None:
        return None
    return module.calculate_psnr, module.calculate_ssim


def basicsr_imresize() -> Callable | None:
    """BasicSR's MATLAB-style bicubic ``imresize`` (``basicsr.utils.matlab_functions``): float
    input in ``[0, 1]``, float32 output, not rounded."""
    module = load_leaf("basicsr", ["basicsr.utils.matlab_functions"])
    return None if module is None else module.imresize


def pyiqa_psnr_ssim() -> tuple[type, type] | None:
    """pyiqa's ``PSNR`` and ``SSIM`` metric modules (``pyiqa.archs.psnr_arch``, ``ssim_arch``)."""
    loaded = load_leaves(
        "pyiqa",
        [
            "pyiqa.utils.registry",
            "pyiqa.utils.color_util",
            "pyiqa.matlab_utils",
            "pyiqa.archs.func_util",
            "pyiqa.archs.psnr_arch",
            "pyiqa.archs.ssim_arch",
        ],
    )
    if loaded is None:
        return None
    return loaded["pyiqa.archs.psnr_arch"].PSNR, loaded["pyiqa.archs.ssim_arch"].SSIM
