"""Interpolation baselines, all through the MATLAB-exact :func:`srbench.resize.imresize`."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from srbench.methods.base import MethodCard, SRMethod
from srbench.resize import imresize

__all__ = ["INTERPOLATORS", "Interpolator"]


class Interpolator(SRMethod):
    """Upscaling by MATLAB ``imresize(lr, scale, kernel)`` on uint8 (rounded after each pass)."""

    kernel: ClassVar[str]
    uint8_imresize = True  # the papers' baseline is imresize on uint8, rounding included

    def upscale(self, lr: np.ndarray, scale: int) -> np.ndarray:
        """Upscale a ``uint8`` image by ``scale``; output size is ``scale`` times the input."""
        return imresize(lr, scale, method=self.kernel)


def _interpolator(name: str, kernel: str, summary: str) -> type[Interpolator]:
    card = MethodCard(name, summary, params=0, paper="MATLAB imresize", uses_device=False)
    return type(name.capitalize(), (Interpolator,), {"card": card, "kernel": kernel})


INTERPOLATORS: dict[str, type[Interpolator]] = {
    cls.card.name: cls
    for cls in (
        _interpolator("nearest", "nearest", "Nearest neighbour."),
        _interpolator("bilinear", "bilinear", "MATLAB bilinear."),
        _interpolator("bicubic", "bicubic", "MATLAB bicubic (a = -0.5), the papers' baseline."),
        _interpolator("lanczos", "lanczos3", "MATLAB Lanczos-3."),
    )
}
