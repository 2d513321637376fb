"""SR-UGAN generator and discriminator (Greeley, "Image Super Resolution with Deep Learning and
Modern Methods", WSU CptS 580 course project, Sec. 4.2).

SR-UGAN extends SRGAN (:mod:`..srgan.net`) in three ways: a U-Net with attention
modules (squeeze-and-excitation and spatial attention) and pixel-shuffle upsampling processes
the low-resolution features first; the B residual blocks become B dense blocks at a higher width
followed by B dense blocks at the default width (B = 8); and the discriminator also predicts
the image's class, as in ACGAN (Odena et al. 2016).

The layer widths of the paper's Figure 2 are not in its text, so the configuration here is
ours, written to follow the text:

* Head: 9x9 conv to ``n_feats`` + PReLU, as SRGAN.
* U-Net on the LR features with a residual around it. Encoder level ``l`` has
  ``n_feats * 2**l`` channels: two 3x3 conv + PReLU and an :class:`AttentionBlock`; a stride-2
  3x3 conv + PReLU, doubling the channels, leads to the next level. Each decoder level
  upsamples with a 3x3 conv to ``4 * C``, PixelShuffle(2) and PReLU (SRGAN's upsampling block,
  ending with half the channels of the level below), concatenates the encoder's feature map,
  then two 3x3 conv + PReLU and an attention block.
* Dense trunk: 1x1 conv to ``dense_feats``, ``n_dense`` :class:`DenseBlock` s, 1x1 conv back
  to ``n_feats``, ``n_dense`` dense blocks; then a 3x3 conv and SRGAN's long skip from the head.
* SRGAN's tail: per x2, 3x3 conv to ``4 * n_feats``, PixelShuffle(2), PReLU; 9x9 conv to RGB.

Other choices:

* No batch norm in the generator, following EDSR (Lim et al. 2017) and ESRGAN (Wang et al.
  2018): it normalises away the range flexibility of the features that SR needs and causes
  artefacts when test statistics differ from training ones.
* Every convolution has a bias; ``nn.PReLU()`` learns one slope per layer, as in SRResNet.
* Like every family generator, [0, 1] input and [0, 1]-scale output, unclamped.
* Weights keep PyTorch's default initialisation.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from srbench.methods.families.srgan.net import Discriminator
from srbench.methods.layers import check_scale, conv, pad_to_multiple

__all__ = ["SCALES", "AttentionBlock", "DenseBlock", "SRUGAN", "SRUGANDiscriminator"]

SCALES: tuple[int, ...] = (2, 4)
"""Upscaling factors SR-UGAN supports: the paper's x2 and the x4 it proposes as future work."""

_SE_REDUCTION = 16
_SPATIAL_KERNEL = 7


class AttentionBlock(nn.Module):
    """Squeeze-and-excitation channel gate followed by a CBAM-style spatial gate.

    The channel gate (Hu et al. 2018) pools each channel globally, passes the vector through a
    ``C -> max(1, C // 16) -> C`` bottleneck (ReLU, sigmoid) and rescales the channels. The
    spatial gate (Woo et al. 2018) stacks the channel-wise mean and max maps, applies a 7x7
    conv and a sigmoid, and rescales every position.

    Args:
        channels: Channels in and out.

    Example:
        >>> block = AttentionBlock(32)
        >>> tuple(block(torch.rand(2, 32, 5, 6)).shape)
        (2, 32, 5, 6)
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        hidden = max(1, channels // _SE_REDUCTION)
        self.channel_gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )
        self.spatial_conv = conv(2, 1, _SPATIAL_KERNEL)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x`` (N, C, H, W) rescaled by the channel gate, then by the spatial gate."""
        x = x * self.channel_gate(x)
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial_conv(pooled))


