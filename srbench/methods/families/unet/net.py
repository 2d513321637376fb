"""U-Net (Ronneberger et al., "U-Net: Convolutional Networks for Biomedical Image Segmentation",
MICCAI 2015) on the MATLAB-bicubic-upscaled image, predicting a residual added to it.

The choices shared by the pre-upsampling networks ('same' padding, no batch norm, [0, 1]
scale) are in :mod:`srbench.methods.layers`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from srbench.methods.layers import (
    BicubicUpsample,
    check_positive,
    check_scale,
    conv,
    pad_to_multiple,
)

__all__ = ["SCALES", "UNet"]

SCALES: tuple[int, ...] = (2, 3, 4)
"""Upscaling factors this pre-upsampling network supports (the standard benchmarks')."""


def _double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    """U-Net's level: two 3x3 conv + ReLU."""
    return nn.Sequential(
        conv(in_channels, out_channels),
        nn.ReLU(inplace=True),
        conv(out_channels, out_channels),
        nn.ReLU(inplace=True),
    )


class _UNetUp(nn.Module):
    """2x2 transposed conv halving the channels, concat the skip, double conv."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        out_channels = in_channels // 2
        self.up = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)
        self.conv = _double_conv(2 * out_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class UNet(nn.Module):
    """U-Net on the bicubic image, predicting a residual added to it.

    Level ``l`` (0 to ``depth``) works at ``n_feats * 2**l`` channels and 1/2**l of the HR size:
    two 3x3 conv + ReLU, then 2x2 max pooling down to the next level. The decoder goes back up
    with 2x2 transposed convolutions that halve the channels, concatenates the encoder's
    feature map of the same level and applies two 3x3 conv + ReLU; a 1x1 conv maps to RGB.
    The defaults are the paper's widths (64 to 1024 channels, four poolings).

    Args:
        scale: Upscaling factor, one of 2, 3, 4.
        n_feats: Channels of the first level (64 in the paper).
        depth: Number of poolings (4 in the paper).

    Raises:
        ValueError: If ``scale`` is unsupported or a size is not positive.

    Example:
        >>> net = UNet(scale=2, n_feats=4, depth=2)
        >>> tuple(net(torch.rand(1, 3, 5, 7)).shape)
        (1, 3, 10, 14)
    """

    def __init__(self, scale: int, n_feats: int = 64, depth: int = 4) -> None:
        super().__init__()
        self.scale = check_scale(scale, "UNet", SCALES)
        check_positive("UNet", n_feats=n_feats, depth=depth)
        self.depth = int(depth)
        widths = [n_feats * 2**level for level in range(depth + 1)]
        self.upsample = BicubicUpsample(self.scale)
        self.down = nn.ModuleList(
            _double_conv(c_in, c_out) for c_in, c_out in zip([3, *widths[:-1]], widths, strict=True)
        )
        self.up = nn.ModuleList(_UNetUp(c) for c in reversed(widths[1:]))
        self.tail = conv(n_feats, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upscale ``x`` (N, 3, H, W) in [0, 1] to (N, 3, H*scale, W*scale), [0, 1] scale."""
        base = self.upsample(x)
        feats = pad_to_multiple(base, 2**self.depth)
        skips = []
        for level, block in enumerate(self.down):
            if level > 0:
                feats = F.max_pool2d(feats, 2)
            feats = block(feats)
            skips.append(feats)
        skips.pop()  # the bottom level feeds the decoder directly
        for up in self.up:
            feats = up(feats, skips.pop())
        height, width = base.shape[-2:]
        return base + self.tail(feats)[..., :height, :width]
