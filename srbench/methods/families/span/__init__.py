"""SPAN (Wan et al., "Swift Parameter-free Attention Network for Efficient Super-Resolution",
CVPRW 2024; NTIRE 2024 efficient SR challenge winner): the released checkpoints, loaded through
spandrel (``SPAN``).

The authors publish all checkpoints (with their results) as one archive on Google Drive
(README, "Installation"; no hashes); ``srbench weights --fetch`` takes each file out of it.
Their repository names neither the files in the archive nor the variants' settings: the names
here (``spanx<s>_ch<c>.pth``: x2/x4, 48 or 52 feature channels) are those its users report it
holds, not verified against the archive (a wrong name fails the fetch, naming what the archive
holds). No table of the paper could be read here, so no published values are listed.
"""

from __future__ import annotations

from srbench.methods.families.releases import declare_release
from srbench.methods.plugins import register_method
from srbench.methods.zoo import Release, ZooFamily, ZooMethod

PAPER = (
    "Wan et al., Swift Parameter-free Attention Network for Efficient Super-Resolution, CVPRW 2024"
)
#: The authors' archive (README: drive.google.com/file/d/<id>/view), as a direct download.
ARCHIVE = "https://drive.google.com/uc?export=download&id=1iYUA2TzKuxI0vzmA-UXr_nB43XgPOXUg"
NOTE = (
    "Published inside the authors' archive on Google Drive, which `srbench weights --fetch` "
    "downloads once and takes the file out of; no hash is published (the file is pinned on "
    "first use). The paper's values for these weights were not verified, so none are listed."
)


def _files(channels: int) -> dict[int, str]:
    tag = f"ch{channels}"
    files = {s: (f"spanx{s}_ch{channels}.pth", ARCHIVE) for s in (2, 4)}
    members = {s: filename for s, (filename, _) in files.items()}
    return declare_release("span", tag, f"span-{tag}", files, members)


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
