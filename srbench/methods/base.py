"""The method plug-in interface: what a super-resolution method gives srbench.

A method is a subclass of :class:`SRMethod` with a :class:`MethodCard` (metadata that listings
read without instantiating it, so no weights are loaded) and an ``upscale`` function on ``uint8``
RGB arrays. Options come from the method spec (``name:key=value,...``) and are the keyword
arguments of ``__init__``, typed by its annotations.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from srbench.errors import MethodOutputError
from srbench.methods.papers import PaperScore

__all__ = ["ImageContext", "MethodCard", "SRMethod", "Tiling", "tiled_upscale"]


@dataclass(frozen=True)
class MethodCard:
    """What srbench shows and records about a method.

    Attributes:
        name: Registry name (lower case); the default label of its results.
        summary: One line for listings.
        scales: Supported integer scales; ``None`` means any.
        params: Number of learned parameters (``0`` for interpolators, ``None`` if unknown).
        paper: Citation or URL.
        version: Bumped whenever the method's output for the same input changes.
        timed: Whether the runner records its per-image ``runtime`` (not for precomputed images).
        uses_device: Whether it can run on an accelerator (then ``--device auto`` asks torch).
        published: What the method's paper reports for these weights under the bicubic
            protocol (:mod:`srbench.methods.papers`); ``()`` when nothing is cited.
    """

    name: str
    summary: str = ""
    scales: tuple[int, ...] | None = None
    params: int | None = None
    paper: str = ""
    version: str = "1"
    timed: bool = True
    uses_device: bool = True
    published: tuple[PaperScore, ...] = ()

    def supports(self, scale: int) -> bool:
        """Whether the method can upscale by ``scale``."""
        return self.scales is None or scale in self.scales


@dataclass(frozen=True)
class ImageContext:
    """Which image of the grid a method is asked to super-resolve."""

    dataset: str
    image_id: str
    scale: int
    degradation: str


@dataclass(frozen=True)
class Tiling:
    """How the runner feeds large images: LR tiles of ``tile`` pixels (0: whole image),
    overlapping by ``overlap`` pixels, ``batch_size`` tiles per ``upscale_batch`` call."""

    tile: int = 0
    overlap: int = 8
    batch_size: int = 4


class SRMethod(abc.ABC):
    """A single-image super-resolution method.

    Contract: ``upscale`` takes an RGB ``uint8`` array ``(h, w, 3)`` and returns ``(h*scale,
    w*scale, 3)``, either ``uint8`` or float on the 0..255 scale (the runner rounds and clamps
    to ``uint8``, as saving a PNG would). A method that batches or runs on a GPU overrides
    ``upscale_batch`` instead, which the runner calls with equally sized tiles.

    The input is **read-only**: every call gets its own copy with ``flags.writeable = False``,
    so writing into it raises (``ValueError: assignment destination is read-only``) and fails
    that image only; copy it first (``lr = lr.copy()``) to modify it. A float output whose
    maximum is at most 1.0 looks like a [0, 1] image: the runner warns once per method and
    scores it as given.
    """

    card: ClassVar[MethodCard]
    #: The spec :func:`srbench.methods.create_method` made this instance from; the runner
    #: creates fresh instances from it (in a worker process, or after a call that timed out).
    created_from: str | None = None
    #: The label the instance's results get when its spec gives no ``label=`` (``None``: the
    #: spec itself); ``model:weights=PATH`` names its results by the file (``<arch>-<sha8>``).
    default_label: str | None = None

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    @classmethod
    def unavailable(cls) -> str | None:
        """Why the method cannot run here (no weights...), checked cheaply before creating it;
        ``--methods all`` skips it with this line. ``None`` when it can run."""
        return None

    @classmethod
    def weights_summary(cls) -> str:
        """The weights this method has here, for listings: ``-`` for a method without any,
        ``paper: x4; trained: x2`` for a trained one, ``none (not runnable)`` when it has none."""
        return "-"

    def version_at(self, scale: int) -> str:
        """The version stored with each row at ``scale`` (methods with weights add theirs)."""
        return self.card.version

    def provenance(self) -> dict[str, object]:
        """Extra facts for the run manifest (the weights a trained method uses)."""
        return {}

    @abc.abstractmethod
    def upscale(self, lr: np.ndarray, scale: int) -> np.ndarray:
        """Upscale one RGB ``uint8`` image by ``scale``."""

    def upscale_batch(self, lrs: np.ndarray, scale: int) -> np.ndarray:
        """Upscale ``(n, h, w, 3)`` images; by default one at a time."""
        return np.stack([self.upscale(lr, scale) for lr in lrs])

    def super_resolve(self, lr: np.ndarray, context: ImageContext, tiling: Tiling) -> np.ndarray:
        """The runner's entry point: tiles and batches ``lr`` as ``tiling`` says."""
        return tiled_upscale(
            lambda batch: self.upscale_batch(batch, context.scale), lr, context.scale, tiling
        )


