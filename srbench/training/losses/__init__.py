"""Training losses: pixel, VGG content (SRGAN), Gram texture (EnhanceNet) and adversarial terms,
and the weighted sum a generator is trained on, built from a YAML-style mapping.

Every image loss is an ``nn.Module`` called as ``loss(sr, hr)`` on float tensors
``(N, 3, H, W)``, RGB in ``[0, 1]``, and returns a scalar tensor. The VGG-based losses share one
:class:`VGGFeatures` extractor; :class:`GeneratorLoss` runs it once per ``(sr, hr)`` pair for all of
them (``hr`` without gradient).

The VGG19 ImageNet weights are read from the torch hub cache through :mod:`srbench.weights`, never
downloaded implicitly. ``random_weights=True`` (``random_vgg=True`` for
:func:`build_generator_loss`) builds the same network with seeded random weights: the code path of
tests, and nothing else.

Modules: :mod:`~.pixel`, :mod:`~.vgg` (the extractor and content loss), :mod:`~.texture`,
:mod:`~.adversarial`, :mod:`~.composite` (the weighted sum and the config builders), :mod:`~.vae`
(a conditional VAE's reconstruction plus warmed-up KL).
"""

from srbench.training.losses.adversarial import ADVERSARIAL_KINDS, AdversarialLoss
from srbench.training.losses.common import CRITERIA
from srbench.training.losses.composite import (
    LOSS_TERMS,
    GeneratorLoss,
    build_adversarial,
    build_generator_loss,
    parse_loss_config,
)
from srbench.training.losses.pixel import PixelLoss
from srbench.training.losses.texture import TextureLoss, gram_matrix, tile_grams
from srbench.training.losses.vae import VAEObjective, kl_beta
from srbench.training.losses.vgg import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    VGG19_LAYERS,
    VGG_LAYERS,
    ContentLoss,
    FeatureLoss,
    VGGFeatures,
)

__all__ = [
    "ADVERSARIAL_KINDS",
    "CRITERIA",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "LOSS_TERMS",
    "VGG19_LAYERS",
    "VGG_LAYERS",
    "AdversarialLoss",
    "ContentLoss",
    "FeatureLoss",
    "GeneratorLoss",
    "PixelLoss",
    "TextureLoss",
    "VAEObjective",
    "VGGFeatures",
    "build_adversarial",
    "build_generator_loss",
    "gram_matrix",
    "kl_beta",
    "parse_loss_config",
    "tile_grams",
]
