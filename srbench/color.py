"""MATLAB-exact colour conversion between RGB and YCbCr (ITU-R BT.601, studio swing).

:func:`rgb2ycbcr` and :func:`ycbcr2rgb` are MATLAB's ``rgb2ycbcr`` and ``ycbcr2rgb`` on double
images, on srbench's 0..255 scale: RGB values in [0, 255] map to Y in [16, 235] and Cb, Cr in
[16, 240], that is ``255 * rgb2ycbcr(im2double(img))`` in MATLAB. They take ``uint8`` or float
input and return unrounded ``float64`` (MATLAB rounds only for integer input; a plug-in that
feeds a network wants the unrounded values). This module holds srbench's only definition of the
conversion: the ``y`` protocol's luma (:func:`srbench.imageio.rgb2y`) is :func:`luma`.
"""

from __future__ import annotations

import functools

import numpy as np

from srbench.errors import UnsupportedImageError

__all__ = ["luma", "rgb2ycbcr", "ycbcr2rgb"]

# MATLAB's origT and origOffset (rgb2ycbcr.m): rows Y, Cb, Cr on [0, 1] RGB, output on 0..255.
_T = np.array(
    [
        [65.481, 128.553, 24.966],
        [-37.797, -74.203, 112.0],
        [112.0, -93.786, -18.214],
    ]
)
_OFFSET = np.array([16.0, 128.0, 128.0])
# ycbcr2rgb.m: rgb = 255 * inv(T) * ycbcr - inv(T) * offset, on [0, 1] YCbCr and RGB.
_T_INV = np.linalg.inv(_T)
_T_INV_255 = 255.0 * _T_INV  # MATLAB's scaled T for double input, a constant as there
_INV_OFFSET = _T_INV @ _OFFSET


def _unit(img: np.ndarray, what: str) -> np.ndarray:
    """``img / 255`` as float64 after checking it is ``(..., 3)``: MATLAB's ``im2double``."""
    if img.ndim < 1 or img.shape[-1] != 3:
        raise UnsupportedImageError(
            f"{what} expects an (H, W, 3) image, got shape {img.shape}; replicate a gray image "
            "to three channels first (srbench.imageio.to_rgb)."
        )
    return np.asarray(img, dtype=np.float64) / 255.0


def _luma_tables() -> np.ndarray:
    """``(3, 256)``: each term of :func:`luma`'s sum for every ``uint8`` value, the offset in
    the first (the same operations on the same numbers as the sum itself)."""
    unit = np.arange(256, dtype=np.float64) / 255.0
    return np.stack([_OFFSET[0] + _T[0, 0] * unit, _T[0, 1] * unit, _T[0, 2] * unit])


_LUMA_TABLES = _luma_tables()


def luma(img: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Y of :func:`rgb2ycbcr` alone (``(H, W)`` float64 in [16, 235]); a third of the work.

    ``uint8`` input looks its terms up in tables instead of multiplying (the sum of the red
    and green terms in one 65536-entry table indexed by both bytes): the same numbers, added
    in the same order, so the same bits, several times faster. ``out``
    (``uint8`` input only) receives the result.
    """
    if img.dtype == np.uint8 and img.ndim >= 1 and img.shape[-1] == 3:
        return _luma_uint8(img, out)
    rgb = _unit(img, "luma")
    # Written term by term in this order, the arithmetic the y protocol has always used.
    return _OFFSET[0] + _T[0, 0] * rgb[..., 0] + _T[0, 1] * rgb[..., 1] + _T[0, 2] * rgb[..., 2]


@functools.cache
def _red_green_table() -> np.ndarray:
    """``T0[r] + T1[g]`` at index ``r + 256 g``: luma's first addition, done once per pair."""
    return (_LUMA_TABLES[0][:, None] + _LUMA_TABLES[1][None, :]).T.ravel()


def _luma_uint8(img: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    tables = _LUMA_TABLES
    if img.strides[-1] == 1:  # red and green bytes side by side: one little-endian index
        red_green = img[..., :2].view(np.dtype("<u2"))[..., 0]
        out = np.take(_red_green_table(), red_green, out=out, mode="clip")
        out += np.take(tables[2], img[..., 2], mode="clip")
        return out
    out = np.take(tables[0], img[..., 0], out=out, mode="clip")
    term = np.take(tables[1], img[..., 1], mode="clip")
    out += term
    out += np.take(tables[2], img[..., 2], out=term, mode="clip")
    return out


def rgb2ycbcr(img: np.ndarray) -> np.ndarray:
    """MATLAB's ``rgb2ycbcr`` of an RGB image on the 0..255 scale, as unrounded ``float64``.

    Args:
        img: ``(H, W, 3)`` (or any ``(..., 3)``) RGB, ``uint8`` or float on 0..255.

    Returns:
        ``float64`` YCbCr of the same shape: Y in [16, 235], Cb and Cr in [16, 240] for input in
        [0, 255] (``255 * rgb2ycbcr(im2double(img))`` in MATLAB).

    Example:
        >>> rgb2ycbcr(np.array([[[255, 255, 255]]], np.uint8))[0, 0].round(10).tolist()
        [235.0, 128.0, 128.0]
    """
    rgb = _unit(img, "rgb2ycbcr")
    out = np.empty(rgb.shape, np.float64)
    out[..., 0] = luma(img)
    for c in (1, 2):
        out[..., c] = (
            _OFFSET[c] + _T[c, 0] * rgb[..., 0] + _T[c, 1] * rgb[..., 1] + _T[c, 2] * rgb[..., 2]
        )
    return out


def ycbcr2rgb(img: np.ndarray) -> np.ndarray:
    """MATLAB's ``ycbcr2rgb`` on the 0..255 scale: the inverse of :func:`rgb2ycbcr`.

    Args:
        img: ``(..., 3)`` YCbCr, float (or ``uint8``) on 0..255 with Y in [16, 235].

    Returns:
        ``float64`` RGB on 0..255, not clipped (as MATLAB's double path): YCbCr outside the RGB
        gamut gives values below 0 or above 255; clip before quantising.

    Example:
        >>> ycbcr2rgb(np.array([[[235.0, 128.0, 128.0]]]))[0, 0].round(10).tolist()
        [255.0, 255.0, 255.0]
    """
    ycc = _unit(img, "ycbcr2rgb")
    out = np.empty(ycc.shape, np.float64)
    for c in range(3):
        t = _T_INV_255[c]
        out[..., c] = 255.0 * (
            t[0] * ycc[..., 0] + t[1] * ycc[..., 1] + t[2] * ycc[..., 2] - _INV_OFFSET[c]
        )
    return out
