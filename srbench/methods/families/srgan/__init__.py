"""SRResNet and SRGAN (Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a
Generative Adversarial Network", CVPR 2017): the residual generator trained with MSE, and the
same generator trained with a VGG content loss against the paper's discriminator. No weights
were released; ``srbench train srresnet`` then ``srbench train srgan`` make them.
"""

from __future__ import annotations

from srbench.methods.plugins import register_method
from srbench.methods.trained import Architecture, TrainedMethod

PAPER = "Ledig et al., Photo-Realistic SISR Using a GAN, CVPR 2017"
NET = f"{__name__}.net"


@register_method
class SRResNet(TrainedMethod):
    """SRResNet: 16 residual blocks with batch norm and PReLU, trained with MSE."""

    arch = Architecture(
        name="srresnet",
        net=f"{NET}:SRResNet",
        kwargs={"n_blocks": 16, "n_feats": 64},
        scales=(2, 4, 8),
        summary="SRResNet: 16 residual blocks with BN and PReLU, MSE.",
        paper=PAPER,
    )


@register_method
class SRGAN(TrainedMethod):
    """SRGAN: the SRResNet generator, VGG54 content loss + 1e-3 adversarial loss."""

    arch = Architecture(
        name="srgan",
        net=f"{NET}:SRResNet",
        kwargs={"n_blocks": 16, "n_feats": 64},
        scales=(2, 4, 8),
        summary="SRGAN: SRResNet generator, VGG54 content + 1e-3 adversarial loss.",
        paper=PAPER,
        discriminator=f"{NET}:Discriminator",
    )
