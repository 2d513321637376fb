"""Public checkpoints as methods: families of released weights whose architecture spandrel
recognises (RCAN, SwinIR, HAT, DAT, Real-ESRGAN, ...), and ``model:weights=PATH`` for any file.

A family is data: the spandrel architecture its files must load as, and per tag the authors'
files (declared :class:`~srbench.weights.files.WeightFile` names, one per scale) with the paper's
values for them. The methods built from these declarations are below the declarations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from srbench.methods.papers import PaperScore

__all__ = ["Release", "ZooFamily"]


@dataclass(frozen=True)
class Release:
    """One tag of a family: the authors' file per scale (:mod:`srbench.weights` names), what the
    paper publishes for exactly these weights, and a note (training data, variant, why no table
    values: a real-world model has no bicubic-protocol table)."""

    files: Mapping[int, str]
    published: tuple[PaperScore, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ZooFamily:
    """A family of released checkpoints, listed as one method.

    Attributes:
        name: The method name (``swinir``).
        spandrel: The spandrel architecture id every file must load as (``SwinIR``).
        summary: One line for listings.
        paper: The citation (authors, title, venue, year).
        licence: The licence of the released weights (``Apache-2.0``, ...).
        releases: Tag -> :class:`Release`.
        default_tag: The authors' main release (a key of ``releases``).
    """

    name: str
    spandrel: str
    summary: str
    paper: str
    licence: str
    releases: Mapping[str, Release]
    default_tag: str

    def __post_init__(self) -> None:
        if self.default_tag not in self.releases:
            raise ValueError(f"{self.name}: default tag {self.default_tag!r} is not a release")

    @property
    def scales(self) -> tuple[int, ...]:
        """Every scale some release has."""
        return tuple(sorted({s for r in self.releases.values() for s in r.files}))
