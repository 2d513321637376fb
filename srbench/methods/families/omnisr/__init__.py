"""Omni-SR (Wang et al., "Omni Aggregation Networks for Lightweight Image Super-Resolution",
CVPR 2023): the released lightweight checkpoints (x2, x3, x4; trained on DIV2K or on DF2K),
loaded through spandrel (``OmniSR``).

The authors publish each checkpoint as a zip on Google Drive (README, "Preparation"; no hashes)
holding their training folder; the checkpoint in it (``.../checkpoints/epoch<N>_OmniSR.pth``, a
plain state dict; ``N`` is 994 for x4 DF2K per the README's test command, not stated for the
others) is what srbench loads, under the zip's name with ``.pth``. The values are the paper's
lightweight-SR table, as the authors' ``result.tex`` gives it (Omni-SR: DIV2K; Omni-SR-dagger:
DF2K).
"""

from __future__ import annotations

from srbench.methods.families.releases import by_scale, declare_release
from srbench.methods.plugins import register_method
from srbench.methods.zoo import Release, ZooFamily, ZooMethod

PAPER = "Wang et al., Omni Aggregation Networks for Lightweight Image Super-Resolution, CVPR 2023"
TABLE = "Wang et al. 2023 (Omni-SR), lightweight SR table (authors' result.tex)"
ARCHIVE = (
    "Published as OmniSR_X<s>_{data}.zip (Google Drive; no hash published): extract the "
    "checkpoint inside (train_logs/.../checkpoints/epoch<N>_OmniSR.pth) to the declared file "
    "name; srbench cannot fetch it from the archive itself."
)
# scale -> (Drive file id of the DIV2K zip, of the DF2K zip), from the authors' README
_DRIVE_IDS = {
    2: ("18lSvJq9CGCwDomkas2gh8K6UOq8qRLIw", "12EvHRof0-kA2Wt_BzfFJBK1J0jbzfz-4"),
    3: ("1Rwg6o-RGC-TEiyVSVT9FS1iHjx5n948h", "198R2c3nlyhL4FxMJSC_gccyL3O1gH_K6"),
    4: ("1VoPUw0SRnCPAU8_R5Ue15bn2gwSBr97g", "17rJXJHBYt4Su8cMDMh-NOWMBdE6ki5em"),
}


def _files(data: str) -> dict[int, str]:
    column = ("DIV2K", "DF2K").index(data)
    files = {
        s: (
            f"OmniSR_X{s}_{data}.pth",
            f"https://drive.google.com/file/d/{ids[column]}/view?usp=sharing",
        )
        for s, ids in _DRIVE_IDS.items()
    }
    tag = data.lower()
    return declare_release("omnisr", tag, f"omnisr-{tag}", files, by_hand=ARCHIVE)


FAMILY = ZooFamily(
    name="omnisr",
    spandrel="OmniSR",
    summary="Omni-SR: Omni Aggregation Network, lightweight (CVPR 2023); tags df2k, div2k.",
    paper=PAPER,
    licence="Apache-2.0 (stated in the authors' README; no separate licence for the weights)",
    releases={
        "df2k": Release(
            _files("DF2K"),
            by_scale(
                TABLE,
                {
                    2: [
                        (38.29, 0.9617),
                        (34.27, 0.9238),
                        (32.41, 0.9026),
                        (33.30, 0.9386),
                        (39.53, 0.9792),
                    ],
                    3: [
                        (34.77, 0.9304),
                        (30.70, 0.8489),
                        (29.33, 0.8111),
                        (29.12, 0.8712),
                        (34.64, 0.9507),
                    ],
                    4: [
                        (32.57, 0.8993),
                        (28.95, 0.7898),
                        (27.81, 0.7439),
                        (26.95, 0.8105),
                        (31.50, 0.9192),
                    ],
                },
            ),
            "Omni-SR (64 channels, 5 OSAGs, window 8) trained on DF2K (the table's dagger rows). "
            + ARCHIVE.format(data="DF2K"),
        ),
        "div2k": Release(
            _files("DIV2K"),
            by_scale(
                TABLE,
                {
                    2: [
                        (38.22, 0.9613),
                        (33.98, 0.9210),
                        (32.36, 0.9020),
                        (33.05, 0.9363),
                        (39.28, 0.9784),
                    ],
                    3: [
                        (34.70, 0.9294),
                        (30.57, 0.8469),
                        (29.28, 0.8094),
                        (28.84, 0.8656),
                        (34.22, 0.9487),
                    ],
                    4: [
                        (32.49, 0.8988),
                        (28.78, 0.7859),
                        (27.71, 0.7415),
                        (26.64, 0.8018),
                        (31.02, 0.9151),
                    ],
                },
            ),
            "Omni-SR trained on DIV2K. " + ARCHIVE.format(data="DIV2K"),
        ),
    },
    default_tag="df2k",
)


@register_method
class OmniSR(ZooMethod):
    """Omni-SR: the released lightweight checkpoints, by tag."""

    family = FAMILY
