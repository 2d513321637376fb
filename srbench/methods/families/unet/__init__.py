"""U-Net on the bicubic-upscaled image (Ronneberger et al., MICCAI 2015), trained with MSE, with
a perceptual loss on VGG16 features (Johnson et al., ECCV 2016), or as the generator of a GAN
trained in NoGAN stages (perceptual pre-training, critic pre-training, a short adversarial
fine-tune). Seed baselines; no weights shipped.
"""

from __future__ import annotations

from srbench.methods.plugins import register_method
from srbench.methods.trained import Architecture, TrainedMethod

PAPER = "Ronneberger et al., U-Net, MICCAI 2015; perceptual loss: Johnson et al., ECCV 2016"
NET = f"{__name__}.net"
#: The critic: a small patch critic with spectral norm (no batch norm).
CRITIC = f"{__name__}.critic:PatchCritic"
UNET = {"n_feats": 64, "depth": 4}


@register_method
class UNet(TrainedMethod):
    """U-Net on the bicubic-upscaled image predicting its residual, trained with MSE."""

    arch = Architecture(
        name="unet",
        net=f"{NET}:UNet",
        kwargs=UNET,
        scales=(2, 3, 4),
        summary="U-Net on the bicubic-upscaled image predicting its residual, MSE.",
        paper=PAPER,
    )


@register_method
class UNetPerceptual(TrainedMethod):
    """The same U-Net trained with a perceptual loss on VGG16 relu3_3 features."""

    arch = Architecture(
        name="unet_perceptual",
        net=f"{NET}:UNet",
        kwargs=UNET,
        scales=(2, 3, 4),
        summary="The same U-Net trained with a perceptual loss on VGG16 relu3_3 features.",
        paper=PAPER,
    )


@register_method
class UNetGAN(TrainedMethod):
    """The same U-Net as the generator of a GAN, trained in NoGAN stages: perceptual
    pre-training, critic pre-training on the frozen generator, a short adversarial fine-tune."""

    arch = Architecture(
        name="unet_gan",
        net=f"{NET}:UNet",
        kwargs=UNET,
        scales=(2, 3, 4),
        summary="The same U-Net as a GAN generator, NoGAN stages: perceptual, critic, fine-tune.",
        paper=f"{PAPER}; NoGAN: Antic, DeOldify, 2019; patch critic: Isola et al., CVPR 2017",
        discriminator=CRITIC,
    )
