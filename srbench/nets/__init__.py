"""Super-resolution networks: EDSR, MDSR, SRResNet/SRGAN, ESRGAN's RRDB, SR-UGAN and the seed
baselines (SRCNN, U-Net, convolutional auto-encoder), with their discriminators.

Importing this package imports torch; the weight-free parts of srbench never import it.

Every generator takes float images in [0, 1], shape (N, 3, H, W), and returns (N, 3, H*s, W*s)
on the same [0, 1] scale, unclamped. Single-scale generators expose ``scale`` and
``forward(x)``; :class:`MDSR` exposes ``scales`` and ``forward(x, scale)``. Discriminators take
``patch_size`` and return logits (N, 1).
"""

from __future__ import annotations

from torch import nn

from srbench.nets.baselines import SRCNN, ConvAutoEncoder, UNet
from srbench.nets.edsr import DIV2K_RGB_MEAN, EDSR, MDSR
from srbench.nets.rrdb import ESRGANDiscriminator, RRDBNet
from srbench.nets.srresnet import Discriminator, SRResNet
from srbench.nets.srugan import SRUGAN, SRUGANDiscriminator
from srbench.nets.upsample import BicubicUpsample

__all__ = [
    "DIV2K_RGB_MEAN",
    "EDSR",
    "MDSR",
    "SRCNN",
    "SRUGAN",
    "BicubicUpsample",
    "ConvAutoEncoder",
    "Discriminator",
    "ESRGANDiscriminator",
    "RRDBNet",
    "SRResNet",
    "SRUGANDiscriminator",
    "UNet",
    "count_parameters",
]


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters (``requires_grad``), each shared tensor counted once.

    Example:
        >>> count_parameters(nn.Linear(3, 2))
        8
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
