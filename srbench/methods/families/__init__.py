"""The method families: one folder per family, each holding everything about it.

Two kinds: trained families (below), and public checkpoint families (``rcan``, ``swinir``...),
whose folder is only an ``__init__.py`` declaring the authors' files and a
:class:`~srbench.methods.zoo.ZooMethod` subclass (the networks come from spandrel).

A family folder (``srbench/methods/families/<family>/``) has:

* ``__init__.py``: its methods, as :class:`~srbench.methods.trained.TrainedMethod` subclasses
  registered with :func:`~srbench.methods.plugins.register_method`, each with its
  :class:`~srbench.methods.trained.Architecture` (network, paper configuration, scales, paper,
  the authors' weights, discriminator); and the authors' weight files (URL, hash) declared with
  :func:`srbench.weights.files.declare`. It must not import torch.
* ``net.py``: the networks (torch).
* ``configs/<method>/x<scale>.yaml``: the training configs (package data).
* optionally a key-layout converter for published weights (``esrgan/layouts.py``).

Every sub-package here is a family: :func:`load_families` imports them all, which registers their
methods and weights. Adding a family means adding a folder; then run
``python -m srbench.methods.families`` to record its networks' parameter counts.
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings
from typing import Any

__all__ = ["family_names", "load_families"]


def family_names() -> list[str]:
    """The families shipped with srbench, by folder name."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg)


def load_families() -> None:
    """Import every family (each registers its methods and declares its weights once)."""
    for name in family_names():
        importlib.import_module(f"{__name__}.{name}")


# The networks' old home was ``srbench.nets`` (until 0.2); its names resolve here for a release.
_OLD_NETS = {
    "EDSR": "edsr",
    "MDSR": "edsr",
    "DIV2K_RGB_MEAN": "edsr",
    "SRResNet": "srgan",
    "Discriminator": "srgan",
    "RRDBNet": "esrgan",
    "ESRGANDiscriminator": "esrgan",
    "SRUGAN": "srugan",
    "SRUGANDiscriminator": "srugan",
    "SRCNN": "srcnn",
    "UNet": "unet",
    "ConvAutoEncoder": "autoencoder",
}


def __getattr__(name: str) -> Any:
    if name in ("BicubicUpsample", "count_parameters"):
        module = "srbench.methods.layers"
    elif name in _OLD_NETS:
        module = f"{__name__}.{_OLD_NETS[name]}.net"
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(f"srbench.nets.{name} moved to {module}.{name}", DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(module), name)
