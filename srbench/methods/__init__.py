"""SR methods: the plug-in interface (``base``; ``ychannel``, the base of luma-only networks), the
registry and specs (``plugins``), running one method on one image (``inference``), the
``--isolate`` worker process (``worker``), the interpolators, precomputed outputs, the trained
families (``trained``, ``families/``), and public checkpoints through spandrel (``zoo``: families
by tag, ``model:weights=PATH``)."""

from srbench.methods.base import ImageContext, MethodCard, SRMethod, Tiling, tiled_upscale
from srbench.methods.interpolators import Interpolator
from srbench.methods.plugins import (
    ENTRY_POINT_GROUP,
    METHODS,
    create_method,
    load_entry_points,
    load_method_file,
    prepare_method,
    register_method,
)
from srbench.methods.ychannel import YChannelMethod

__all__ = [
    "ENTRY_POINT_GROUP",
    "METHODS",
    "ImageContext",
    "Interpolator",
    "MethodCard",
    "SRMethod",
    "Tiling",
    "YChannelMethod",
    "create_method",
    "load_entry_points",
    "load_method_file",
    "prepare_method",
    "register_method",
    "tiled_upscale",
]
