"""DAT (Chen et al., "Dual Aggregation Transformer for Image Super-Resolution", ICCV 2023): the
released checkpoints of DAT, DAT-S, DAT-2 and DAT-light (x2, x3, x4), loaded through spandrel
(``DAT``).

The authors publish each variant's files in a Google Drive folder (README, "Models"; no hashes);
their test options (``options/Test/test_DAT*_x*.yml``) name the files and the networks. Training
keeps no EMA copy, so the files hold ``params``. The values are the paper's Table 2 (DAT, DAT-S)
and the supplementary material's Tables 1 (DAT-2) and 2 (DAT-light), as the authors' README
reproduces them (``figs/Table-*.png``), without self-ensemble.
"""

from __future__ import annotations

from srbench.methods.families.releases import by_scale, declare_release
from srbench.methods.plugins import register_method
from srbench.methods.zoo import Release, ZooFamily, ZooMethod

PAPER = "Chen et al., Dual Aggregation Transformer for Image Super-Resolution, ICCV 2023"
_DRIVE = "https://drive.google.com/drive/folders/"
TABLE2 = "Chen et al. 2023 (DAT), Table 2"
BY_HAND = "the authors share a Google Drive folder, not a file link: download the file by name."
NO_HASH = "No hash is published; download the file by name from the authors' Drive folder."


def _files(tag: str, prefix: str, folder_id: str) -> dict[int, str]:
    url = f"{_DRIVE}{folder_id}?usp=drive_link"
    files = {s: (f"{prefix}_x{s}.pth", url) for s in (2, 3, 4)}
    return declare_release("dat", tag, tag, files, by_hand=BY_HAND)


FAMILY = ZooFamily(
    name="dat",
    spandrel="DAT",
    summary="DAT: Dual Aggregation Transformer (ICCV 2023); tags dat, dat-s, dat-2, dat-light.",
    paper=PAPER,
    licence="Apache-2.0 (the authors' repository; no separate licence for the weights)",
    releases={
        "dat": Release(
            _files("dat", "DAT", "14VG5mw5ie8RrR4jjypeHynXDZYWL8w-r"),
            by_scale(
                TABLE2,
                {
                    2: [
                        (38.58, 0.9629),
                        (34.81, 0.9272),
                        (32.61, 0.9051),
                        (34.37, 0.9458),
                        (40.33, 0.9807),
                    ],
                    3: [
                        (35.16, 0.9331),
                        (31.11, 0.8550),
                        (29.55, 0.8169),
                        (30.18, 0.8886),
                        (35.59, 0.9554),
                    ],
                    4: [
                        (33.08, 0.9055),
                        (29.23, 0.7973),
                        (28.00, 0.7515),
                        (27.87, 0.8343),
                        (32.51, 0.9291),
                    ],
                },
            ),
            "DAT (6 groups x 6 blocks, 180 channels, split 8x32, expansion 4), DF2K. " + NO_HASH,
        ),
        "dat-s": Release(
            _files("dat-s", "DAT_S", "1hM0v3fUg5u6GjkI7dduxShyGgGfEwQXO"),
            by_scale(
                TABLE2,
                {
                    2: [
                        (38.54, 0.9627),
                        (34.60, 0.9258),
                        (32.57, 0.9047),
                        (34.12, 0.9444),
                        (40.17, 0.9804),
                    ],
                    3: [
                        (35.12, 0.9327),
                        (31.04, 0.8543),
                        (29.51, 0.8157),
                        (29.98, 0.8846),
                        (35.41, 0.9546),
                    ],
                    4: [
                        (33.00, 0.9047),
                        (29.20, 0.7962),
                        (27.97, 0.7502),
                        (27.68, 0.8300),
                        (32.33, 0.9278),
                    ],
                },
            ),
            "DAT-S (split 8x16, expansion 2), DF2K. " + NO_HASH,
        ),
        "dat-2": Release(
            _files("dat-2", "DAT_2", "1yV9LMhr2tYM_eHEIVY4Jw9X3bWGgorbD"),
            by_scale(
                "Chen et al. 2023 (DAT), supplementary Table 1",
                {
                    2: [
                        (38.58, 0.9627),
                        (34.78, 0.9268),
                        (32.60, 0.9050),
                        (34.31, 0.9457),
                        (40.29, 0.9806),
                    ],
                    3: [
                        (35.14, 0.9328),
                        (31.06, 0.8547),
                        (29.53, 0.8161),
                        (30.13, 0.8878),
                        (35.49, 0.9550),
                    ],
                    4: [
                        (33.01, 0.9047),
                        (29.21, 0.7965),
                        (27.98, 0.7509),
                        (27.86, 0.8341),
                        (32.41, 0.9285),
                    ],
                },
            ),
            "DAT-2 (split 8x32, expansion 2), DF2K. " + NO_HASH,
        ),
        "dat-light": Release(
            _files("dat-light", "DAT_light", "105JRMN5VJbJ7EMQJdqmhDVMAFCaKYDl8"),
            by_scale(
                "Chen et al. 2023 (DAT), supplementary Table 2",
                {
                    2: [
                        (38.24, 0.9614),
                        (34.01, 0.9214),
                        (32.34, 0.9019),
                        (32.89, 0.9346),
                        (39.49, 0.9788),
                    ],
                    3: [
                        (34.76, 0.9299),
                        (30.63, 0.8474),
                        (29.29, 0.8103),
                        (28.89, 0.8666),
                        (34.55, 0.9501),
                    ],
                    4: [
                        (32.57, 0.8991),
                        (28.87, 0.7879),
                        (27.74, 0.7428),
                        (26.64, 0.8033),
                        (31.37, 0.9178),
                    ],
                },
            ),
            "DAT-light (one group of 18 blocks, 60 channels, pixelshuffledirect), DF2K "
            "(the training option's data). " + NO_HASH,
        ),
    },
    default_tag="dat",
)


@register_method
class DAT(ZooMethod):
    """DAT: the Dual Aggregation Transformer's released checkpoints, by tag."""

    family = FAMILY
