"""A conditional VAE's objective (SR-VAE): the reconstruction terms of the ``loss:`` mapping
plus a KL term whose weight warms up linearly, and the ELBO that it bounds, for logging.

The network computes its own KL (``posterior_forward(lr, hr) -> (sr, kl)``, the KL summed over
the latent per HR value); this module weighs it::

    loss_t = recon(sr, hr) + beta_t * kl,   beta_t = kl_weight * min(1, t / kl_warmup)

at update ``t = 1, 2, ...``. The warm-up (KL annealing) lets the decoder learn to use the latent
before the KL pulls the posterior onto the prior (posterior collapse). The logged ``elbo`` is
``-(recon + kl)``: the evidence lower bound per HR value up to the likelihood's constant, for an
L1 reconstruction a Laplace likelihood of scale 1, for MSE a Gaussian of variance 1/2 (higher is
better; it does not depend on the warm-up).
"""

from __future__ import annotations

from srbench.training.losses.common import Tensor, nn
from srbench.training.losses.composite import GeneratorLoss

__all__ = ["VAEObjective", "kl_beta"]


def kl_beta(update: int, kl_weight: float, kl_warmup: int) -> float:
    """The KL weight at update ``update`` (1-based): linear from ``kl_weight / kl_warmup`` at
    the first update to ``kl_weight`` at update ``kl_warmup``, then constant.

    Example:
        >>> [kl_beta(t, 0.1, 4) for t in (1, 2, 4, 9)]
        [0.025, 0.05, 0.1, 0.1]
        >>> kl_beta(1, 0.1, 0)
        0.1
    """
    if update < 1:
        raise ValueError(f"kl_beta: updates count from 1, got {update}")
    if kl_warmup == 0:
        return kl_weight
    return kl_weight * min(1.0, update / kl_warmup)


class VAEObjective(nn.Module):
    """Reconstruction (a :class:`GeneratorLoss`) plus the warmed-up KL term.

    Args:
        reconstruction: The ``loss:`` terms (L1 or MSE, possibly perceptual ones).
        kl_weight: ``beta`` after the warm-up.
        kl_warmup: Updates of the linear warm-up (0: none).
    """

    def __init__(self, reconstruction: GeneratorLoss, kl_weight: float, kl_warmup: int) -> None:
        super().__init__()
        self.reconstruction = reconstruction
        self.kl_weight = float(kl_weight)
        self.kl_warmup = int(kl_warmup)

    def forward(
        self, sr: Tensor, hr: Tensor, kl: Tensor, update: int
    ) -> tuple[Tensor, dict[str, float]]:
        """The loss of update ``update`` (1-based) and the values to log: the reconstruction
        terms, ``recon`` (their sum), ``kl`` (unweighted), ``kl_beta`` and ``elbo``."""
        recon, terms = self.reconstruction(sr, hr)
        beta = kl_beta(update, self.kl_weight, self.kl_warmup)
        recon_value, kl_value = recon.item(), kl.item()
        logged = {
            **terms,
            "recon": recon_value,
            "kl": kl_value,
            "kl_beta": beta,
            "elbo": -(recon_value + kl_value),
        }
        return recon + beta * kl, logged
