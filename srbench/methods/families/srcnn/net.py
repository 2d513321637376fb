"""SRCNN (Dong et al., "Learning a Deep Convolutional Network for Image Super-Resolution", ECCV
2014; "Image Super-Resolution Using Deep Convolutional Networks", TPAMI 2016): the 9-1-5 network
on the MATLAB-bicubic-upscaled image (RGB variant of Sec. 4.4), output taken directly.

The choices shared by the pre-upsampling networks ('same' padding, no batch norm, [0, 1]
scale) are in :mod:`srbench.methods.layers`.
"""

from __future__ import annotations

import torch
from torch import nn

from srbench.methods.layers import BicubicUpsample, check_positive, check_scale, conv

__all__ = ["SCALES", "SRCNN"]

SCALES: tuple[int, ...] = (2, 3, 4)
"""Upscaling factors this pre-upsampling network supports (the standard benchmarks')."""


class SRCNN(nn.Module):
    """SRCNN: bicubic upscaling, then conv f1 - ReLU - conv f2 - ReLU - conv f3.

    The default is the paper's 9-1-5 network with n1 = 64, n2 = 32 on RGB (Sec. 4.4): 20,099
    parameters. With ``channels=1`` (the paper's Y-channel network) it has 8,129: the 8,032
    weights the paper counts plus 97 biases.

    Args:
        scale: Upscaling factor, one of 2, 3, 4.
        channels: Image channels in and out: 3 (RGB, what the benchmark's method plug-in uses)
            or 1 (a single channel, e.g. luminance); ``forward`` expects that many.
        n1: Filters of the first (patch extraction) layer.
        n2: Filters of the second (non-linear mapping) layer.
        f1: Kernel size of the first layer, odd.
        f2: Kernel size of the second layer, odd.
        f3: Kernel size of the last (reconstruction) layer, odd.

    Raises:
        ValueError: If ``scale`` or ``channels`` is unsupported, a width is not positive or a
            kernel size is not a positive odd number.

    Example:
        >>> net = SRCNN(scale=3, n1=8, n2=4)
        >>> tuple(net(torch.rand(2, 3, 5, 4)).shape)
        (2, 3, 15, 12)
    """

    def __init__(
        self,
        scale: int,
        channels: int = 3,
        n1: int = 64,
        n2: int = 32,
        f1: int = 9,
        f2: int = 1,
        f3: int = 5,
    ) -> None:
        super().__init__()
        self.scale = check_scale(scale, "SRCNN", SCALES)
        if channels not in (1, 3):
            raise ValueError(f"SRCNN: channels must be 1 or 3, got {channels!r}")
        check_positive("SRCNN", n1=n1, n2=n2)
        kernels = {"f1": f1, "f2": f2, "f3": f3}
        if any(k < 1 or k % 2 == 0 for k in kernels.values()):
            raise ValueError(
                f"SRCNN: kernel sizes must be positive and odd (for 'same' padding), got {kernels}"
            )
        self.channels = int(channels)
        self.upsample = BicubicUpsample(self.scale)
        self.body = nn.Sequential(
            conv(channels, n1, f1),
            nn.ReLU(inplace=True),
            conv(n1, n2, f2),
            nn.ReLU(inplace=True),
            conv(n2, channels, f3),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upscale ``x`` (N, channels, H, W) in [0, 1] to (N, channels, H*scale, W*scale)."""
        return self.body(self.upsample(x))
