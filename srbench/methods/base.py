"""The method plug-in interface: what a super-resolution method gives srbench.

A method is a subclass of :class:`SRMethod` with a :class:`MethodCard` (metadata that listings
read without instantiating it, so no weights are loaded) and an ``upscale`` function on ``uint8``
RGB arrays. Options come from the method spec (``name:key=value,...``) and are the keyword
arguments of ``__init__``, typed by its annotations.
"""

from __future__ import annotations

import abc
import hashlib
import itertools
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
        stochastic: It draws one of many plausible outputs per seed (an SR-VAE): the runner
            calls :meth:`SRMethod.upscale_sample` once per requested sample.
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
    stochastic: bool = False

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
    #: Which draw of a stochastic method this is (0 for a deterministic one).
    sample: int = 0
    #: The seed of that draw, a function of the run's seed, the image and ``sample``.
    sample_seed: int = 0


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
    #: True for a method that upscales ``uint8`` images with ``imresize`` on purpose (the
    #: interpolation baselines, MATLAB's ``imresize(uint8)``); for any other method the runner
    #: warns when it does (:func:`srbench.resize.warn_uint8_upscales`).
    uint8_imresize: ClassVar[bool] = False
    #: True for a method whose calls on different images may run at the same time in threads
    #: of one process: a call changes no state of the instance that another call reads, and its
    #: heavy work releases the GIL (numpy, OpenCV, SciPy's sparse products). The runner then
    #: spreads its calls over the ``--workers`` threads, so a CPU method uses every core; other
    #: methods (torch networks, which thread inside each call; GPU methods, one stream) are
    #: called one image at a time.
    thread_safe: ClassVar[bool] = False
    #: The spec :func:`srbench.methods.create_method` made this instance from; the runner
    #: creates fresh instances from it (in a worker process, or after a call that timed out).
    created_from: str | None = None
    #: The scales :meth:`prepare` was called with (by :func:`srbench.methods.prepare_method`);
    #: a fresh instance of the method is prepared with the same ones.
    prepared_scales: tuple[int, ...] = ()
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

    def prepare(self, scales: tuple[int, ...]) -> None:
        """Get ready to upscale by each of ``scales``; by default nothing.

        srbench calls it once per instance, before it reads any image, with the scales of the
        run this method supports (``srbench run``, ``srbench upscale``, each ``--isolate``
        worker, an instance created afresh after a timeout). Load per-scale weights here (a
        ``weights=dir/x{scale}.pth`` option), not in ``upscale``: a missing or broken file then
        stops the command once, before any work, with exit status 2 and the error's message, so
        make it name the file (``FileNotFoundError`` does).
        """
        return  # optional hook: most methods need nothing per scale

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

    def upscale_sample(self, lr: np.ndarray, scale: int, seed: int) -> np.ndarray:
        """One draw of a stochastic method (``card.stochastic``): the same ``(lr, scale, seed)``
        must give the same image, other seeds other plausible images."""
        raise NotImplementedError(f"{self.card.name} is not stochastic (card.stochastic)")

    def super_resolve(self, lr: np.ndarray, context: ImageContext, tiling: Tiling) -> np.ndarray:
        """The runner's entry point: tiles and batches ``lr`` as ``tiling`` says (a stochastic
        method draws with ``context.sample_seed``)."""
        if self.card.stochastic:
            tiles = itertools.count()

            def run(batch: np.ndarray) -> np.ndarray:
                # each tile its own draw (the same seed would repeat one noise field per tile);
                # an untiled image is tile 0 and draws with the sample seed itself
                return np.stack(
                    [
                        self.upscale_sample(x, context.scale, tile_seed(context.sample_seed, i))
                        for x, i in zip(batch, tiles, strict=False)  # tiles: endless
                    ]
                )
        else:

            def run(batch: np.ndarray) -> np.ndarray:
                return self.upscale_batch(batch, context.scale)

        return tiled_upscale(run, lr, context.scale, tiling)


