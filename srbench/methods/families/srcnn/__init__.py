"""SRCNN (Dong et al., "Image Super-Resolution Using Deep Convolutional Networks", TPAMI 2016):
the first CNN for SR, 9-1-5 on the bicubic-upscaled image. A seed baseline; no weights shipped.
"""

from __future__ import annotations

from srbench.methods.plugins import register_method
from srbench.methods.trained import Architecture, TrainedMethod


@register_method
class SRCNN(TrainedMethod):
    """SRCNN 9-1-5 (RGB) on the bicubic-upscaled image, trained with MSE."""

    arch = Architecture(
        name="srcnn",
        net=f"{__name__}.net:SRCNN",
        kwargs={"channels": 3, "n1": 64, "n2": 32, "f1": 9, "f2": 1, "f3": 5},
        scales=(2, 3, 4),
        summary="SRCNN 9-1-5 (RGB) on the bicubic-upscaled image, MSE.",
        paper="Dong et al., Image Super-Resolution Using Deep Convolutional Networks, TPAMI 2016",
    )
