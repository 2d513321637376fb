"""EDSR and MDSR (Lim et al., "Enhanced Deep Residual Networks for Single Image Super-Resolution",
CVPRW 2017).

Module and parameter names follow the authors' EDSR-PyTorch code, so their released checkpoints
(``edsr_baseline_x4-6b446fab.pt``, ``edsr_x4-4f62e9ef.pt``, ``mdsr_baseline-a00cab12.pt``,
``mdsr-4a78bedf.pt``, ...) load with ``load_state_dict(..., strict=True)``.

Configurations of the paper (Table 1):

* EDSR-baseline: ``EDSR(scale)`` (16 residual blocks, 64 features, no residual scaling).
* EDSR: ``EDSR(scale, n_resblocks=32, n_feats=256, res_scale=0.1)``.
* MDSR-baseline: ``MDSR()`` (16 blocks, 64 features); MDSR: ``MDSR(n_resblocks=80)``.

Every family generator takes images in [0, 1] and returns them on the same scale
(unclamped). The official weights were trained on [0, 255] inputs, so these networks rescale by
``rgb_range`` internally.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from srbench.methods.layers import check_scale, conv

__all__ = ["DIV2K_RGB_MEAN", "EDSR", "MDSR", "SCALES", "MeanShift", "ResBlock", "make_upsampler"]

DIV2K_RGB_MEAN: tuple[float, float, float] = (0.4488, 0.4371, 0.4040)
"""Mean RGB of the DIV2K training images on the [0, 1] scale, as used by the official code."""

SCALES: tuple[int, ...] = (2, 3, 4)
"""Upscaling factors EDSR and MDSR support (those the paper trains and releases)."""


def _check_width(n_resblocks: int, n_feats: int, owner: str) -> None:
    if n_resblocks < 0 or n_feats < 1:
        raise ValueError(
            f"{owner}: need n_resblocks >= 0 and n_feats >= 1, "
            f"got n_resblocks={n_resblocks!r}, n_feats={n_feats!r}"
        )


def _check_rgb_range(rgb_range: float, owner: str) -> float:
    if not rgb_range > 0:
        raise ValueError(f"{owner}: rgb_range must be positive, got {rgb_range!r}")
    return float(rgb_range)


class MeanShift(nn.Module):
    """Frozen 1x1 convolution that adds ``sign * rgb_range * mean`` to each RGB channel.

    The official code uses a ``Conv2d`` whose parameters have ``requires_grad=False``. Here
    ``weight`` (identity, 3x3x1x1) and ``bias`` are buffers instead: they keep the official
    state-dict keys and follow ``.to(device)``, yet never reach an optimizer built from
    ``model.parameters()``.

    Args:
        rgb_range: Pixel scale the network works on (255 for the official weights).
        sign: -1 subtracts the mean, +1 adds it back.
        mean: Per-channel mean on the [0, 1] scale.
    """

    weight: torch.Tensor
    bias: torch.Tensor

    def __init__(self, rgb_range: float, sign: int, mean: Sequence[float] = DIV2K_RGB_MEAN) -> None:
        super().__init__()
        self.register_buffer("weight", torch.eye(3).view(3, 3, 1, 1))
        self.register_buffer("bias", sign * rgb_range * torch.tensor(mean, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Shift ``x`` (N, 3, H, W); a convolution so loaded checkpoint values are honoured."""
        return F.conv2d(x, self.weight, self.bias)


