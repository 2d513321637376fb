"""SPAN (Wan et al., "Swift Parameter-free Attention Network for Efficient Super-Resolution",
CVPRW 2024; NTIRE 2024 efficient SR challenge winner): the released checkpoints, loaded through
spandrel (``SPAN``).

The authors publish all checkpoints (with their results) as one Google Drive file (README,
"Installation"; no hashes). Their repository names neither the files in it nor the variants'
settings; the names here (``spanx<s>_ch<c>.pth``: scale x2/x4, 48 or 52 feature channels) are
those the archive is reported to hold by its users, not verified against the archive. No table
of the paper could be read here, so no published values are listed.
"""

from __future__ import annotations

from srbench.methods.families.releases import declare_release
from srbench.methods.plugins import register_method
from srbench.methods.zoo import Release, ZooFamily, ZooMethod

PAPER = (
    "Wan et al., Swift Parameter-free Attention Network for Efficient Super-Resolution, CVPRW 2024"
)
ARCHIVE = "https://drive.google.com/file/d/1iYUA2TzKuxI0vzmA-UXr_nB43XgPOXUg/view?usp=sharing"
NOTE = (
    "Published inside the authors' archive (Google Drive, no hash published): extract the file "
    "to the torch hub cache; srbench cannot fetch it from the archive itself. The paper's "
    "values for these weights were not verified, so none are listed."
)


def _files(channels: int) -> dict[int, str]:
    tag = f"ch{channels}"
    files = {s: (f"spanx{s}_ch{channels}.pth", ARCHIVE) for s in (2, 4)}
    return declare_release("span", tag, f"span-{tag}", files)


FAMILY = ZooFamily(
    name="span",
    spandrel="SPAN",
    summary="SPAN: Swift Parameter-free Attention Network, efficient SR (CVPRW 2024, NTIRE 2024 "
    "ESR winner); tags ch48, ch52.",
    paper=PAPER,
    licence="Apache-2.0 (the authors' repository; no separate licence for the weights)",
    releases={
        "ch48": Release(_files(48), (), "SPAN with 48 feature channels, x2 and x4. " + NOTE),
        "ch52": Release(_files(52), (), "SPAN with 52 feature channels, x2 and x4. " + NOTE),
    },
    default_tag="ch48",
)


@register_method
class SPAN(ZooMethod):
    """SPAN: the released efficient-SR checkpoints, by tag."""

    family = FAMILY
