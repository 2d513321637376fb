"""Pieces every network module shares: 'same' convolutions, scale checks, size padding."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["check_scale", "conv", "pad_to_multiple"]


def conv(
    in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, bias: bool = True
) -> nn.Conv2d:
    """'Same' convolution (padding ``kernel_size // 2``), with bias unless told otherwise.

    Example:
        >>> tuple(conv(3, 8, 9)(torch.rand(1, 3, 5, 5)).shape)
        (1, 8, 5, 5)
    """
    return nn.Conv2d(
        in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, bias=bias
    )


def check_scale(scale: int, owner: str, supported: Sequence[int]) -> int:
    """``scale`` as an int if ``owner`` supports it, else a ``ValueError`` naming the scales."""
    if scale not in supported:
        raise ValueError(
            f"{owner}: scale {scale!r} is not supported; supported scales: "
            f"{', '.join(map(str, supported))}"
        )
    return int(scale)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Replicate-pad bottom and right so both sides divide by ``multiple`` (crop back after)."""
    height, width = x.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h == 0 and pad_w == 0:
        return x
    return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
