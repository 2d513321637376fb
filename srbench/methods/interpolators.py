"""Interpolation baselines, all through the MATLAB-exact :func:`srbench.resize.imresize`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srbench.registry import Registry
from srbench.resize import imresize

__all__ = ["METHODS", "Interpolator"]


@dataclass(frozen=True)
class Interpolator:
    """Upscaling by MATLAB ``imresize(lr, scale, kernel)`` on uint8 (rounded after each pass).

    Attributes:
        name: Method name.
        kernel: One of :data:`srbench.resize.KERNELS`.
        version: Bumped whenever the output changes.
        description: One line for listings.
    """

    name: str
    kernel: str
    version: str = "1"
    description: str = ""

    def upscale(self, lr: np.ndarray, scale: int) -> np.ndarray:
        """Upscale a ``uint8`` image by ``scale``; output size is ``scale`` times the input."""
        return imresize(lr, scale, method=self.kernel)


METHODS: Registry[Interpolator] = Registry("method")
METHODS.add("nearest", Interpolator("nearest", "nearest", description="Nearest neighbour."))
METHODS.add("bilinear", Interpolator("bilinear", "bilinear", description="MATLAB bilinear."))
METHODS.add("bicubic", Interpolator("bicubic", "bicubic", description="MATLAB bicubic (a = -0.5)."))
METHODS.add(
    "lanczos",
    Interpolator("lanczos", "lanczos3", description="MATLAB Lanczos-3."),
    aliases=("lanczos3",),
)
