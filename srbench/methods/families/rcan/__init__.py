"""RCAN (Zhang et al., "Image Super-Resolution Using Very Deep Residual Channel Attention
Networks", ECCV 2018): the authors' bicubic (BI) models as public checkpoints
(:mod:`srbench.methods.zoo`).

The authors publish their models (RCAN_BIX2/3/4/8.pt, and RCAN_BDX3.pt for blur-downscale
inputs, not declared here) only inside one zip, ``models_ECCV2018RCAN.zip`` (Dropbox, Google
Drive, Baidu); ``srbench weights --fetch`` downloads the zip once and takes each file out. No
hash is published, so each file is recorded by its SHA-256 on first use. Paper values: the BI
table (PSNR/SSIM on Y), read from the images of it in the authors' README
(``Figs/psnr_bi_*.PNG``); its Set5 values match ``PSNR_SSIM_Results_BI_model.txt`` there.
"""

from __future__ import annotations

from srbench.methods.papers import paper_table
from srbench.methods.plugins import register_method
from srbench.methods.zoo import Release, ZooFamily, ZooMethod
from srbench.weights.files import WeightFile, declare

PAPER = (
    "Zhang et al., Image Super-Resolution Using Very Deep Residual Channel Attention "
    "Networks, ECCV 2018"
)
_ZIP = "https://www.dropbox.com/s/qm9vc0p0w9i4s0n/models_ECCV2018RCAN.zip?dl=1"
SCALES = (2, 3, 4, 8)

declare(
    *(
        WeightFile(
            name=f"rcan-x{s}",
            filename=f"RCAN_BIX{s}.pt",
            url=_ZIP,
            sha256=None,
            sha256_prefix="",
            used_by="method rcan (tag bi)",
            archive_member=f"RCAN_BIX{s}.pt",
            unhashed="the authors publish no hash (files inside models_ECCV2018RCAN.zip)",
        )
        for s in SCALES
    )
)

# The table's number in the paper is not verified here; cited by its content.
_TABLE = "Zhang et al. 2018, BI degradation table"
_SETS = ("Set5", "Set14", "BSD100", "Urban100", "Manga109")
_BI = {
    2: ((38.27, 0.9614), (34.12, 0.9216), (32.41, 0.9027), (33.34, 0.9384), (39.44, 0.9786)),
    3: ((34.74, 0.9299), (30.65, 0.8482), (29.32, 0.8111), (29.09, 0.8702), (34.44, 0.9499)),
    4: ((32.63, 0.9002), (28.87, 0.7889), (27.77, 0.7436), (26.82, 0.8087), (31.22, 0.9173)),
    8: ((27.31, 0.7878), (25.23, 0.6511), (24.98, 0.6058), (23.00, 0.6452), (25.24, 0.8029)),
}

FAMILY = ZooFamily(
    name="rcan",
    spandrel="RCAN",
    summary="RCAN, residual channel attention (10 groups x 20 blocks x 64), the authors' BI "
    "models.",
    paper=PAPER,
    licence="none stated (the authors' repository yulunzhang/RCAN has no licence file)",
    releases={
        "bi": Release(
            {s: f"rcan-x{s}" for s in SCALES},
            paper_table(
                _TABLE,
                {(d, s): v for s, row in _BI.items() for d, v in zip(_SETS, row, strict=True)},
            ),
            "RCAN (15.6M parameters) trained on DIV2K with bicubic (BI) downscaling.",
        ),
    },
    default_tag="bi",
)


@register_method
class RCAN(ZooMethod):
    """RCAN: the authors' BI models (tag ``bi``)."""

    family = FAMILY