def _tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    step = tile - 2 * overlap
    starts = list(range(0, max(size - tile, 0), step))
    return [*starts, max(size - tile, 0)]


def _core(start: int, tile: int, size: int, overlap: int) -> tuple[int, int]:
    """The part of a tile that is far enough from its cut edges to be exact."""
    lo = start + overlap if start > 0 else 0
    hi = start + tile - overlap if start + tile < size else size
    return lo, hi


def tiled_upscale(
    fn: Callable[[np.ndarray], np.ndarray], lr: np.ndarray, scale: int, tiling: Tiling
) -> np.ndarray:
    """Apply a batch upscaler to overlapping tiles of ``lr`` and stitch their cores.

    Every tile has the same size (the last row and column of tiles are aligned to the image's
    edge), so tiles batch. Each output pixel comes from a tile in which it lies at least
    ``overlap`` LR pixels from a cut edge; a method whose receptive field is narrower than that
    gives the same result as on the whole image.
    """
    h, w = lr.shape[:2]
    if tiling.tile <= 0 or (h <= tiling.tile and w <= tiling.tile):
        return fn(lr[None])[0]
    if tiling.tile <= 2 * tiling.overlap:
        raise ValueError(
            f"tile size {tiling.tile} must exceed twice the overlap ({tiling.overlap}); "
            "use a larger --tile or a smaller --tile-overlap."
        )
    th, tw = min(tiling.tile, h), min(tiling.tile, w)
    boxes = [
        (y, x)
        for y in _tile_starts(h, th, tiling.overlap)
        for x in _tile_starts(w, tw, tiling.overlap)
    ]
    out: np.ndarray | None = None
    for i in range(0, len(boxes), max(tiling.batch_size, 1)):
        chunk = boxes[i : i + max(tiling.batch_size, 1)]
        batch = np.stack([lr[y : y + th, x : x + tw] for y, x in chunk])
        batch.flags.writeable = False  # read-only like whole images (the plug-in contract)
        results = np.asarray(fn(batch))
        if results.shape[:3] != (len(chunk), th * scale, tw * scale):
            raise MethodOutputError(
                f"upscale_batch returned shape {results.shape} for {len(chunk)} tile(s) of "
                f"{th}x{tw} at x{scale}; expected ({len(chunk)}, {th * scale}, {tw * scale}, 3)."
            )
        if out is None:
            out = np.empty((h * scale, w * scale, *results.shape[3:]), results.dtype)
        for (y, x), sr in zip(chunk, results, strict=True):
            (y0, y1), (x0, x1) = _core(y, th, h, tiling.overlap), _core(x, tw, w, tiling.overlap)
            out[y0 * scale : y1 * scale, x0 * scale : x1 * scale] = sr[
                (y0 - y) * scale : (y1 - y) * scale, (x0 - x) * scale : (x1 - x) * scale
            ]
    assert out is not None
    return out
