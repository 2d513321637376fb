"""SwinIR (Liang et al., "SwinIR: Image Restoration Using Swin Transformer", ICCVW 2021): the
authors' super-resolution releases as public checkpoints (:mod:`srbench.methods.zoo`).

Tags: ``classical-m-div2k`` (SwinIR-M trained on DIV2K with 48x48 LR patches: the paper's main
classical rows), ``classical-m-df2k`` (SwinIR-M on DIV2K+Flickr2K, 64x64 patches),
``lightweight`` (SwinIR-S, 0.9M parameters) and ``real-m-x4`` (SwinIR-M trained with BSRGAN's
degradations for real-world images, GAN). The files are the authors' GitHub release v0.0; they
publish no hash, so each file is recorded by its SHA-256 on first use. Paper values are the
bicubic-protocol tables (PSNR/SSIM on Y), read from the tables the authors reproduce in their
README (``figs/classic_image_sr.png``, ``figs/lightweight_image_sr.png``).
"""

from __future__ import annotations

from srbench.methods.papers import paper_table
from srbench.methods.plugins import register_method
from srbench.methods.zoo import Release, ZooFamily, ZooMethod
from srbench.weights.files import WeightFile, declare

PAPER = "Liang et al., SwinIR: Image Restoration Using Swin Transformer, ICCVW 2021"
_RELEASE = "https://github.com/JingyunLiang/SwinIR/releases/download/v0.0/"
_NO_HASH = "the authors publish no hash for their GitHub release v0.0"

#: Tag -> (file name pattern with ``{s}`` for the scale, scales).
_FILES = {
    "classical-m-div2k": ("001_classicalSR_DIV2K_s48w8_SwinIR-M_x{s}.pth", (2, 3, 4, 8)),
    "classical-m-df2k": ("001_classicalSR_DF2K_s64w8_SwinIR-M_x{s}.pth", (2, 3, 4, 8)),
    "lightweight": ("002_lightweightSR_DIV2K_s64w8_SwinIR-S_x{s}.pth", (2, 3, 4)),
    "real-m-x4": ("003_realSR_BSRGAN_DFO_s64w8_SwinIR-M_x4_GAN.pth", (4,)),
}


def _name(tag: str, scale: int) -> str:
    return f"swinir-{tag}" if tag.endswith(f"-x{scale}") else f"swinir-{tag}-x{scale}"


declare(
    *(
        WeightFile(
            name=_name(tag, s),
            filename=pattern.format(s=s),
            url=_RELEASE + pattern.format(s=s),
            sha256=None,
            sha256_prefix="",
            used_by=f"method swinir (tag {tag})",
            unhashed=_NO_HASH,
        )
        for tag, (pattern, scales) in _FILES.items()
        for s in scales
    )
)

_CLASSICAL = "Liang et al. 2021, Table 2"
# PSNR/SSIM on Y, (Set5, Set14, BSD100, Urban100, Manga109) per scale; Table 2 has no x8 rows.
_SETS = ("Set5", "Set14", "BSD100", "Urban100", "Manga109")
_DIV2K = {
    2: ((38.35, 0.9620), (34.14, 0.9227), (32.44, 0.9030), (33.40, 0.9393), (39.60, 0.9792)),
    3: ((34.89, 0.9312), (30.77, 0.8503), (29.37, 0.8124), (29.29, 0.8744), (34.74, 0.9518)),
    4: ((32.72, 0.9021), (28.94, 0.7914), (27.83, 0.7459), (27.07, 0.8164), (31.67, 0.9226)),
}
_DF2K = {
    2: ((38.42, 0.9623), (34.46, 0.9250), (32.53, 0.9041), (33.81, 0.9427), (39.92, 0.9797)),
    3: ((34.97, 0.9318), (30.93, 0.8534), (29.46, 0.8145), (29.75, 0.8826), (35.12, 0.9537)),
    4: ((32.92, 0.9044), (29.09, 0.7950), (27.92, 0.7489), (27.45, 0.8254), (32.03, 0.9260)),
}
# The lightweight table's number in the paper is not verified here; cited by its content.
_LIGHTWEIGHT_TABLE = "Liang et al. 2021, lightweight SR table"
_LIGHTWEIGHT = {
    2: ((38.14, 0.9611), (33.86, 0.9206), (32.31, 0.9012), (32.76, 0.9340), (39.12, 0.9783)),
    3: ((34.62, 0.9289), (30.54, 0.8463), (29.20, 0.8082), (28.66, 0.8624), (33.98, 0.9478)),
    4: ((32.44, 0.8976), (28.77, 0.7858), (27.69, 0.7406), (26.47, 0.7980), (30.92, 0.9151)),
}


def _rows(source: str, values: dict[int, tuple[tuple[float, float], ...]]) -> tuple:
    return paper_table(
        source,
        {(d, s): v for s, row in values.items() for d, v in zip(_SETS, row, strict=True)},
    )


def _files(tag: str) -> dict[int, str]:
    return {s: _name(tag, s) for s in _FILES[tag][1]}


FAMILY = ZooFamily(
    name="swinir",
    spandrel="SwinIR",
    summary="SwinIR (Swin Transformer), the authors' SR releases: SwinIR-M classical, "
    "SwinIR-S lightweight, real-world x4 GAN.",
    paper=PAPER,
    licence="Apache-2.0",
    releases={
        "classical-m-div2k": Release(
            _files("classical-m-div2k"),
            _rows(_CLASSICAL, _DIV2K),
            "SwinIR-M (11.9M parameters), DIV2K, 48x48 LR patches; the paper's table has no x8.",
        ),
        "classical-m-df2k": Release(
            _files("classical-m-df2k"),
            _rows(_CLASSICAL, _DF2K),
            "SwinIR-M, DIV2K+Flickr2K, 64x64 LR patches; the paper's table has no x8.",
        ),
        "lightweight": Release(
            _files("lightweight"),
            _rows(_LIGHTWEIGHT_TABLE, _LIGHTWEIGHT),
            "SwinIR-S (0.9M parameters), DIV2K.",
        ),
        "real-m-x4": Release(
            _files("real-m-x4"),
            (),
            "SwinIR-M GAN for real-world images (BSRGAN degradations; DIV2K, Flickr2K, OST): "
            "no bicubic-protocol table exists for it.",
        ),
    },
    default_tag="classical-m-div2k",
)


@register_method
class SwinIR(ZooMethod):
    """SwinIR: the authors' released checkpoints by tag (default ``classical-m-div2k``)."""

    family = FAMILY
