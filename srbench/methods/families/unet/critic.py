"""The critic of ``unet_gan``: a small fully convolutional patch critic (as in pix2pix's
PatchGAN, Isola et al., CVPR 2017, and DeOldify's NoGAN critic) with spectral normalisation
(Miyato et al., ICLR 2018) and no batch norm, so that real and generated batches, judged
separately, are not each normalised to look alike.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from srbench.methods.layers import check_positive, conv

__all__ = ["PatchCritic"]

_LEAK = 0.2
_MAX_MULT = 8  # channels stop doubling at 8 x n_feats


class PatchCritic(nn.Module):
    """Scores every overlapping patch of an RGB image: logits (N, 1, H / 2**n_down,
    W / 2**n_down), high = real.

    Args:
        patch_size: Side of the HR training patches; a positive multiple of ``2**n_down``.
        n_feats: Channels of the first convolution; each stride-2 level doubles them (up to 8x).
        n_down: Stride-2 levels (each field of view grows with them).

    Raises:
        ValueError: ``patch_size`` is not a positive multiple of ``2**n_down``, or ``n_feats``
            or ``n_down`` < 1.

    Example:
        >>> critic = PatchCritic(patch_size=16, n_feats=4, n_down=2)
        >>> tuple(critic(torch.rand(2, 3, 16, 16)).shape)
        (2, 1, 4, 4)
    """

    def __init__(self, patch_size: int = 96, n_feats: int = 64, n_down: int = 3) -> None:
        super().__init__()
        check_positive("PatchCritic", n_feats=n_feats, n_down=n_down)
        step = 2**n_down
        if patch_size <= 0 or patch_size % step:
            raise ValueError(
                f"PatchCritic: patch_size must be a positive multiple of 2**n_down = {step}, "
                f"got {patch_size!r}"
            )
        self.patch_size = int(patch_size)
        layers: list[nn.Module] = [spectral_norm(conv(3, n_feats)), nn.LeakyReLU(_LEAK)]
        channels = n_feats
        for level in range(1, n_down + 1):
            out = n_feats * min(2**level, _MAX_MULT)
            layers += [spectral_norm(conv(channels, out, 3, 2)), nn.LeakyReLU(_LEAK)]
            channels = out
        layers.append(spectral_norm(conv(channels, 1)))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of ``x`` (N, 3, H, W), H and W multiples of ``2**n_down``."""
        return self.body(x)