def tile_seed(seed: int, tile: int) -> int:
    """The seed of tile number ``tile`` of a draw seeded ``seed`` (``seed`` itself for tile 0).

    Example:
        >>> tile_seed(7, 0), tile_seed(7, 1) != tile_seed(7, 2)
        (7, True)
    """
    if tile == 0:
        return seed
    digest = hashlib.sha256(f"{seed}:{tile}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def _tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Starts of tiles that overlap by ``overlap``; the last one ends at the image's edge."""
    starts = list(range(0, max(size - tile, 0), max(tile - overlap, 1)))
    return [*starts, max(size - tile, 0)]


def _blend_weights(
    size: int, tile: int, starts: list[int], overlap: int, scale: int
) -> list[np.ndarray]:
    """Each tile's weights along one axis, per output pixel, normalised to sum to one.

    A tile's weight is 0 up to ``3/8 * overlap`` LR pixels from a cut edge (not from the
    image's own border), rises linearly to 1 at ``5/8 * overlap``, and is 1 beyond: neighbouring
    tiles cross-fade over the middle quarter of their overlap, and no output pixel takes anything
    from a tile in which it lies within ``3/8 * overlap`` of a cut.
    """
    centres = (np.arange(tile * scale) + 0.5) / scale  # LR distance from the tile's first edge
    ramps, total = [], np.zeros(size * scale)
    for start in starts:
        cut = np.full(tile * scale, np.inf)
        if start > 0:
            cut = np.minimum(cut, centres)
        if start + tile < size:
            cut = np.minimum(cut, tile - centres)
        ramp = np.clip((cut - 3 * overlap / 8) / (overlap / 4), 0.0, 1.0) if overlap else cut > 0
        ramps.append(ramp.astype(np.float64))
        total[start * scale : (start + tile) * scale] += ramps[-1]
    # Tiles overlap by at least `overlap`, so every pixel lies at least overlap / 2 from the cuts
    # of one of its tiles, where that tile's weight is 1: no total is zero.
    return [r / total[s * scale : (s + tile) * scale] for s, r in zip(starts, ramps, strict=True)]


def tiled_upscale(
    fn: Callable[[np.ndarray], np.ndarray], lr: np.ndarray, scale: int, tiling: Tiling
) -> np.ndarray:
    """Apply a batch upscaler to overlapping tiles of ``lr`` and blend them over the overlaps.

    Tiles are ``tiling.tile`` LR pixels a side and start ``tile - overlap`` apart (the last row
    and column of tiles are aligned to the image's edge), all of the same size, so they batch.
    Every tile contributes its whole output; where tiles overlap, the outputs are cross-faded
    with linear ramps (:func:`_blend_weights`, vectorised per tile), so there are no seams and
    each LR pixel is computed about ``(tile / (tile - overlap))**2`` times (1.44 at ``--tile
    48``, the default overlap 8), not ``(tile / (tile - 2 * overlap))**2`` (2.25) as when only
    tile centres were kept.

    Agreement with the untiled output: a pixel takes nothing from a tile in which it lies within
    ``3/8 * overlap`` LR pixels of a cut, so a method whose receptive field reaches less far (a
    per-pixel method; bicubic, 2 px, from ``--tile-overlap 4``; a net of three 3x3 convolutions
    at the default 8) gives the untiled values, up to float rounding in the blend (exactly after
    quantisation to ``uint8``). A deeper network differs near the cuts, by less the wider the
    overlap; the cross-fade keeps those differences free of seams.

    The result is float (at least ``float32``; ``uint8`` tile outputs are blended as floats
    and quantised by the runner as every float output is).
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
    ys, xs = _tile_starts(h, th, tiling.overlap), _tile_starts(w, tw, tiling.overlap)
    wy = _blend_weights(h, th, ys, tiling.overlap, scale)
    wx = _blend_weights(w, tw, xs, tiling.overlap, scale)
    boxes = [(i, j) for i in range(len(ys)) for j in range(len(xs))]
    per_call = max(tiling.batch_size, 1)
    out: np.ndarray | None = None
    for first in range(0, len(boxes), per_call):
        chunk = boxes[first : first + per_call]
        batch = np.stack([lr[ys[i] : ys[i] + th, xs[j] : xs[j] + tw] for i, j in chunk])
        batch.flags.writeable = False  # read-only like whole images (the plug-in contract)
        results = np.asarray(fn(batch))
        if results.shape[:3] != (len(chunk), th * scale, tw * scale):
            raise MethodOutputError(
                f"upscale_batch returned shape {results.shape} for {len(chunk)} tile(s) of "
                f"{th}x{tw} at x{scale}; expected ({len(chunk)}, {th * scale}, {tw * scale}, 3)."
            )
        if out is None:
            dtype = np.result_type(results.dtype, np.float32)
            out = np.zeros((h * scale, w * scale, *results.shape[3:]), dtype)
        for (i, j), sr in zip(chunk, results, strict=True):
            weight = np.multiply.outer(wy[i], wx[j]).astype(out.dtype)
            y0, x0 = ys[i] * scale, xs[j] * scale
            region = out[y0 : y0 + th * scale, x0 : x0 + tw * scale]
            region += sr * (weight[..., None] if sr.ndim == 3 else weight)
    assert out is not None
    return out
