"""SRResNet generator and SRGAN discriminator (Ledig et al., "Photo-Realistic Single Image
Super-Resolution Using a Generative Adversarial Network", CVPR 2017, Fig. 4).

Choices the paper leaves open, made here:

* Every convolution has a bias, including those followed by batch norm (there it is redundant
  but harmless).
* ``nn.PReLU()`` learns one slope shared by all channels, a separate one per PReLU layer.
* The paper scales the generator's target to [-1, 1]; that is a fixed linear rescaling of the
  output, so like every family generator this one takes [0, 1] input and returns
  the [0, 1] scale, with no final activation.
* Weights keep PyTorch's default initialisation.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from srbench.methods.layers import conv

__all__ = ["SCALES", "Discriminator", "SRResNet"]

SCALES: tuple[int, ...] = (2, 4, 8)
"""Upscaling factors SRResNet supports: powers of two, one x2 sub-pixel block each."""

_DISC_STAGES: tuple[tuple[int, int], ...] = (
    (1, 2),
    (2, 1),
    (2, 2),
    (4, 1),
    (4, 2),
    (8, 1),
    (8, 2),
)
"""(width as a multiple of ``n_feats``, stride) of the discriminator's conv-BN-LeakyReLU blocks."""

_DISC_HIDDEN = 1024
_LEAK = 0.2


class _ResidualBlock(nn.Module):
    """conv3x3-BN-PReLU-conv3x3-BN with an identity skip (k3n64s1 in Fig. 4)."""

    def __init__(self, n_feats: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv(n_feats, n_feats, 3),
            nn.BatchNorm2d(n_feats),
            nn.PReLU(),
            conv(n_feats, n_feats, 3),
            nn.BatchNorm2d(n_feats),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _upsample_block(n_feats: int) -> nn.Sequential:
    """One x2 step: conv to 4F channels, PixelShuffle(2), PReLU."""
    return nn.Sequential(conv(n_feats, 4 * n_feats, 3), nn.PixelShuffle(2), nn.PReLU())


class SRResNet(nn.Module):
    """SRResNet, the SRGAN generator.

    Args:
        scale: Upscaling factor, one of 2, 4, 8.
        n_blocks: Residual blocks (B = 16 in the paper).
        n_feats: Feature channels (64 in the paper).

    Raises:
        ValueError: If ``scale`` is unsupported or a size is not positive.

    Example:
        >>> net = SRResNet(scale=2, n_blocks=1, n_feats=8)
        >>> tuple(net(torch.rand(2, 3, 5, 6)).shape)
        (2, 3, 10, 12)
    """

    def __init__(self, scale: int = 4, n_blocks: int = 16, n_feats: int = 64) -> None:
        super().__init__()
        if scale not in SCALES:
            supported = ", ".join(map(str, SCALES))
            raise ValueError(
                f"SRResNet: scale {scale!r} is not supported; supported scales: {supported}"
            )
        if n_blocks < 0 or n_feats < 1:
            raise ValueError(
                f"SRResNet: need n_blocks >= 0 and n_feats >= 1, "
                f"got n_blocks={n_blocks!r}, n_feats={n_feats!r}"
            )
        self.scale = int(scale)
        self.head = nn.Sequential(conv(3, n_feats, 9), nn.PReLU())
        blocks = [_ResidualBlock(n_feats) for _ in range(n_blocks)]
        self.body = nn.Sequential(*blocks, conv(n_feats, n_feats, 3), nn.BatchNorm2d(n_feats))
        steps = int(math.log2(self.scale))
        self.upsample = nn.Sequential(*(_upsample_block(n_feats) for _ in range(steps)))
        self.tail = conv(n_feats, 3, 9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upscale ``x`` (N, 3, H, W) in [0, 1] to (N, 3, H*scale, W*scale), [0, 1] scale."""
        feats = self.head(x)
        return self.tail(self.upsample(self.body(feats) + feats))


def _disc_block(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        conv(in_channels, out_channels, 3, stride),
        nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(_LEAK, inplace=True),
    )


class Discriminator(nn.Module):
    """SRGAN discriminator for square ``patch_size`` x ``patch_size`` RGB patches.

    Returns raw logits of shape (N, 1): the paper's sigmoid is left to the loss
    (``BCEWithLogitsLoss``), which is the same objective computed more stably.

    Args:
        patch_size: Side of the input patches (96 in the paper); the four stride-2 blocks
            divide it by 16, so it must be a positive multiple of 16.
        n_feats: Channels of the first convolution (64); later blocks use 2x, 4x and 8x.

    Raises:
        ValueError: If ``patch_size`` is not a positive multiple of 16 or ``n_feats`` < 1.

    Example:
        >>> disc = Discriminator(patch_size=16, n_feats=4)
        >>> tuple(disc(torch.rand(2, 3, 16, 16)).shape)
        (2, 1)
    """

    def __init__(self, patch_size: int = 96, n_feats: int = 64) -> None:
        super().__init__()
        if patch_size <= 0 or patch_size % 16:
            raise ValueError(
                f"Discriminator: patch_size must be a positive multiple of 16, got {patch_size!r}"
            )
        if n_feats < 1:
            raise ValueError(f"Discriminator: n_feats must be >= 1, got {n_feats!r}")
        self.patch_size = int(patch_size)
        self.features = nn.Sequential(*self._feature_layers(n_feats))
        side = self.patch_size // 16
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(_DISC_STAGES[-1][0] * n_feats * side * side, _DISC_HIDDEN),
            nn.LeakyReLU(_LEAK, inplace=True),
            nn.Linear(_DISC_HIDDEN, 1),
        )

    @staticmethod
    def _feature_layers(n_feats: int) -> list[nn.Module]:
        # The first convolution has no batch norm (Fig. 4).
        layers: list[nn.Module] = [conv(3, n_feats, 3), nn.LeakyReLU(_LEAK, inplace=True)]
        channels = n_feats
        for mult, stride in _DISC_STAGES:
            layers.append(_disc_block(channels, mult * n_feats, stride))
            channels = mult * n_feats
        return layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Score ``x`` (N, 3, patch_size, patch_size); returns logits (N, 1), high = real.

        Raises:
            ValueError: If the spatial size differs from ``patch_size``.
        """
        height, width = x.shape[-2:]
        if (height, width) != (self.patch_size, self.patch_size):
            raise ValueError(
                f"Discriminator: built for {self.patch_size}x{self.patch_size} patches, "
                f"got {height}x{width} input"
            )
        return self.classifier(self.features(x))
