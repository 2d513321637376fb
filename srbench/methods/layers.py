"""Building blocks the trained families' networks share: 'same' convolutions, argument checks,
size padding, and MATLAB-exact bicubic upscaling as a torch module.

Importing this module imports torch; only the families' ``net.py`` modules import it.

:class:`BicubicUpsample`: pre-upsampling networks (SRCNN, U-Net, the auto-encoder) refine the
bicubic image that the benchmark's own MATLAB ``imresize`` would produce, so they compute it with
the same taps, as two small dense matrix products per image instead of a separable convolution:
the products reproduce MATLAB's clamped edges without any padding logic and cost little at
super-resolution sizes.

The pre-upsampling networks share choices their papers leave open or that the benchmark forces:
every convolution uses 'same' zero padding and has a bias (the benchmark scores the output pixel
for pixel against the HR image, so it must keep the bicubic image's size and alignment); no batch
norm (as EDSR and ESRGAN argue); [0, 1] input and output scale, unclamped; PyTorch's default
initialisation. Those that downsample (U-Net, the auto-encoder) replicate-pad the bicubic image
on the bottom and right to a multiple of their total downsampling (:func:`pad_to_multiple`) and
crop the result back, so any input size works.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from srbench.resize import interpolation_matrix

__all__ = [
    "BicubicUpsample",
    "check_positive",
    "check_scale",
    "conv",
    "count_parameters",
    "pad_to_multiple",
]


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


def check_positive(owner: str, **sizes: int) -> None:
    """A ``ValueError`` naming every size below 1 (``n_feats=0``)."""
    bad = {name: value for name, value in sizes.items() if value < 1}
    if bad:
        got = ", ".join(f"{name}={value!r}" for name, value in bad.items())
        raise ValueError(f"{owner}: need {', '.join(bad)} >= 1, got {got}")


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters (``requires_grad``), each shared tensor counted once.

    Example:
        >>> count_parameters(nn.Linear(3, 2))
        8
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Replicate-pad bottom and right so both sides divide by ``multiple`` (crop back after)."""
    height, width = x.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h == 0 and pad_w == 0:
        return x
    return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")


@lru_cache(maxsize=128)
def _matrices(height: int, width: int, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Float64 (H*s, H) row matrix and transposed (W, W*s) column matrix for one input size."""
    rows = interpolation_matrix(height, height * scale, scale)
    cols = interpolation_matrix(width, width * scale, scale)
    # Read-only, as they are shared by every caller of the cache.
    rows.flags.writeable = False
    cols = np.ascontiguousarray(cols.T)
    cols.flags.writeable = False
    return rows, cols


class BicubicUpsample(nn.Module):
    """Upscale by an integer factor exactly as MATLAB's ``imresize(img, scale)`` (bicubic).

    Equals :func:`srbench.resize.imresize` on float input, computed in the input's dtype. It
    has no parameters and no state-dict entries: the interpolation matrices are built per input
    size in float64, cached, and cast to the input's dtype and device on each call. Gradients
    flow through it to the input.

    Args:
        scale: Upscaling factor, an integer >= 1.

    Raises:
        ValueError: If ``scale`` is not an integer >= 1.

    Example:
        >>> up = BicubicUpsample(2)
        >>> tuple(up(torch.rand(1, 3, 5, 7)).shape)
        (1, 3, 10, 14)
    """

    def __init__(self, scale: int) -> None:
        super().__init__()
        if isinstance(scale, bool) or int(scale) != scale or scale < 1:
            raise ValueError(f"BicubicUpsample: scale must be an integer >= 1, got {scale!r}")
        self.scale = int(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upscale floating-point ``x`` (N, C, H, W) to (N, C, H*scale, W*scale).

        Raises:
            ValueError: If ``x`` is not a floating-point 4-D tensor.
        """
        if x.ndim != 4 or not x.is_floating_point():
            raise ValueError(
                f"BicubicUpsample: expected a floating-point (N, C, H, W) tensor, "
                f"got {tuple(x.shape)} {x.dtype}"
            )
        rows, cols = _matrices(x.shape[-2], x.shape[-1], self.scale)
        rows_t = torch.tensor(rows, dtype=x.dtype, device=x.device)
        cols_t = torch.tensor(cols, dtype=x.dtype, device=x.device)
        # (Hs, H) @ (N, C, H, W) @ (W, Ws): matmul broadcasts over N and C.
        return rows_t @ x @ cols_t

    def extra_repr(self) -> str:
        return f"scale={self.scale}"
