"""EDSR and MDSR (Lim et al., "Enhanced Deep Residual Networks for Single Image Super-Resolution",
CVPRW 2017): the baseline and full single-scale EDSR and the multi-scale MDSR.

The authors' releases (EDSR-PyTorch, ``model/edsr.py`` and ``model/mdsr.py``) load strictly with
our module names; only each file name's SHA-256 prefix is published.
"""

from __future__ import annotations

from srbench.methods.papers import paper_table
from srbench.methods.plugins import register_method
from srbench.methods.trained import Architecture, TrainedMethod
from srbench.weights.files import WeightFile, declare

PAPER = "Lim et al., Enhanced Deep Residual Networks for SISR, CVPRW 2017"
NET = f"{__name__}.net"
_RELEASES = "https://cv.snu.ac.kr/research/EDSR/models/"


def _release(name: str, filename: str, used_by: str) -> WeightFile:
    return WeightFile(
        name=name,
        filename=filename,
        url=_RELEASES + filename,
        sha256=None,
        sha256_prefix=filename.rpartition("-")[2].removesuffix(".pt"),
        used_by=f"method {used_by} (tag paper)",
    )


#: EDSR's own row of the paper's Table 3 (Y channel, ``scale`` pixels shaved, BI). The table has
#: no rows for the baseline models and the EDSR-PyTorch README gives theirs on DIV2K validation in
#: RGB only; MDSR's row is not cited here because srbench could not check it against a second
#: source. The PyTorch releases the tag ``paper`` loads retrain the paper's Torch7 models.
EDSR_TABLE_3 = paper_table(
    "Lim et al. 2017 (EDSR), Table 3",
    {
        ("Set5", 2): (38.11, 0.9601),
        ("Set5", 3): (34.65, 0.9282),
        ("Set5", 4): (32.46, 0.8968),
        ("Set14", 2): (33.92, 0.9195),
        ("Set14", 3): (30.52, 0.8462),
        ("Set14", 4): (28.80, 0.7876),
        ("BSD100", 2): (32.32, 0.9013),
        ("BSD100", 3): (29.25, 0.8093),
        ("BSD100", 4): (27.71, 0.7420),
        ("Urban100", 2): (32.93, 0.9351),
        ("Urban100", 3): (28.80, 0.8653),
        ("Urban100", 4): (26.64, 0.8033),
    },
)

declare(
    _release("edsr-baseline-x2", "edsr_baseline_x2-1bc95232.pt", "edsr_baseline x2"),
    _release("edsr-baseline-x3", "edsr_baseline_x3-abf2a44e.pt", "edsr_baseline x3"),
    _release("edsr-baseline-x4", "edsr_baseline_x4-6b446fab.pt", "edsr_baseline x4"),
    _release("edsr-x2", "edsr_x2-0edfb8a3.pt", "edsr x2"),
    _release("edsr-x3", "edsr_x3-ea3ef2c6.pt", "edsr x3"),
    _release("edsr-x4", "edsr_x4-4f62e9ef.pt", "edsr x4"),
    _release("mdsr-baseline", "mdsr_baseline-a00cab12.pt", "mdsr_baseline x2/x3/x4"),
    _release("mdsr", "mdsr-4a78bedf.pt", "mdsr x2/x3/x4"),
)


@register_method
class EDSRBaseline(TrainedMethod):
    """EDSR baseline: 16 residual blocks x 64 features, L1 on DIV2K."""

    arch = Architecture(
        name="edsr_baseline",
        net=f"{NET}:EDSR",
        kwargs={"n_resblocks": 16, "n_feats": 64, "res_scale": 1.0},
        scales=(2, 3, 4),
        summary="EDSR baseline, 16 blocks x 64 (L1, DIV2K).",
        paper=PAPER,
        official={s: f"edsr-baseline-x{s}" for s in (2, 3, 4)},
    )


@register_method
class EDSR(TrainedMethod):
    """EDSR: 32 residual blocks x 256 features with residual scaling 0.1."""

    arch = Architecture(
        name="edsr",
        net=f"{NET}:EDSR",
        kwargs={"n_resblocks": 32, "n_feats": 256, "res_scale": 0.1},
        scales=(2, 3, 4),
        summary="EDSR, 32 blocks x 256, residual scaling 0.1.",
        paper=PAPER,
        official={s: f"edsr-x{s}" for s in (2, 3, 4)},
        published={"paper": EDSR_TABLE_3},
    )


@register_method
class MDSRBaseline(TrainedMethod):
    """MDSR baseline: one shared 16 x 64 body with per-scale heads and tails (x2, x3, x4)."""

    arch = Architecture(
        name="mdsr_baseline",
        net=f"{NET}:MDSR",
        kwargs={"n_resblocks": 16, "n_feats": 64},
        scales=(2, 3, 4),
        summary="MDSR baseline: shared 16 x 64 body, per-scale heads and tails.",
        paper=PAPER,
        multiscale=True,
        official=dict.fromkeys((2, 3, 4), "mdsr-baseline"),
    )


@register_method
class MDSR(TrainedMethod):
    """MDSR: one shared 80 x 64 body with per-scale heads and tails (x2, x3, x4)."""

    arch = Architecture(
        name="mdsr",
        net=f"{NET}:MDSR",
        kwargs={"n_resblocks": 80, "n_feats": 64},
        scales=(2, 3, 4),
        summary="MDSR: shared 80 x 64 body, per-scale heads and tails.",
        paper=PAPER,
        multiscale=True,
        official=dict.fromkeys((2, 3, 4), "mdsr"),
    )
