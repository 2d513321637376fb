"""ESRGAN (Wang et al., "ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks",
ECCVW 2018): the RRDB generator trained with L1 (stage 1, PSNR-oriented) and then as a
relativistic GAN (stage 2), with network interpolation between the two (``esrgan:alpha=A``).

The authors' x4 weights (``RRDB_ESRGAN_x4.pth``, ``RRDB_PSNR_x4.pth``) are declared as BasicSR
republished them, under names carrying their SHA-256 prefix, from its Google Drive
(``basicsr/scripts/download_pretrained_models.py``). Their first-release and current-layout copies
load too (``esrgan:weights=FILE``): :mod:`.layouts` maps every known key layout to ours.
"""

from __future__ import annotations

from srbench.methods.plugins import register_method
from srbench.methods.trained import Architecture, InterpolatingMethod, TrainedMethod
from srbench.weights.files import WeightFile, declare

PAPER = "Wang et al., ESRGAN: Enhanced Super-Resolution GANs, ECCVW 2018"
NET = f"{__name__}.net"
LAYOUTS = f"{__name__}.layouts:to_native"
RRDB_CONFIG = {"n_blocks": 23, "n_feats": 64, "growth": 32, "res_scale": 0.2}
_DRIVE = "https://drive.google.com/uc?export=download&id="


def _release(name: str, filename: str, drive_id: str, used_by: str) -> WeightFile:
    return WeightFile(
        name=name,
        filename=filename,
        url=_DRIVE + drive_id,
        sha256=None,
        sha256_prefix=filename.rpartition("-")[2].removesuffix(".pth"),
        used_by=f"method {used_by} (tag paper)",
    )


declare(
    _release(
        "esrgan-x4",
        "ESRGAN_SRx4_DF2KOST_official-ff704c30.pth",
        "1b3_bWZTjNO3iL2js1yWkJfjZykcQgvzT",
        "esrgan x4",
    ),
    _release(
        "esrgan-psnr-x4",
        "ESRGAN_PSNR_SRx4_DF2K_official-150ff491.pth",
        "1swaV5iBMFfg-DL6ZyiARztbhutDCWXMM",
        "rrdb x4 and esrgan:alpha=...",
    ),
)


@register_method
class RRDB(TrainedMethod):
    """RRDB: ESRGAN's generator trained with L1 (PSNR-oriented; ESRGAN's stage 1)."""

    arch = Architecture(
        name="rrdb",
        net=f"{NET}:RRDBNet",
        kwargs=RRDB_CONFIG,
        scales=(2, 4),
        summary="RRDB: ESRGAN's 23 x 64 generator trained with L1 (PSNR-oriented; ESRGAN stage 1).",
        paper=PAPER,
        official={4: "esrgan-psnr-x4"},
        layouts=LAYOUTS,
    )


@register_method
class ESRGAN(InterpolatingMethod):
    """ESRGAN: RRDB + relativistic GAN; ``alpha=`` interpolates with the RRDB weights."""

    arch = Architecture(
        name="esrgan",
        net=f"{NET}:RRDBNet",
        kwargs=RRDB_CONFIG,
        scales=(2, 4),
        summary="ESRGAN: RRDB + relativistic GAN, VGG19 conv5_4 + 5e-3 RaGAN + 1e-2 L1; alpha= "
        "interpolates with the RRDB weights.",
        paper=PAPER,
        official={4: "esrgan-x4"},
        discriminator=f"{NET}:ESRGANDiscriminator",
        interpolates="rrdb",
        layouts=LAYOUTS,
    )
