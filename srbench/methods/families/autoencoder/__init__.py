"""A convolutional auto-encoder on the bicubic-upscaled image: an encoder-decoder without skip
connections, the seed documents' "auto-encoder" approach to SR. No weights shipped.
"""

from __future__ import annotations

from srbench.methods.plugins import register_method
from srbench.methods.trained import Architecture, TrainedMethod


@register_method
class AutoEncoder(TrainedMethod):
    """Convolutional auto-encoder (no skips) on the bicubic-upscaled image, trained with MSE."""

    arch = Architecture(
        name="autoencoder",
        net=f"{__name__}.net:ConvAutoEncoder",
        kwargs={"n_feats": 64, "depth": 2},
        scales=(2, 3, 4),
        summary="Convolutional auto-encoder (no skips) on the bicubic-upscaled image, MSE.",
        paper="Seed baseline: image SR with auto-encoders (encoder-decoder, MSE)",
    )
