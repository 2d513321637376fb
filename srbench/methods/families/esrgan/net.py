"""ESRGAN: the RRDB generator and the VGG-style discriminator (Wang et al., ECCVW 2018).

Module names follow the authors' current release (xinntao/ESRGAN, ``RRDBNet_arch.py``):
``conv_first``, ``RRDB_trunk.<i>.RDB<k>.conv<j>``, ``trunk_conv``, ``upconv<n>``, ``HRconv`` and
``conv_last``, so ``RRDB_ESRGAN_x4.pth`` and ``RRDB_PSNR_x4.pth`` load strictly as they are.
:mod:`srbench.methods.families.esrgan.layouts` maps the two other layouts those weights
circulate in to it.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from srbench.methods.layers import conv

__all__ = ["RRDB", "ESRGANDiscriminator", "RRDBNet", "ResidualDenseBlock"]

_LEAK = 0.2
SCALES = (2, 4)


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convolutions (each sees the block input and every earlier
    output), LeakyReLU 0.2 between them, scaled by ``res_scale`` onto the input; no batch norm.
    The convolutions start from Kaiming-normal weights times 0.1 (the authors' code)."""

    def __init__(self, n_feats: int = 64, growth: int = 32, res_scale: float = 0.2) -> None:
        super().__init__()
        self.res_scale = res_scale
        for j in range(1, 5):
            setattr(self, f"conv{j}", conv(n_feats + (j - 1) * growth, growth))
        self.conv5 = conv(n_feats + 4 * growth, n_feats)
        self.lrelu = nn.LeakyReLU(_LEAK, inplace=True)
        for j in range(1, 6):  # ESRGAN sec. 3.3: "smaller initialization"
            _small_init(getattr(self, f"conv{j}"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x + res_scale * dense(x)``."""
        features = [x]
        for layer in (self.conv1, self.conv2, self.conv3, self.conv4):
            features.append(self.lrelu(layer(torch.cat(features, 1))))
        return self.conv5(torch.cat(features, 1)) * self.res_scale + x


def _small_init(conv: nn.Conv2d, scale: float = 0.1) -> None:
    """Kaiming-normal weights scaled by 0.1 and zero biases: ESRGAN's smaller initialisation,
    which makes the deep residual trunk start close to the identity and train stably."""
    nn.init.kaiming_normal_(conv.weight, a=0, mode="fan_in")
    with torch.no_grad():
        conv.weight.mul_(scale)
    nn.init.zeros_(conv.bias)


class RRDB(nn.Module):
    """Residual-in-residual dense block: three :class:`ResidualDenseBlock` in a chain, with
    the same residual scaling around the chain."""

    def __init__(self, n_feats: int = 64, growth: int = 32, res_scale: float = 0.2) -> None:
        super().__init__()
        self.res_scale = res_scale
        self.RDB1 = ResidualDenseBlock(n_feats, growth, res_scale)
        self.RDB2 = ResidualDenseBlock(n_feats, growth, res_scale)
        self.RDB3 = ResidualDenseBlock(n_feats, growth, res_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x + res_scale * RDB3(RDB2(RDB1(x)))``."""
        return self.RDB3(self.RDB2(self.RDB1(x))) * self.res_scale + x


class RRDBNet(nn.Module):
    """The ESRGAN generator: RRDB trunk with a long skip, then nearest-neighbour x2 steps each
    followed by a 3x3 convolution (the paper's upsampling), ``HRconv`` and ``conv_last``.

    The paper's network is 23 RRDBs of 64 channels, growth 32, residual scaling 0.2: 16,697,987
    parameters at x4. The authors trained x4 only; x2 keeps the same body with one upsampling
    step.

    Args:
        scale: 2 or 4.
        n_blocks: Number of RRDBs (23).
        n_feats: Trunk channels (64).
        growth: Channels added by each dense convolution (32).
        res_scale: Residual scaling inside the dense blocks and RRDBs (0.2).

    Raises:
        ValueError: An unsupported scale or a non-positive size.

    Example:
        >>> net = RRDBNet(scale=2, n_blocks=1, n_feats=8, growth=4)
        >>> tuple(net(torch.rand(1, 3, 5, 7)).shape)
        (1, 3, 10, 14)
    """

    def __init__(
        self,
        scale: int = 4,
        n_blocks: int = 23,
        n_feats: int = 64,
        growth: int = 32,
        res_scale: float = 0.2,
    ) -> None:
        super().__init__()
        if scale not in SCALES:
            raise ValueError(f"RRDBNet: scale must be one of {SCALES}, got {scale!r}")
        if min(n_blocks, n_feats, growth) < 1:
            raise ValueError(
                f"RRDBNet: n_blocks, n_feats and growth must be >= 1, got "
                f"{n_blocks}, {n_feats}, {growth}"
            )
        self.scale = scale
        self.conv_first = conv(3, n_feats)
        self.RRDB_trunk = nn.Sequential(
            *(RRDB(n_feats, growth, res_scale) for _ in range(n_blocks))
        )
        self.trunk_conv = conv(n_feats, n_feats)
        self.steps = int(math.log2(scale))
        for n in range(1, self.steps + 1):
            setattr(self, f"upconv{n}", conv(n_feats, n_feats))
        self.HRconv = conv(n_feats, n_feats)
        self.conv_last = conv(n_feats, 3)
        self.lrelu = nn.LeakyReLU(_LEAK, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upscale ``x`` (N, 3, H, W) in [0, 1] to (N, 3, H*scale, W*scale), [0, 1] scale."""
        feats = self.conv_first(x)
        feats = feats + self.trunk_conv(self.RRDB_trunk(feats))
        for n in range(1, self.steps + 1):
            upsampled = F.interpolate(feats, scale_factor=2, mode="nearest")
            feats = self.lrelu(getattr(self, f"upconv{n}")(upsampled))
        return self.conv_last(self.lrelu(self.HRconv(feats)))


class ESRGANDiscriminator(nn.Module):
    """ESRGAN's discriminator (``Discriminator_VGG_128``): ten VGG-style convolutions, five of
    them 4x4 with stride 2 and all but the first batch-normalised, LeakyReLU 0.2, then dense
    layers of 100 and 1. Returns raw logits (N, 1); the relativistic loss takes them.

    Args:
        patch_size: Side of the HR patches (128 in the paper), a positive multiple of 32.
        n_feats: Channels of the first stage (64); later stages use 2x, 4x, 8x and 8x.

    Raises:
        ValueError: ``patch_size`` not a positive multiple of 32, or ``n_feats`` < 1.

    Example:
        >>> disc = ESRGANDiscriminator(patch_size=32, n_feats=4)
        >>> tuple(disc(torch.rand(2, 3, 32, 32)).shape)
        (2, 1)
    """

    def __init__(self, patch_size: int = 128, n_feats: int = 64) -> None:
        super().__init__()
        if patch_size <= 0 or patch_size % 32:
            raise ValueError(
                f"ESRGANDiscriminator: patch_size must be a positive multiple of 32, got "
                f"{patch_size!r}"
            )
        if n_feats < 1:
            raise ValueError(f"ESRGANDiscriminator: n_feats must be >= 1, got {n_feats!r}")
        self.patch_size = int(patch_size)
        channels = [n_feats * m for m in (1, 2, 4, 8, 8)]
        layers: list[nn.Module] = [conv(3, n_feats), nn.LeakyReLU(_LEAK, inplace=True)]
        previous = n_feats
        for stage, width in enumerate(channels):
            if stage:  # the 3x3 convolution opening every stage after the first
                layers += _bn_block(nn.Conv2d(previous, width, 3, 1, 1, bias=False), width)
            layers += _bn_block(nn.Conv2d(width, width, 4, 2, 1, bias=False), width)
            previous = width
        self.features = nn.Sequential(*layers)
        side = self.patch_size // 32
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels[-1] * side * side, 100),
            nn.LeakyReLU(_LEAK, inplace=True),
            nn.Linear(100, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, 1) of ``x`` (N, 3, patch_size, patch_size), high = real."""
        if tuple(x.shape[-2:]) != (self.patch_size, self.patch_size):
            raise ValueError(
                f"ESRGANDiscriminator: built for {self.patch_size}x{self.patch_size} patches, "
                f"got {tuple(x.shape[-2:])}"
            )
        return self.classifier(self.features(x))


def _bn_block(conv: nn.Conv2d, channels: int) -> list[nn.Module]:
    return [conv, nn.BatchNorm2d(channels), nn.LeakyReLU(_LEAK, inplace=True)]
