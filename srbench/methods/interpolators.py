"""Interpolation baselines, all through the MATLAB-exact :func:`srbench.resize.imresize`."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from srbench.methods.base import MethodCard, SRMethod
from srbench.methods.papers import PaperScore, paper_table
from srbench.resize import imresize

__all__ = ["INTERPOLATORS", "Interpolator"]


class Interpolator(SRMethod):
    """Upscaling by MATLAB ``imresize(lr, scale, kernel)`` on uint8 (rounded after each pass)."""

    kernel: ClassVar[str]
    uint8_imresize = True  # the papers' baseline is imresize on uint8, rounding included
    thread_safe = True  # imresize keeps no state but its cached weights; numpy/SciPy drop the GIL

    def upscale(self, lr: np.ndarray, scale: int) -> np.ndarray:
        """Upscale a ``uint8`` image by ``scale``; output size is ``scale`` times the input."""
        return imresize(lr, scale, method=self.kernel)


#: The bicubic baseline as EDSR's Table 3 prints it (BI, Y channel, shave = scale; docs/protocol.md
#: 5.1 reproduces it). VDSR and RCAN print the same Set5/Set14/B100 values; the table has no
#: Manga109 column, so none is cited.
BICUBIC_PUBLISHED = paper_table(
    "Lim et al. 2017 (EDSR), Table 3",
    {
        ("Set5", 2): (33.66, 0.9299),
        ("Set5", 3): (30.39, 0.8682),
        ("Set5", 4): (28.42, 0.8104),
        ("Set14", 2): (30.24, 0.8688),
        ("Set14", 3): (27.55, 0.7742),
        ("Set14", 4): (26.00, 0.7027),
        ("BSD100", 2): (29.56, 0.8431),
        ("BSD100", 3): (27.21, 0.7385),
        ("BSD100", 4): (25.96, 0.6675),
        ("Urban100", 2): (26.88, 0.8403),
        ("Urban100", 3): (24.46, 0.7349),
        ("Urban100", 4): (23.14, 0.6577),
    },
)


def _interpolator(
    name: str, kernel: str, summary: str, published: tuple[PaperScore, ...] = ()
) -> type[Interpolator]:
    card = MethodCard(
        name, summary, params=0, paper="MATLAB imresize", uses_device=False, published=published
    )
    return type(name.capitalize(), (Interpolator,), {"card": card, "kernel": kernel})


INTERPOLATORS: dict[str, type[Interpolator]] = {
    cls.card.name: cls
    for cls in (
        _interpolator("nearest", "nearest", "Nearest neighbour."),
        _interpolator("bilinear", "bilinear", "MATLAB bilinear."),
        _interpolator(
            "bicubic",
            "bicubic",
            "MATLAB bicubic (a = -0.5), the papers' baseline.",
            BICUBIC_PUBLISHED,
        ),
        _interpolator("lanczos", "lanczos3", "MATLAB Lanczos-3."),
    )
}
