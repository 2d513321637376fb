"""The numbers a method's paper publishes, so srbench can say whether it reproduces them.

A card's ``published`` holds :class:`PaperScore` rows: one (dataset, scale) of one table of the
paper, under the bicubic (BI) protocol of docs/protocol.md (Y channel, ``shave = scale``), which
is the protocol of every table srbench cites. Datasets are catalog ids (``Set5``, ``Set14``,
``BSD100``, ``Urban100``, ``Manga109``), so a row meets srbench's own results by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["PAPER_DATASETS", "PaperScore", "paper_table"]

#: The test sets papers report, as catalog ids.
PAPER_DATASETS = ("Set5", "Set14", "BSD100", "Urban100", "Manga109")


@dataclass(frozen=True)
class PaperScore:
    """One published value: ``psnr`` (dB) and ``ssim`` (``None`` where the table gives none)
    of the method on ``dataset`` at ``scale``, cited to ``source`` (paper and table)."""

    dataset: str
    scale: int
    psnr: float
    ssim: float | None
    source: str

    def __post_init__(self) -> None:
        if self.dataset not in PAPER_DATASETS:
            raise ValueError(f"{self.dataset!r} is not one of {PAPER_DATASETS}")
        if not 10.0 < self.psnr < 60.0 or not (self.ssim is None or 0.0 < self.ssim <= 1.0):
            raise ValueError(f"implausible published value {self.psnr} dB / {self.ssim} SSIM")


def paper_table(
    source: str, rows: Mapping[tuple[str, int], tuple[float, float | None]]
) -> tuple[PaperScore, ...]:
    """The rows of one table: ``{(dataset, scale): (psnr, ssim)}`` cited to ``source``.

    Example:
        >>> paper_table("Lim et al. 2017, Table 3", {("Set5", 4): (32.46, 0.8968)})[0].psnr
        32.46
    """
    return tuple(PaperScore(d, s, p, q, source) for (d, s), (p, q) in rows.items())
