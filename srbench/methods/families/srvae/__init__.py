"""SR-VAE: a conditional variational auto-encoder for SR, the seed document's "VAEs" approach.
Stochastic: one LR image has many plausible HR images; each seed draws one. No weights shipped
(``srbench train srvae``).

* ``upscale_sample(lr, scale, seed)`` decodes ``z`` drawn from the learned conditional prior
  ``p(z | LR)`` with a ``torch.Generator`` seeded by ``seed`` (the same image and seed give the
  same output bit for bit on the CPU; other seeds other draws).
* ``upscale(lr, scale)``, the deterministic call, decodes the prior's mean (the most likely
  latent, not the mean of the samples' images).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from srbench.methods.networks import network_card
from srbench.methods.plugins import register_method
from srbench.methods.trained import Architecture, TrainedMethod

PAPER = (
    "Conditional VAE (Sohn et al., NeurIPS 2015) for SR with a learned conditional prior; "
    "seed document, section 5"
)


@register_method
class SRVAEMethod(TrainedMethod):
    """Conditional VAE: ``upscale_sample`` draws from the learned prior ``p(z | LR)`` per seed;
    ``upscale`` decodes the prior's mean."""

    arch = Architecture(
        name="srvae",
        net=f"{__name__}.net:SRVAE",
        kwargs={"n_feats": 64, "n_blocks": 8, "z_channels": 16, "encoder_blocks": 2},
        scales=(2, 4),
        summary="Conditional VAE (stochastic: one sample per seed; upscale = prior mean), L1+KL.",
        paper=PAPER,
        variational=True,
    )
    card = dataclasses.replace(
        network_card(arch.name, arch.summary, arch.scales, arch.paper, arch.params),
        stochastic=True,
    )

    def upscale_sample(self, lr: np.ndarray, scale: int, seed: int) -> np.ndarray:
        """One draw from the prior for ``seed`` (a ``torch.Generator`` seeded by it, per
        image), decoded; float on 0..255."""
        import torch

        net = self._net(scale)
        # torch seeds are 64-bit: a larger run-derived seed is taken modulo 2**64
        generator = torch.Generator(device="cpu").manual_seed(int(seed) % 2**64)
        with torch.inference_mode():
            y = net.sample(self._tensor(lr[None]), generator)
        return self._images(y)[0]
