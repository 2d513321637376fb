"""SR-UGAN (Greeley, "Image Super Resolution with Deep Learning and Modern Methods", sec. 4.2 of
the course paper srbench was founded on): an attention U-Net with dense blocks, trained as a GAN
with an optional ACGAN class head on labelled folders. The widths are ours (the text gives only
the block kinds and B = 8); see :mod:`.net`.
"""

from __future__ import annotations

from srbench.methods.plugins import register_method
from srbench.methods.trained import Architecture, TrainedMethod

PAPER = "Greeley, Image Super Resolution with Deep Learning and Modern Methods (SR-UGAN)"
NET = f"{__name__}.net"


@register_method
class SRUGAN(TrainedMethod):
    """SR-UGAN: U-Net with SE and spatial attention, 8 + 8 dense blocks; a GAN."""

    arch = Architecture(
        name="srugan",
        net=f"{NET}:SRUGAN",
        kwargs={},
        scales=(2, 4),
        summary="SR-UGAN: U-Net with SE + spatial attention, 8+8 dense blocks; MSE + VGG + 1e-3 "
        "adversarial, ACGAN class head on labelled folders.",
        paper=PAPER,
        discriminator=f"{NET}:SRUGANDiscriminator",
    )