class DenseBlock(nn.Module):
    """Dense block with local feature fusion and a local residual.

    ``layers`` 3x3 conv + PReLU, each taking the concatenation of the block's input and all
    previous layers' outputs and adding ``growth`` channels (Huang et al. 2017); a 1x1 conv
    fuses everything back to ``channels``, and the block's input is added.

    Args:
        channels: Channels in and out.
        growth: Channels each layer adds.
        layers: Number of 3x3 layers.

    Example:
        >>> block = DenseBlock(8, growth=4, layers=2)
        >>> tuple(block(torch.rand(1, 8, 5, 5)).shape)
        (1, 8, 5, 5)
    """

    def __init__(self, channels: int, growth: int, layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(conv(channels + i * growth, growth), nn.PReLU()) for i in range(layers)
        )
        self.fusion = conv(channels + layers * growth, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x + fusion(concat(x, layer outputs))`` for ``x`` (N, channels, H, W)."""
        feats = [x]
        for layer in self.layers:
            feats.append(layer(torch.cat(feats, dim=1)))
        return x + self.fusion(torch.cat(feats, dim=1))


def _level(in_channels: int, channels: int) -> nn.Sequential:
    """One U-Net level: two 3x3 conv + PReLU, then attention."""
    return nn.Sequential(
        conv(in_channels, channels),
        nn.PReLU(),
        conv(channels, channels),
        nn.PReLU(),
        AttentionBlock(channels),
    )


def _upsample_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """One x2 step: conv to 4 * out_channels, PixelShuffle(2), PReLU (SRGAN's block)."""
    return nn.Sequential(conv(in_channels, 4 * out_channels), nn.PixelShuffle(2), nn.PReLU())


class _UNet(nn.Module):
    """The generator's U-Net on LR features: ``n_feats`` channels in and out, same size."""

    def __init__(self, n_feats: int, levels: int) -> None:
        super().__init__()
        widths = [n_feats * 2**level for level in range(levels)]
        self.levels = levels
        self.encoder = nn.ModuleList(_level(c, c) for c in widths)
        self.down = nn.ModuleList(
            nn.Sequential(conv(c_in, c_out, stride=2), nn.PReLU())
            for c_in, c_out in zip(widths[:-1], widths[1:], strict=True)
        )
        self.up = nn.ModuleList(
            _upsample_block(c_in, c_out)
            for c_in, c_out in zip(widths[:0:-1], widths[-2::-1], strict=True)
        )
        self.decoder = nn.ModuleList(_level(2 * c, c) for c in widths[-2::-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        feats = pad_to_multiple(x, 2 ** (self.levels - 1))
        skips = []
        for level, block in enumerate(self.encoder):
            if level > 0:
                feats = self.down[level - 1](feats)
            feats = block(feats)
            skips.append(feats)
        skips.pop()  # the bottom level feeds the decoder directly
        for up, block in zip(self.up, self.decoder, strict=True):
            feats = block(torch.cat([skips.pop(), up(feats)], dim=1))
        return feats[..., :height, :width]


def _check_sizes(**sizes: tuple[int, int]) -> None:
    bad = {name: value for name, (value, minimum) in sizes.items() if value < minimum}
    if bad:
        need = ", ".join(f"{name} >= {sizes[name][1]}" for name in bad)
        got = ", ".join(f"{name}={value!r}" for name, value in bad.items())
        raise ValueError(f"SRUGAN: need {need}, got {got}")


class SRUGAN(nn.Module):
    """SR-UGAN generator: SRGAN's head and tail around an attention U-Net and a dense trunk.

    Args:
        scale: Upscaling factor, 2 or 4.
        n_feats: Feature channels of the head, the U-Net's top level, the second group of dense
            blocks and the tail (64, as SRGAN).
        dense_feats: Channels of the first, wider group of dense blocks (128).
        n_dense: Dense blocks per group, B in the paper (8: 16 dense blocks in all).
        growth: Channels each dense layer adds (32).
        dense_layers: 3x3 layers per dense block (4).
        unet_levels: U-Net levels including the top one; the input is halved
            ``unet_levels - 1`` times (3).

    Raises:
        ValueError: If ``scale`` is unsupported or a size is out of range.

    Example:
        >>> net = SRUGAN(scale=2, n_feats=8, dense_feats=8, n_dense=1, growth=4, dense_layers=1)
        >>> tuple(net(torch.rand(1, 3, 5, 7)).shape)
        (1, 3, 10, 14)
    """

    def __init__(
        self,
        scale: int,
        n_feats: int = 64,
        dense_feats: int = 128,
        n_dense: int = 8,
        growth: int = 32,
        dense_layers: int = 4,
        unet_levels: int = 3,
    ) -> None:
        super().__init__()
        _check_sizes(
            n_feats=(n_feats, 1),
            dense_feats=(dense_feats, 1),
            n_dense=(n_dense, 0),
            growth=(growth, 1),
            dense_layers=(dense_layers, 1),
            unet_levels=(unet_levels, 1),
        )
        self.scale = check_scale(scale, "SRUGAN", SCALES)
        self.head = nn.Sequential(conv(3, n_feats, 9), nn.PReLU())
        self.unet = _UNet(n_feats, unet_levels)
        self.body = nn.Sequential(
            conv(n_feats, dense_feats, 1),
            *(DenseBlock(dense_feats, growth, dense_layers) for _ in range(n_dense)),
            conv(dense_feats, n_feats, 1),
            *(DenseBlock(n_feats, growth, dense_layers) for _ in range(n_dense)),
            conv(n_feats, n_feats),
        )
        steps = int(math.log2(self.scale))
        self.upsample = nn.Sequential(*(_upsample_block(n_feats, n_feats) for _ in range(steps)))
        self.tail = conv(n_feats, 3, 9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upscale ``x`` (N, 3, H, W) in [0, 1] to (N, 3, H*scale, W*scale), [0, 1] scale."""
        feats = self.head(x)
        context = feats + self.unet(feats)
        return self.tail(self.upsample(self.body(context) + feats))


def _check_n_classes(n_classes: int) -> int:
    # A single class would make the class loss identically zero.
    is_int = not isinstance(n_classes, bool) and n_classes == int(n_classes)
    if not (is_int and (n_classes == 0 or n_classes >= 2)):
        raise ValueError(
            f"SRUGANDiscriminator: n_classes must be 0 (no class head) or >= 2, got {n_classes!r}"
        )
    return int(n_classes)


class SRUGANDiscriminator(Discriminator):
    """SR-UGAN discriminator: SRGAN's discriminator with an optional ACGAN class head.

    The convolutional features and the 1024-unit hidden layer are SRGAN's
    (:class:`..srgan.net.Discriminator`); the validity logit comes from the same
    ``classifier`` as there, so with ``n_classes=0`` the state dict is exactly SRGAN's. With
    ``n_classes >= 2`` a linear class head on the hidden layer adds class logits (ACGAN: the
    discriminator learns validity and classification in parallel). Logits are raw: sigmoid and
    softmax are left to the losses.

    Args:
        patch_size: Side of the square input patches; a positive multiple of 16 (96).
        n_feats: Channels of the first convolution (64); later blocks use 2x, 4x and 8x.
        n_classes: Classes of the class head; 0 (default) builds no class head.

    Raises:
        ValueError: If ``patch_size`` is not a positive multiple of 16, ``n_feats`` < 1, or
            ``n_classes`` is neither 0 nor >= 2.

    Example:
        >>> disc = SRUGANDiscriminator(patch_size=16, n_feats=4, n_classes=5)
        >>> validity, classes = disc.forward_with_classes(torch.rand(2, 3, 16, 16))
        >>> tuple(validity.shape), tuple(classes.shape)
        ((2, 1), (2, 5))
    """

    def __init__(self, patch_size: int = 96, n_feats: int = 64, n_classes: int = 0) -> None:
        n_classes = _check_n_classes(n_classes)
        super().__init__(patch_size=patch_size, n_feats=n_feats)
        self.n_classes = n_classes
        hidden = self.classifier[-1].in_features
        self.class_head = nn.Linear(hidden, self.n_classes) if self.n_classes else None

    def _hidden(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        if (height, width) != (self.patch_size, self.patch_size):
            raise ValueError(
                f"SRUGANDiscriminator: built for {self.patch_size}x{self.patch_size} patches, "
                f"got {height}x{width} input"
            )
        # Everything of SRGAN's classifier but its last (validity) layer.
        return self.classifier[:-1](self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Validity logits (N, 1) of ``x`` (N, 3, patch_size, patch_size), high = real.

        Raises:
            ValueError: If the spatial size differs from ``patch_size``.
        """
        return self.classifier[-1](self._hidden(x))

    def forward_with_classes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Validity logits (N, 1) and class logits (N, n_classes), or None without a class head.

        Both heads read the same single pass through the features.

        Raises:
            ValueError: If the spatial size differs from ``patch_size``.
        """
        hidden = self._hidden(x)
        classes = self.class_head(hidden) if self.class_head is not None else None
        return self.classifier[-1](hidden), classes