class ResBlock(nn.Module):
    """EDSR residual block: conv-ReLU-conv without batch norm, scaled, plus identity.

    Args:
        n_feats: Channels in and out.
        kernel_size: Convolution size (3 in the trunk, 5 in MDSR's scale-specific pre-processing).
        res_scale: Factor on the residual branch; 0.1 stabilises the wide EDSR (paper, Sec. 3.2).
    """

    def __init__(self, n_feats: int, kernel_size: int = 3, res_scale: float = 1.0) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv(n_feats, n_feats, kernel_size),
            nn.ReLU(inplace=True),
            conv(n_feats, n_feats, kernel_size),
        )
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x + res_scale * body(x)``."""
        return x + self.res_scale * self.body(x)


def make_upsampler(scale: int, n_feats: int) -> nn.Sequential:
    """Sub-pixel upsampler without activation: per x2 step conv(F -> 4F) + PixelShuffle(2).

    Scale 3 uses a single conv(F -> 9F) + PixelShuffle(3).

    Args:
        scale: 3 or a power of two.
        n_feats: Feature channels in and out.

    Returns:
        The layers in the official order (convolutions at even indices).

    Raises:
        ValueError: If ``scale`` is neither 3 nor a power of two >= 2.
    """
    if scale == 3:
        return nn.Sequential(conv(n_feats, 9 * n_feats), nn.PixelShuffle(3))
    if scale < 2 or scale & (scale - 1):
        raise ValueError(f"upsampler: scale {scale!r} must be 3 or a power of two >= 2")
    layers: list[nn.Module] = []
    for _ in range(int(math.log2(scale))):
        layers += [conv(n_feats, 4 * n_feats), nn.PixelShuffle(2)]
    return nn.Sequential(*layers)


def _trunk(n_resblocks: int, n_feats: int, res_scale: float) -> nn.Sequential:
    """Residual blocks then one conv; the caller adds the global skip around it."""
    blocks = [ResBlock(n_feats, 3, res_scale) for _ in range(n_resblocks)]
    return nn.Sequential(*blocks, conv(n_feats, n_feats))


class EDSR(nn.Module):
    """Single-scale EDSR.

    Args:
        scale: Upscaling factor, one of 2, 3, 4.
        n_resblocks: Residual blocks in the trunk (16 baseline, 32 paper).
        n_feats: Feature channels (64 baseline, 256 paper).
        res_scale: Residual scaling inside each block (1.0 baseline, 0.1 paper).
        rgb_range: Internal pixel scale; 255 matches the official checkpoints.

    Raises:
        ValueError: If ``scale`` is unsupported or a size is not positive.

    Example:
        >>> net = EDSR(scale=2, n_resblocks=1, n_feats=8)
        >>> tuple(net(torch.rand(1, 3, 5, 7)).shape)
        (1, 3, 10, 14)
    """

    def __init__(
        self,
        scale: int,
        n_resblocks: int = 16,
        n_feats: int = 64,
        res_scale: float = 1.0,
        rgb_range: float = 255.0,
    ) -> None:
        super().__init__()
        self.scale = check_scale(scale, "EDSR", SCALES)
        _check_width(n_resblocks, n_feats, "EDSR")
        self.rgb_range = _check_rgb_range(rgb_range, "EDSR")
        self.sub_mean = MeanShift(self.rgb_range, sign=-1)
        self.add_mean = MeanShift(self.rgb_range, sign=1)
        self.head = nn.Sequential(conv(3, n_feats))
        self.body = _trunk(n_resblocks, n_feats, res_scale)
        self.tail = nn.Sequential(make_upsampler(self.scale, n_feats), conv(n_feats, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upscale ``x`` (N, 3, H, W) in [0, 1] to (N, 3, H*scale, W*scale), [0, 1] scale."""
        feats = self.head(self.sub_mean(x * self.rgb_range))
        out = self.tail(self.body(feats) + feats)
        return self.add_mean(out) / self.rgb_range


def _check_scales(scales: Sequence[int]) -> tuple[int, ...]:
    chosen = tuple(check_scale(s, "MDSR", SCALES) for s in scales)
    if not chosen or len(set(chosen)) != len(chosen):
        raise ValueError(f"MDSR: scales must be distinct and non-empty, got {tuple(scales)!r}")
    return chosen


class MDSR(nn.Module):
    """Multi-scale MDSR: per-scale pre-processing and upsampler around one shared trunk.

    Args:
        scales: Upscaling factors, each one of 2, 3, 4; the order sets the branch index, so keep
            the default ``(2, 3, 4)`` to load the official checkpoints.
        n_resblocks: Residual blocks in the shared trunk (16 baseline, 80 paper).
        n_feats: Feature channels (64 in both published models).
        rgb_range: Internal pixel scale; 255 matches the official checkpoints.

    Raises:
        ValueError: If a scale is unsupported or repeated, or a size is not positive.

    Example:
        >>> net = MDSR(scales=(2, 3), n_resblocks=1, n_feats=8)
        >>> tuple(net(torch.rand(1, 3, 4, 4), scale=3).shape)
        (1, 3, 12, 12)
    """

    def __init__(
        self,
        scales: Sequence[int] = SCALES,
        n_resblocks: int = 16,
        n_feats: int = 64,
        rgb_range: float = 255.0,
    ) -> None:
        super().__init__()
        self.scales = _check_scales(scales)
        _check_width(n_resblocks, n_feats, "MDSR")
        self.rgb_range = _check_rgb_range(rgb_range, "MDSR")
        self.sub_mean = MeanShift(self.rgb_range, sign=-1)
        self.head = nn.Sequential(conv(3, n_feats))
        self.pre_process = nn.ModuleList(
            nn.Sequential(ResBlock(n_feats, 5), ResBlock(n_feats, 5)) for _ in self.scales
        )
        self.body = _trunk(n_resblocks, n_feats, 1.0)
        self.upsample = nn.ModuleList(make_upsampler(s, n_feats) for s in self.scales)
        self.tail = nn.Sequential(conv(n_feats, 3))
        self.add_mean = MeanShift(self.rgb_range, sign=1)

    def branch(self, scale: int) -> int:
        """Index of the pre-processing and upsampling modules for ``scale``.

        Raises:
            ValueError: If this model was not built for ``scale``.
        """
        if scale not in self.scales:
            supported = ", ".join(map(str, self.scales))
            raise ValueError(
                f"MDSR: scale {scale!r} is not supported; supported scales: {supported}"
            )
        return self.scales.index(scale)

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        """Upscale ``x`` (N, 3, H, W) in [0, 1] by ``scale``; output on the [0, 1] scale."""
        idx = self.branch(scale)
        feats = self.pre_process[idx](self.head(self.sub_mean(x * self.rgb_range)))
        out = self.tail(self.upsample[idx](self.body(feats) + feats))
        return self.add_mean(out) / self.rgb_range
