"""Convolutional auto-encoder on the MATLAB-bicubic-upscaled image, predicting a residual: an
encoder-decoder without skip connections between the halves (what distinguishes it from the
U-Net), the seed documents' "auto-encoder" approach.

The choices shared by the pre-upsampling networks ('same' padding, no batch norm, [0, 1]
scale) are in :mod:`srbench.methods.layers`.
"""

from __future__ import annotations

import torch
from torch import nn

from srbench.methods.layers import (
    BicubicUpsample,
    check_positive,
    check_scale,
    conv,
    pad_to_multiple,
)

__all__ = ["SCALES", "ConvAutoEncoder"]

SCALES: tuple[int, ...] = (2, 3, 4)
"""Upscaling factors this pre-upsampling network supports (the standard benchmarks')."""


class ConvAutoEncoder(nn.Module):
    """Convolutional auto-encoder on the bicubic image, predicting a residual added to it.

    Encoder level ``l`` (0 to ``depth``) has ``n_feats * 2**l`` channels: two 3x3 conv + ReLU,
    the first with stride 2 for ``l >= 1`` (the downsampling between levels). The decoder
    mirrors it: per level, nearest-neighbour x2 upsampling, then two 3x3 conv + ReLU, the first
    halving the channels; a final 3x3 conv maps to RGB. Unlike :class:`UNet` no encoder features
    reach the decoder except through the bottleneck: the only skip is the global one around
    the whole network (the bicubic image).

    Args:
        scale: Upscaling factor, one of 2, 3, 4.
        n_feats: Channels of the first level.
        depth: Number of stride-2 downsamplings (and of decoder upsamplings).

    Raises:
        ValueError: If ``scale`` is unsupported or a size is not positive.

    Example:
        >>> net = ConvAutoEncoder(scale=4, n_feats=4, depth=1)
        >>> tuple(net(torch.rand(1, 3, 5, 3)).shape)
        (1, 3, 20, 12)
    """

    def __init__(self, scale: int, n_feats: int = 64, depth: int = 2) -> None:
        super().__init__()
        self.scale = check_scale(scale, "ConvAutoEncoder", SCALES)
        check_positive("ConvAutoEncoder", n_feats=n_feats, depth=depth)
        self.depth = int(depth)
        widths = [n_feats * 2**level for level in range(depth + 1)]
        self.upsample = BicubicUpsample(self.scale)
        encoder: list[nn.Module] = [conv(3, n_feats), nn.ReLU(inplace=True)]
        encoder += [conv(n_feats, n_feats), nn.ReLU(inplace=True)]
        for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
            encoder += [conv(c_in, c_out, stride=2), nn.ReLU(inplace=True)]
            encoder += [conv(c_out, c_out), nn.ReLU(inplace=True)]
        decoder: list[nn.Module] = []
        for c_in, c_out in zip(reversed(widths[1:]), reversed(widths[:-1]), strict=True):
            decoder += [nn.Upsample(scale_factor=2, mode="nearest")]
            decoder += [conv(c_in, c_out), nn.ReLU(inplace=True)]
            decoder += [conv(c_out, c_out), nn.ReLU(inplace=True)]
        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)
        self.tail = conv(n_feats, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upscale ``x`` (N, 3, H, W) in [0, 1] to (N, 3, H*scale, W*scale), [0, 1] scale."""
        base = self.upsample(x)
        feats = self.decoder(self.encoder(pad_to_multiple(base, 2**self.depth)))
        height, width = base.shape[-2:]
        return base + self.tail(feats)[..., :height, :width]
