"""ESRGAN (Wang et al., "ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks",
ECCVW 2018): the RRDB generator trained with L1 (stage 1, PSNR-oriented) and then as a
relativistic GAN (stage 2), with network interpolation between the two (``esrgan:alpha=A``).

The authors' x4 weights (``RRDB_ESRGAN_x4.pth``, ``RRDB_PSNR_x4.pth``) are declared as BasicSR
republished them, under names carrying their SHA-256 prefix, from its Google Drive
(``basicsr/scripts/download_pretrained_models.py``). Their first-release and current-layout copies
load too (``esrgan:weights=FILE``): :mod:`.layouts` maps every known key layout to ours.
"""

from __future__ import annotations

from srbench.methods.papers import paper_table
from srbench.methods.plugins import register_method
from srbench.methods.trained import Architecture, InterpolatingMethod, TrainedMethod
from srbench.weights.files import WeightFile, declare

PAPER = "Wang et al., ESRGAN: Enhanced Super-Resolution GANs, ECCVW 2018"
NET = f"{__name__}.net"
LAYOUTS = f"{__name__}.layouts:to_native"
RRDB_CONFIG = {"n_blocks": 23, "n_feats": 64, "growth": 32, "res_scale": 0.2}
_DRIVE = "https://drive.google.com/uc?export=download&id="
#: The PSNR-oriented RRDB trained on DF2K (the released ``RRDB_PSNR_x4``), x4, Y channel, BI:
#: the paper's supplementary Table 2, row "RRDB (ours), DF2K" (the ESRGAN README prints the same).
#: The GAN model has no such row: it is not PSNR-oriented, and the paper reports none for it.
RRDB_PSNR_TABLE = paper_table(
    "Wang et al. 2018 (ESRGAN), supplementary Table 2",
    {
        ("Set5", 4): (32.73, 0.9011),
        ("Set14", 4): (28.99, 0.7917),
        ("BSD100", 4): (27.85, 0.7455),
        ("Urban100", 4): (27.03, 0.8153),
        ("Manga109", 4): (31.66, 0.9196),
    },
)


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
        published={"paper": RRDB_PSNR_TABLE},
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
