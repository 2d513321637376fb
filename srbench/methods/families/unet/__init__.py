"""U-Net on the bicubic-upscaled image (Ronneberger et al., MICCAI 2015), trained with MSE or with
a perceptual loss on VGG16 features (Johnson et al., ECCV 2016). Seed baselines; no weights
shipped.
"""

from __future__ import annotations

from srbench.methods.plugins import register_method
from srbench.methods.trained import Architecture, TrainedMethod

PAPER = "Ronneberger et al., U-Net, MICCAI 2015; perceptual loss: Johnson et al., ECCV 2016"
NET = f"{__name__}.net"
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
