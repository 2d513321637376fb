"""Super-resolution networks: EDSR, MDSR, SRResNet and the SRGAN discriminator.

Importing this package imports torch; the weight-free parts of srbench never import it.

Every generator takes float images in [0, 1], shape (N, 3, H, W), and returns (N, 3, H*s, W*s)
on the same [0, 1] scale, unclamped. Single-scale generators (:class:`EDSR`, :class:`SRResNet`)
expose ``scale`` and ``forward(x)``; :class:`MDSR` exposes ``scales`` and ``forward(x, scale)``.
"""

from __future__ import annotations

from torch import nn

from srbench.nets.edsr import DIV2K_RGB_MEAN, EDSR, MDSR
from srbench.nets.srresnet import Discriminator, SRResNet

__all__ = ["DIV2K_RGB_MEAN", "EDSR", "MDSR", "Discriminator", "SRResNet", "count_parameters"]


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters (``requires_grad``), each shared tensor counted once.

    Example:
        >>> count_parameters(nn.Linear(3, 2))
        8
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
