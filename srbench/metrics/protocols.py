"""Evaluation protocols: which pixels of an SR/HR pair a metric sees.

``y`` (the default) is the MATLAB pipeline of the EDSR/RCAN papers (docs/protocol.md): SR quantised
to uint8, Y of ``rgb2ycbcr`` in float32 unrounded for RGB images, gray images scored on their
gray values (an RGB SR of a gray HR reduced with ``rgb2gray``), ``scale`` pixels shaved from
every border. ``rgb`` is the BasicSR/mmagic model-zoo convention: all three channels (a gray image
replicated), same shave; SSIM is the mean over channels.

:meth:`Protocol.score` scores a pair; :meth:`Protocol.reference` prepares an HR image once for
all the SR images scored against it (:class:`Reference`: its float32 Y or ``uint8`` pixels and
its filtered SSIM mean are computed once, not per method). srbench's PSNR and SSIM are computed
in blocks of about :data:`BLOCK_VALUES` values per row block, so that float64 temporaries stay in
cache, with sums in the order of the whole array's (:class:`~srbench.metrics.fidelity.ExactSum`):
the values are those of :func:`~srbench.metrics.fidelity.psnr` and
:func:`~srbench.metrics.fidelity.ssim` on the whole float64 arrays :meth:`Protocol.prepare`
gives, bit for bit. Images whose scored area is above :data:`WHOLE_PIXELS` are scored in row
strips of about :data:`~srbench.resize.STRIP_BYTES` (each strip's sums added in turn, which can
move the last bits of the means), and keep nothing of the HR image but its ``uint8`` pixels, so
that scoring a 6000x6000 image needs tens of MB, not GBs.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from srbench.color import luma
from srbench.errors import SizeMismatchError, SrbenchError, UnsupportedImageError
from srbench.imageio import modcrop, rgb2gray, rgb2y, to_rgb
from srbench.metrics.fidelity import (
    BLOCK_METRICS,
    DATA_RANGE,
    SSIM_OVERLAP,
    ExactSum,
    check_ssim_size,
    filter_rows,
    psnr_of_mse,
    ssim_map,
)
from srbench.registry import Registry
from srbench.resize import STRIP_BYTES

__all__ = ["BLOCK_VALUES", "PROTOCOLS", "WHOLE_PIXELS", "Protocol", "Reference", "get_protocol"]

#: Scored areas up to this many pixels are summed as whole arrays are (2048x2048 covers every
#: standard set), their HR side kept by :class:`Reference`; larger ones in strips.
WHOLE_PIXELS = 2048 * 2048
#: Bytes of float64 temporaries per scored pixel and channel while scoring a strip (conversion,
#: then SSIM's filtered planes), to size strips.
_BYTES_PER_VALUE = 96
#: Values per channel in one block of rows: its float64 planes stay in the CPU's caches.
BLOCK_VALUES = 1 << 18


@dataclass(frozen=True)
class Protocol:
    """A named way of turning an (SR, HR) ``uint8`` pair into the arrays metrics compare.

    Attributes:
        name: ``"y"`` or ``"rgb"``.
        channels: ``"y"`` (luma / gray) or ``"rgb"``.
        shave: Pixels removed from every border; ``None`` means ``scale``.
        version: Bumped whenever prepared arrays change for the same input.
    """

    name: str
    channels: Literal["y", "rgb"]
    shave: int | None = None
    version: str = "1"

    def with_shave(self, shave: int | None) -> Protocol:
        """The same protocol with another shave (``None`` restores ``shave = scale``)."""
        if shave is not None and shave < 0:
            raise SrbenchError(f"--shave must be >= 0, got {shave}.")
        return dataclasses.replace(self, shave=shave)

    def shave_for(self, scale: int) -> int:
        """Pixels shaved at this scale."""
        return scale if self.shave is None else self.shave

    def key(self, scale: int) -> str:
        """The protocol as recorded with results, for example ``y-shave4``."""
        return f"{self.name}-shave{self.shave_for(scale)}"

    def prepare(self, sr: np.ndarray, hr: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
        """Float64 ``(H, W, C)`` arrays of the SR and modcropped HR pixels that are scored."""
        return self._convert(*self._shaved(sr, hr, scale))

    def score(
        self,
        sr: np.ndarray,
        hr: np.ndarray,
        scale: int,
        computes: Mapping[str, Callable[[np.ndarray, np.ndarray], float]],
    ) -> dict[str, float]:
        """Each metric's ``compute`` on the pixels :meth:`prepare` gives, in bounded memory
        (:meth:`Reference.score`; nothing of ``hr`` is kept)."""
        return Reference(self, hr, scale, keep=False).score(sr, computes)

    def reference(self, hr: np.ndarray, scale: int) -> Reference:
        """``hr`` prepared once for scoring several SR images against it at ``scale``."""
        return Reference(self, hr, scale)

    def _shaved(self, sr: np.ndarray, hr: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
        """The scored ``uint8`` region of SR and of the modcropped HR (views, no copies)."""
        check_image(sr, "SR")
        check_image(hr, "HR")
        hr = modcrop(hr, scale)
        check_sizes(sr, hr, scale)
        s = self.shave_for(scale)
        if min(sr.shape[:2]) <= 2 * s:
            raise SizeMismatchError(_shaved_away(sr.shape, s, scale))
        # Every conversion is per pixel, so shaving first only saves work.
        crop = (slice(s, sr.shape[0] - s), slice(s, sr.shape[1] - s))
        return sr[crop], hr[crop]

    def _convert(self, sr: np.ndarray, hr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Float64 ``(H, W, C)`` arrays of the pixels the protocol scores (Y, gray or RGB)."""
        a, b = _luma_pair(sr, hr) if self.channels == "y" else (to_rgb(sr), to_rgb(hr))
        return np.atleast_3d(a.astype(np.float64)), np.atleast_3d(b.astype(np.float64))

    def rgb_key(self, scale: int) -> str:
        """The protocol recorded with RGB-input metrics (LPIPS, FID): ``rgb-shave4``."""
        return f"rgb-shave{self.shave_for(scale)}"

    def rgb(self, image: np.ndarray, scale: int) -> np.ndarray:
        """The shaved ``uint8`` RGB pixels of an image of the modcropped HR's size: what
        RGB-input metrics see (a gray image is replicated to three channels)."""
        s = self.shave_for(scale)
        if min(image.shape[:2]) <= 2 * s:
            raise SizeMismatchError(_shaved_away(image.shape, s, scale))
        return to_rgb(image[s : image.shape[0] - s, s : image.shape[1] - s])

    def prepare_rgb(
        self, sr: np.ndarray, hr: np.ndarray, scale: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The shaved ``uint8`` RGB pair of an SR image and its (un-cropped) HR image."""
        check_image(sr, "SR")
        check_image(hr, "HR")
        hr = modcrop(hr, scale)
        check_sizes(sr, hr, scale)
        return self.rgb(sr, scale), self.rgb(hr, scale)


class Reference:
    """An HR image prepared for scoring SR images against it, for one protocol and scale.

    Made by :meth:`Protocol.reference`. What depends on the HR image alone is computed at the
    first score that needs it and kept while this object lives (an image's methods are scored
    against one object, then it is dropped): the scored pixels (float32 Y of an RGB image on
    the ``y`` protocol; ``uint8`` values otherwise) and, for SSIM, their filtered means, one
    float64 plane per channel. A scored area above :data:`WHOLE_PIXELS`, or ``keep=False``
    (one score: :meth:`Protocol.score`), keeps nothing: the HR rows are converted block by
    block at every score, strip by strip above :data:`WHOLE_PIXELS`, in bounded memory.
    Threads may share an object: the kept arrays are built once, under a lock, and never
    written again.
    """

    def __init__(self, protocol: Protocol, hr: np.ndarray, scale: int, keep: bool = True) -> None:
        self.protocol, self.hr, self.scale, self.keep = protocol, hr, scale, keep
        self._lock = threading.Lock()
        self._pixels: np.ndarray | None = None
        self._means: list[np.ndarray] | None = None

    def score(
        self, sr: np.ndarray, computes: Mapping[str, Callable[[np.ndarray, np.ndarray], float]]
    ) -> dict[str, float]:
        """Each metric's ``compute`` on the pixels :meth:`Protocol.prepare` gives.

        srbench's PSNR and SSIM are computed in row blocks (the whole arrays' values, bit for
        bit; see the module docstring); any other compute function gets the whole arrays.
        """
        sr, hr = self.protocol._shaved(sr, self.hr, self.scale)
        kinds = tuple(BLOCK_METRICS.get(fn, "") for fn in computes.values())
        if not all(kinds):
            a, b = self.protocol._convert(sr, hr)
            return {name: fn(a, b) for name, fn in computes.items()}
        if "ssim" in kinds:
            check_ssim_size(sr.shape)
        values = self._block_scores(sr, hr, frozenset(kinds))
        return {name: values[kind] for name, kind in zip(computes, kinds, strict=True)}

    def rgb_pair(self, sr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The shaved ``uint8`` RGB pair RGB-input metrics see (:meth:`Protocol.prepare_rgb`);
        a kept reference gives a copy of the HR side, so a metric that writes into it harms no
        other score."""
        sr_rgb, hr_rgb = self.protocol.prepare_rgb(sr, self.hr, self.scale)
        return sr_rgb, (np.array(hr_rgb) if self.keep else hr_rgb)

    def _mode(self, sr: np.ndarray, hr: np.ndarray) -> str:
        """``luma`` (Y of RGB), ``gray`` (gray values) or ``rgb`` (three channels)."""
        if self.protocol.channels == "rgb":
            return "rgb"
        if hr.ndim == 2:
            return "gray"
        if sr.ndim == 2:
            raise UnsupportedImageError(_GRAY_SR)
        return "luma"

    def _block_scores(
        self, sr: np.ndarray, hr: np.ndarray, kinds: frozenset[str]
    ) -> dict[str, float]:
        height, width = sr.shape[:2]
        mode = self._mode(sr, hr)
        channels = 3 if mode == "rgb" else 1
        whole = height * width <= WHOLE_PIXELS
        if whole:
            segments = [(0, height)]
        else:  # strips of the height they always had: each strip's sums as before
            budget = max(_BYTES_PER_VALUE * channels * width, 1)
            # A core of at least 4x the overlap keeps repeated rows under a fifth of the work.
            rows = max(4 * SSIM_OVERLAP, STRIP_BYTES // budget)
            segments = [(start, min(start + rows, height)) for start in range(0, height, rows)]
        squared, ssims = 0.0, [0.0] * channels
        for start, stop in segments:
            end = min(stop + SSIM_OVERLAP, height)
            a = _pixels(sr[start:end], mode, "SR")
            if whole and self.keep:
                b, means = self._kept(hr, mode, "ssim" in kinds)
            else:
                b, means = _pixels(hr[start:end], mode, "HR"), None
            part = _Segment(stop - start, width, channels, kinds)
            part.add_blocks(a, b, mode, means)
            squared += part.squared() if "psnr" in kinds else 0.0
            ssims = [total + value for total, value in zip(ssims, part.ssims(), strict=True)]
        out = {}
        if "psnr" in kinds:
            out["psnr"] = psnr_of_mse(squared / (height * width * channels), DATA_RANGE)
        if "ssim" in kinds:
            count = (height - SSIM_OVERLAP) * (width - SSIM_OVERLAP)
            out["ssim"] = float(np.mean([total / count for total in ssims]))
        return out

    def _kept(
        self, hr: np.ndarray, mode: str, means: bool
    ) -> tuple[np.ndarray, list[np.ndarray] | None]:
        """The HR pixels (and filtered means), computed at the first call and kept."""
        with self._lock:
            if self._pixels is None:
                self._pixels = _pixels(hr, mode, "HR", keep=True)
            if means and self._means is None:
                self._means = _filtered_means(self._pixels, mode)
            return self._pixels, self._means


_GRAY_SR = "The SR image is gray but its HR image is RGB; the method must return RGB."


def _pixels(image: np.ndarray, mode: str, side: str, keep: bool = False) -> np.ndarray:
    """What blocks are converted from: ``uint8`` RGB (luma, converted per block; float32 Y
    when ``keep``: an HR image kept for several scores), gray or RGB ``uint8`` values.

    rgb2gray runs on the same rows as ever (whole image or strip): it is a matrix product.
    """
    if mode == "luma":
        return _luma32(image) if keep else image
    if mode == "gray":
        return rgb2gray(image) if side == "SR" and image.ndim == 3 else image
    return to_rgb(image)


def _luma32(image: np.ndarray) -> np.ndarray:
    """:func:`rgb2y` of an RGB image, in blocks of rows (no whole-image float64 temporary)."""
    out = np.empty(image.shape[:2], np.float32)
    for start, stop in _blocks(image.shape[0], image.shape[1]):
        out[start:stop] = luma(image[start:stop])
    return out


def _planes(pixels: np.ndarray, mode: str) -> list[np.ndarray]:
    """The float64 ``(rows, W)`` planes of some rows of :func:`_pixels`, one per channel."""
    if mode == "luma" and pixels.dtype == np.uint8:
        # float32 Y (the y protocol's rounding), then float64: Protocol._convert's numbers
        return [luma(pixels).astype(np.float32).astype(np.float64)]
    if pixels.ndim == 2:
        return [pixels.astype(np.float64)]
    return [pixels[..., c].astype(np.float64) for c in range(pixels.shape[2])]


def _blocks(height: int, width: int, start: int = 0) -> Iterator[tuple[int, int]]:
    """Row ranges of about :data:`BLOCK_VALUES` values covering ``[start, height)``."""
    step = max(2 * SSIM_OVERLAP, BLOCK_VALUES // max(width, 1))
    for first in range(start, height, step):
        yield first, min(first + step, height)


def _filtered_means(pixels: np.ndarray, mode: str) -> list[np.ndarray]:
    """SSIM's filtered mean of each channel of a whole kept HR image (:func:`filter_rows`),
    built block by block (the rows of a block's 'valid' filtering are the whole image's)."""
    height, width = pixels.shape[:2]
    channels = 3 if mode == "rgb" else 1
    means = [np.empty((height - SSIM_OVERLAP, width)) for _ in range(channels)]
    for start, stop in _blocks(height - SSIM_OVERLAP, width):
        rows = pixels[start : stop + SSIM_OVERLAP]
        for mean, plane in zip(means, _planes(rows, mode), strict=True):
            mean[start:stop] = filter_rows(plane)
    return means


class _Segment:
    """The sums of one strip's own rows (or of the whole image), block by block: squared
    errors in the order ``np.sum`` adds the strip's array, SSIM map rows likewise."""

    def __init__(self, core: int, width: int, channels: int, kinds: frozenset[str]) -> None:
        self.core, self.width, self.kinds = core, width, kinds
        self.exact = ExactSum(core * width) if channels == 1 else None
        # Three channels (the rgb protocol) have integer errors: exact sums in any order.
        self.integer = 0.0
        self.maps: list[ExactSum] = []
        self.channels = channels

    def add_blocks(
        self, a: np.ndarray, b: np.ndarray, mode: str, means: list[np.ndarray] | None
    ) -> None:
        """Score rows ``[0, core)`` of ``a`` against ``b``, reading up to
        :data:`SSIM_OVERLAP` rows further for SSIM's windows."""
        rows_in = a.shape[0]
        ssim = "ssim" in self.kinds
        map_rows = max(0, min(self.core, rows_in - SSIM_OVERLAP)) if ssim else 0
        count = map_rows * (self.width - SSIM_OVERLAP)
        self.maps = [ExactSum(count) for _ in range(self.channels)] if map_rows else []
        for start, stop in _blocks(self.core, self.width):
            last = min(stop + SSIM_OVERLAP, rows_in) if ssim else stop
            pa, pb = _planes(a[start:last], mode), _planes(b[start:last], mode)
            if "psnr" in self.kinds:
                self._squared(pa, pb, stop - start)
            if self.maps and last - start > SSIM_OVERLAP:
                shown = last - start - SSIM_OVERLAP
                for c, (x, y) in enumerate(zip(pa, pb, strict=True)):
                    mu = None if means is None else means[c][start : start + shown]
                    self.maps[c].add(ssim_map(x, y, mu_b=mu))

    def _squared(self, pa: list[np.ndarray], pb: list[np.ndarray], rows: int) -> None:
        for x, y in zip(pa, pb, strict=True):
            diff = x[:rows] - y[:rows]
            diff *= diff
            if self.exact is not None:
                self.exact.add(diff)
            else:
                self.integer += float(np.sum(diff))

    def squared(self) -> float:
        """The segment's sum of squared errors."""
        return self.exact.value() if self.exact is not None else self.integer

    def ssims(self) -> list[float]:
        """Each channel's sum of SSIM map values of the segment's rows."""
        return [m.value() for m in self.maps] if self.maps else [0.0] * self.channels


def _shaved_away(shape: tuple[int, ...], shave: int, scale: int) -> str:
    return (
        f"Nothing is left of a {shape[1]}x{shape[0]} image after shaving {shave} px from every "
        f"border (the size of the HR image cropped to multiples of {scale}): scoring needs more "
        f"than {2 * shave} px a side. Fix: use larger images, or a smaller --shave (recorded "
        "with the scores)."
    )


def _luma_pair(sr: np.ndarray, hr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Y of both for an RGB HR; gray values (SR reduced by ``rgb2gray``) for a gray HR."""
    if hr.ndim == 2:
        return (rgb2gray(sr) if sr.ndim == 3 else sr), hr
    if sr.ndim == 2:
        raise UnsupportedImageError(_GRAY_SR)
    return rgb2y(sr), rgb2y(hr)


def check_image(image: np.ndarray, what: str) -> None:
    """Raise :class:`UnsupportedImageError` unless ``image`` is what :func:`read_image` gives:
    ``(H, W)`` gray or ``(H, W, 3)`` RGB (an alpha or a fourth channel would be ignored or
    break the arithmetic)."""
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3):
        return
    raise UnsupportedImageError(
        f"the {what} image has shape {image.shape}; scoring takes (H, W) gray or (H, W, 3) RGB "
        "images, as srbench.imageio.read_image returns them (drop alpha, replicate gray)."
    )


def check_sizes(sr: np.ndarray, hr_cropped: np.ndarray, scale: int) -> None:
    """Raise :class:`SizeMismatchError` unless SR has the size of the modcropped HR."""
    if sr.shape[:2] != hr_cropped.shape[:2]:
        h, w = hr_cropped.shape[:2]
        looks_lr = (sr.shape[0] * scale, sr.shape[1] * scale) == (h, w)
        hint = " It has the LR size: was the LR folder passed as SR?" if looks_lr else ""
        raise SizeMismatchError(
            f"SR is {sr.shape[1]}x{sr.shape[0]} but HR modcropped to x{scale} is {w}x{h}.{hint} "
            f"The SR image must be exactly {w}x{h} (HR cropped from the top-left to multiples of "
            f"{scale}); check --scale and that the method does not pad or crop."
        )


PROTOCOLS: Registry[Protocol] = Registry("protocol")
PROTOCOLS.add("y", Protocol("y", "y"))
PROTOCOLS.add("rgb", Protocol("rgb", "rgb"))


def get_protocol(name: str = "y", shave: int | None = None) -> Protocol:
    """The registered protocol ``name`` with an optional shave override."""
    return PROTOCOLS.get(name).with_shave(shave)
