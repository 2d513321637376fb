"""Template of an SR method plug-in: copy this folder, rename the class and the card's name.

Try it as is:

    srbench run --datasets sample --method-file methods/_template/method.py:UnsharpBicubic \
        --methods bicubic,unsharp_bicubic:amount=0.5
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from srbench.methods import MethodCard, SRMethod
from srbench.resize import bicubic_upscale


class UnsharpBicubic(SRMethod):
    """MATLAB bicubic followed by an unsharp mask: a weight-free example of the interface."""

    # Read by `srbench ls methods` without instantiating the class (no weights are loaded).
    card = MethodCard(
        name="unsharp_bicubic",
        summary="Bicubic + unsharp mask (template plug-in).",
        scales=None,  # any integer scale; a trained model lists its scales, e.g. (2, 3, 4)
        params=0,
        paper="",
        version="2",  # bump whenever the output for the same input changes (2: float bicubic)
        uses_device=False,  # True makes `--device auto` pick CUDA when torch sees one
    )

    # Spec options (`unsharp_bicubic:amount=0.5,sigma=1`) are the keyword arguments, typed by
    # their annotations; `device` is chosen by the runner.
    def __init__(self, device: str = "cpu", *, amount: float = 0.5, sigma: float = 1.0) -> None:
        super().__init__(device)
        self.amount, self.sigma = amount, sigma

    def upscale(self, lr: np.ndarray, scale: int) -> np.ndarray:
        """RGB uint8 (h, w, 3) in; (h*scale, w*scale, 3) out, uint8 or float on 0..255."""
        # float64 first (MATLAB's imresize(im2double(lr))): imresize on uint8 rounds after each
        # pass, which the runner reports, as it costs a network's input tenths of a dB
        up = bicubic_upscale(lr, scale)
        blurred = gaussian_filter(up, sigma=(self.sigma, self.sigma, 0))
        return up + self.amount * (up - blurred)  # the runner rounds and clamps to uint8
