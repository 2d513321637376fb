"""Evaluation protocols: which pixels of an SR/HR pair a metric sees.

``y`` (the default) is the MATLAB pipeline of the EDSR/RCAN papers (docs/protocol.md): SR quantised
to uint8, Y of ``rgb2ycbcr`` in float32 unrounded for RGB images, gray images scored on their
gray values (an RGB SR of a gray HR reduced with ``rgb2gray``), ``scale`` pixels shaved from
every border. ``rgb`` is the BasicSR/mmagic model-zoo convention: all three channels (a gray image
replicated), same shave; SSIM is the mean over channels.

:meth:`Protocol.score` scores a pair: images whose scored area is at most :data:`WHOLE_PIXELS`
(every image of the standard sets, DIV2K's 2040x1356 included) as whole float64 arrays, exactly
as before strips existed; larger ones in row strips of about :data:`~srbench.resize.STRIP_BYTES`
of float64 temporaries each, so that scoring a 6000x6000 image needs tens of MB, not GBs
(:class:`~srbench.metrics.fidelity.StripScores`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from srbench.errors import SizeMismatchError, SrbenchError, UnsupportedImageError
from srbench.imageio import modcrop, rgb2gray, rgb2y, to_rgb
from srbench.metrics.fidelity import SSIM_OVERLAP, STRIP_METRICS, StripScores, check_ssim_size
from srbench.registry import Registry
from srbench.resize import STRIP_BYTES

__all__ = ["PROTOCOLS", "WHOLE_PIXELS", "Protocol", "get_protocol"]

#: Scored areas up to this many pixels are scored whole (2048x2048 covers every standard set).
WHOLE_PIXELS = 2048 * 2048
#: Bytes of float64 temporaries per scored pixel and channel while scoring a strip (conversion,
#: then SSIM's filtered planes), to size strips.
_BYTES_PER_VALUE = 96


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
        """Each metric's ``compute`` on the pixels :meth:`prepare` gives, in bounded memory.

        A scored area above :data:`WHOLE_PIXELS` is converted and scored strip by strip when
        every compute function is srbench's PSNR or SSIM (others need the whole arrays).
        """
        sr, hr = self._shaved(sr, hr, scale)
        height, width = sr.shape[:2]
        kinds = tuple(STRIP_METRICS.get(fn, "") for fn in computes.values())
        if height * width <= WHOLE_PIXELS or not all(kinds):
            a, b = self._convert(sr, hr)
            return {name: fn(a, b) for name, fn in computes.items()}
        if "ssim" in kinds:
            check_ssim_size(sr.shape)
        channels = 3 if self.channels == "rgb" else 1
        sums = StripScores(kinds)
        budget = max(_BYTES_PER_VALUE * channels * width, 1)
        # A core of at least 4x the overlap keeps SSIM's repeated rows under a fifth of the work.
        rows = max(4 * SSIM_OVERLAP, STRIP_BYTES // budget)
        for start in range(0, height, rows):
            stop = min(start + rows + SSIM_OVERLAP, height)
            a, b = self._convert(sr[start:stop], hr[start:stop])
            sums.add(a, b, core=min(rows, height - start))
        return {name: sums.value(kind) for name, kind in zip(computes, kinds, strict=True)}

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
        raise UnsupportedImageError(
            "The SR image is gray but its HR image is RGB; the method must return RGB."
        )
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
