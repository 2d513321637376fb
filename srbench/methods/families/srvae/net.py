"""A conditional variational auto-encoder for SR: many plausible HR images per LR image.

Three networks share the LR features (a head conv and ``encoder_blocks`` EDSR residual blocks at
LR resolution):

* the **prior** ``p(z | LR)``: two convs from the LR features to a diagonal Gaussian (mean and
  log-variance) per latent pixel;
* the **posterior** ``q(z | HR, LR)`` (training only): the HR patch and its bicubic-upscaled LR,
  folded to LR resolution by ``pixel_unshuffle`` (6 * scale**2 channels), with the LR features,
  through a conv, ``encoder_blocks`` residual blocks and a conv to the same kind of Gaussian;
* the **decoder**: the LR features and a latent ``z`` (concatenated, one conv), ``n_blocks``
  residual blocks, EDSR's sub-pixel upsampler and a conv to RGB, added to the bicubic image (the
  network predicts the residual over bicubic).

The latent is a spatial map of ``z_channels`` at the LR resolution (HR / scale): each latent
pixel describes the detail of one ``scale x scale`` HR block, so any image size works. The last
convs of the prior and the posterior start at zero: at initialisation both are N(0, I), the KL is
0 and training starts as a plain residual network whose latent the decoder learns to use. The
log-variances are soft-clamped to (-10, 10) by ``10 tanh(v / 10)`` (finite, gradients kept).

``forward(lr)`` decodes the prior mean (deterministic: validation, export, ``upscale``);
:meth:`SRVAE.sample` decodes a draw from the prior with a caller's ``torch.Generator``;
:meth:`SRVAE.posterior_forward` decodes a draw from the posterior and returns the KL term, for
training.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from srbench.methods.families.edsr.net import ResBlock, make_upsampler
from srbench.methods.layers import BicubicUpsample, check_positive, check_scale, conv

__all__ = ["SCALES", "SRVAE", "gaussian_kl"]

SCALES: tuple[int, ...] = (2, 4)
"""Upscaling factors of the SR-VAE."""

_LOGVAR_BOUND = 10.0


def gaussian_kl(
    mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor, logvar_p: torch.Tensor
) -> torch.Tensor:
    """Elementwise ``KL(N(mu_q, exp(logvar_q)) || N(mu_p, exp(logvar_p)))`` in nats.

    Example:
        >>> zero = torch.zeros(2)
        >>> gaussian_kl(zero, zero, zero, zero).tolist()
        [0.0, 0.0]
    """
    return 0.5 * (
        logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp() - 1.0
    )


class _GaussianHead(nn.Module):
    """A conv to ``2 * z_channels``: the mean and the soft-clamped log-variance. Zero-initialised,
    so it starts as N(0, I)."""

    def __init__(self, n_feats: int, z_channels: int) -> None:
        super().__init__()
        self.out = conv(n_feats, 2 * z_channels)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.out(x).chunk(2, dim=1)
        return mu, _LOGVAR_BOUND * torch.tanh(logvar / _LOGVAR_BOUND)


class SRVAE(nn.Module):
    """Conditional VAE for super-resolution (see the module docstring for the layout).

    Args:
        scale: Upscaling factor, 2 or 4.
        n_feats: Channels of every feature map.
        n_blocks: Residual blocks of the decoder.
        z_channels: Latent channels per LR pixel.
        encoder_blocks: Residual blocks of the LR feature extractor and of the posterior.

    Raises:
        ValueError: If ``scale`` is unsupported or a size is not positive.

    Example:
        >>> net = SRVAE(scale=2, n_feats=8, n_blocks=1, z_channels=2, encoder_blocks=1)
        >>> tuple(net(torch.rand(1, 3, 5, 3)).shape)
        (1, 3, 10, 6)
    """

    def __init__(
        self,
        scale: int,
        n_feats: int = 64,
        n_blocks: int = 8,
        z_channels: int = 16,
        encoder_blocks: int = 2,
    ) -> None:
        super().__init__()
        self.scale = check_scale(scale, "SRVAE", SCALES)
        check_positive(
            "SRVAE",
            n_feats=n_feats,
            n_blocks=n_blocks,
            z_channels=z_channels,
            encoder_blocks=encoder_blocks,
        )
        self.z_channels = int(z_channels)
        self.upsample = BicubicUpsample(self.scale)
        self.features = nn.Sequential(
            conv(3, n_feats), *(ResBlock(n_feats) for _ in range(encoder_blocks))
        )
        self.prior = nn.Sequential(
            conv(n_feats, n_feats), nn.ReLU(inplace=True), _GaussianHead(n_feats, z_channels)
        )
        folded = 6 * self.scale**2  # HR and bicubic, pixel_unshuffled to LR resolution
        self.posterior = nn.Sequential(
            conv(folded + n_feats, n_feats),
            nn.ReLU(inplace=True),
            *(ResBlock(n_feats) for _ in range(encoder_blocks)),
            _GaussianHead(n_feats, z_channels),
        )
        self.fuse = conv(n_feats + z_channels, n_feats)
        self.decoder = nn.Sequential(
            *(ResBlock(n_feats) for _ in range(n_blocks)), conv(n_feats, n_feats)
        )
        self.upsampler = make_upsampler(self.scale, n_feats)
        self.tail = conv(n_feats, 3)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        """The HR image decoded from the prior's mean (deterministic), ``(N, 3, H*s, W*s)``."""
        feats = self.features(lr)
        mu, _ = self.prior(feats)
        return self._decode(lr, feats, mu)

    def sample(self, lr: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One draw: ``z = mu + sigma * eps`` from the prior, ``eps`` from ``generator``.

        ``eps`` is drawn on the CPU in float32 whatever the network's device and dtype, so one
        generator state gives one ``eps`` everywhere (the decoded image then differs across
        devices only by their arithmetic).
        """
        feats = self.features(lr)
        mu, logvar = self.prior(feats)
        eps = torch.randn(mu.shape, generator=generator, dtype=torch.float32, device="cpu")
        z = mu + (0.5 * logvar).exp() * eps.to(mu.device, mu.dtype)
        return self._decode(lr, feats, z)

    def posterior_forward(
        self,
        lr: torch.Tensor,
        hr: torch.Tensor,
        generator: torch.Generator | None = None,
        rows: tuple[int, int] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Training: decode ``z ~ q(z | HR, LR)``, reparameterised with noise from
        ``generator`` (on the tensors' device; ``None``: torch's global generator).
        ``rows=(first, total)``: this batch is rows ``first ..`` of a batch of ``total`` split
        over processes; the noise is those rows of the whole batch's (as in one process).

        Returns:
            ``(sr, kl)``: the decoded image and ``KL(q || p)`` summed over the latent and
            divided by the number of HR values (``hr.numel()``), in float32, so that it adds to
            a per-value reconstruction loss as the negative ELBO's two terms.

        Raises:
            ValueError: If ``hr`` is not ``lr`` enlarged by the scale.
        """
        expected = (*lr.shape[:2], lr.shape[2] * self.scale, lr.shape[3] * self.scale)
        if tuple(hr.shape) != expected:
            raise ValueError(
                f"SRVAE x{self.scale}: HR {tuple(hr.shape)} must be LR {tuple(lr.shape)} times "
                f"the scale, {expected}"
            )
        base = self.upsample(lr)
        feats = self.features(lr)
        mu_p, logvar_p = self.prior(feats)
        folded = F.pixel_unshuffle(torch.cat([hr, base], dim=1), self.scale)
        mu_q, logvar_q = self.posterior(torch.cat([folded, feats], dim=1))
        first, total = rows or (0, mu_q.shape[0])
        shape = (total, *mu_q.shape[1:])
        eps = torch.randn(shape, generator=generator, dtype=mu_q.dtype, device=mu_q.device)
        eps = eps[first : first + mu_q.shape[0]]
        z = mu_q + (0.5 * logvar_q).exp() * eps
        kl = gaussian_kl(*(t.float() for t in (mu_q, logvar_q, mu_p, logvar_p)))
        return self._decode(lr, feats, z, base), kl.sum() / hr.numel()

    def _decode(
        self,
        lr: torch.Tensor,
        feats: torch.Tensor,
        z: torch.Tensor,
        base: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x = self.fuse(torch.cat([feats, z], dim=1))
        x = self.tail(self.upsampler(x + self.decoder(x)))
        return (self.upsample(lr) if base is None else base) + x
