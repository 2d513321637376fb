"""Real-ESRGAN (Wang et al., "Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure
Synthetic Data", ICCVW 2021): the RRDB generators released for real-world images, loaded through
spandrel (``ESRGAN``; the files are in BasicSR's layout under ``params_ema``).

Direct downloads from the authors' GitHub releases (``docs/model_zoo.md``); no hash is
published. They are real-world models (trained with the high-order degradation model), so no
bicubic-protocol table exists for them: scores on bicubic test sets are srbench's own. The
compact models (``realesr-general-x4v3``, ``realesr-animevideov3``) are another architecture
(spandrel ``Compact``) and are not declared here.
"""

from __future__ import annotations

from srbench.methods.families.releases import declare_release
from srbench.methods.plugins import register_method
from srbench.methods.zoo import Release, ZooFamily, ZooMethod

PAPER = (
    "Wang et al., Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure Synthetic "
    "Data, ICCVW 2021"
)
_RELEASES = "https://github.com/xinntao/Real-ESRGAN/releases/download/"
NOTE = (
    "A real-world model: the paper has no bicubic-protocol table, so none is listed. No hash "
    "is published."
)


def _file(tag: str, version: str, filename: str, scale: int) -> dict[int, str]:
    url = f"{_RELEASES}{version}/{filename}"
    return declare_release("realesrgan", tag, f"realesrgan-{tag}", {scale: (filename, url)})


FAMILY = ZooFamily(
    name="realesrgan",
    spandrel="ESRGAN",
    summary="Real-ESRGAN: real-world blind SR with RRDB generators (ICCVW 2021); tags x4plus, "
    "x2plus, anime.",
    paper=PAPER,
    licence="BSD-3-Clause (the authors' repository; no separate licence for the weights)",
    releases={
        "x4plus": Release(
            _file("x4plus", "v0.1.0", "RealESRGAN_x4plus.pth", 4),
            (),
            "RealESRGAN_x4plus: 23 RRDBs, x4, general images. " + NOTE,
        ),
        "x2plus": Release(
            _file("x2plus", "v0.2.1", "RealESRGAN_x2plus.pth", 2),
            (),
            "RealESRGAN_x2plus: 23 RRDBs, x2 (pixel-unshuffled input), general images. " + NOTE,
        ),
        "anime": Release(
            _file("anime", "v0.2.2.4", "RealESRGAN_x4plus_anime_6B.pth", 4),
            (),
            "RealESRGAN_x4plus_anime_6B: 6 RRDBs, x4, anime images and illustrations. " + NOTE,
        ),
    },
    default_tag="x4plus",
)


@register_method
class RealESRGAN(ZooMethod):
    """Real-ESRGAN: the released real-world RRDB generators, by tag."""

    family = FAMILY
