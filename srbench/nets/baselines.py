"""Seed baselines: pre-upsampling networks that refine the bicubic image.

All three first upscale the LR input with MATLAB-exact bicubic interpolation
(:class:`~srbench.nets.upsample.BicubicUpsample`), then process it at the HR size, as SRCNN
introduced ("upscale with bicubic, then refine"):

* :class:`SRCNN`: Dong et al., "Learning a Deep Convolutional Network for Image
  Super-Resolution", ECCV 2014, and "Image Super-Resolution Using Deep Convolutional Networks",
  TPAMI 2016 (the 9-1-5 network, RGB variant of Sec. 4.4). It outputs the convolution result
  directly, as the paper does.
* :class:`UNet`: Ronneberger et al., "U-Net: Convolutional Networks for Biomedical Image
  Segmentation", MICCAI 2015, predicting a residual added to the bicubic image.
* :class:`ConvAutoEncoder`: an encoder-decoder without skip connections between the two halves
  (what distinguishes it from the U-Net), also predicting a residual.

Choices the papers leave open or that the benchmark forces, made here:

* Every convolution uses 'same' zero padding and has a bias. The papers use valid convolutions,
  which shrink the output; the benchmark scores the output pixel for pixel against the HR image,
  so it must keep the bicubic image's size and alignment.
* U-Net and the auto-encoder replicate-pad the bicubic image on the bottom and right to a
  multiple of their total downsampling and crop the result back, so any input size works.
* No batch norm, following EDSR (Lim et al. 2017) and ESRGAN (Wang et al. 2018): it normalises
  away the range flexibility of the features that SR needs, costs memory and causes artefacts
  when test statistics differ from training ones. (The original U-Net has none either.)
* Like every generator in :mod:`srbench.nets` these take [0, 1] input and return the [0, 1]
  scale, unclamped; weights keep PyTorch's default initialisation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from srbench.nets.common import check_scale, conv, pad_to_multiple
from srbench.nets.upsample import BicubicUpsample

__all__ = ["SCALES", "SRCNN", "ConvAutoEncoder", "UNet"]

SCALES: tuple[int, ...] = (2, 3, 4)
"""Upscaling factors the baselines support (those of the standard benchmarks)."""


def _check_positive(owner: str, **sizes: int) -> None:
    bad = {name: value for name, value in sizes.items() if value < 1}
    if bad:
        got = ", ".join(f"{name}={value!r}" for name, value in bad.items())
        raise ValueError(f"{owner}: need {', '.join(bad)} >= 1, got {got}")


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
        _check_positive("SRCNN", n1=n1, n2=n2)
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
        _check_positive("UNet", n_feats=n_feats, depth=depth)
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
        _check_positive("ConvAutoEncoder", n_feats=n_feats, depth=depth)
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
