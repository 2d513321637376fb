"""The three degradations of the SR literature: BI, BD and DN (docs/protocol.md, section 1)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from srbench.degradations.base import Degradation, register
from srbench.errors import SpecError
from srbench.imageio import quantize


def bicubic(
    hr: np.ndarray, scale: int, params: Mapping[str, Any], rng: np.random.Generator
) -> np.ndarray:
    """BI: MATLAB ``imresize(HR, 1/scale, 'bicubic')`` on uint8."""
    from srbench.resize import imresize  # here, not at import: it loads scipy.sparse

    return imresize(hr, 1 / scale, method="bicubic")


def gaussian_kernel_1d(ksize: int, sigma: float) -> np.ndarray:
    """The 1-D factor of MATLAB ``fspecial('gaussian', ksize, sigma)`` (normalised to sum 1).

    ``fspecial`` zeroes values below ``eps * max``; for the kernel sizes used here (at most
    ``2 * ceil(3 * sigma) + 2``) none are, so the 2-D kernel is exactly the outer product.
    """
    x = np.arange(ksize, dtype=np.float64) - (ksize - 1) / 2
    # A sigma far too small gives 0/0 (NaN) weights; _resolve_blur refuses them with a message.
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.exp(-(x * x) / (2 * sigma * sigma))
        return g / g.sum()


def _correlate_replicate(img: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """MATLAB ``imfilter(img, k, 'replicate')`` along one axis (centre ``floor((k+1)/2)``)."""
    k = kernel.size
    before = (k + 1) // 2 - 1
    pad = [(0, 0)] * img.ndim
    pad[axis] = (before, k - 1 - before)
    padded = np.pad(img, pad, mode="edge")
    n = img.shape[axis]
    out = np.zeros(img.shape, dtype=np.float64)
    for j, weight in enumerate(kernel):  # a loop over taps, not pixels
        out += weight * np.take(padded, np.arange(j, j + n), axis=axis)
    return out


def blur_ksize(sigma: float, scale: int) -> int:
    """The protocol's kernel size (docs/protocol.md): 7 at x3, else ``2*ceil(3*sigma) + 1``
    (odd scales) or ``+ 2`` (even scales)."""
    if scale == 3:
        return 7
    return 2 * math.ceil(3 * sigma) + (1 if scale % 2 else 2)


#: The largest blur kernel (sigma up to about 166 at the protocol's sizes): larger ones would
#: only take minutes and memory on a test set's image, and a typo such as sigma=1e6 should not.
MAX_KSIZE = 1001


def _resolve_blur(params: dict[str, Any], scale: int) -> dict[str, Any]:
    sigma, ksize = params["sigma"], params["ksize"]
    if sigma <= 0 or ksize == 0:
        raise SpecError(f"blur needs sigma > 0 and ksize >= 1, got {params}.")
    if ksize is None:
        ksize = blur_ksize(sigma, scale) if sigma <= MAX_KSIZE else math.inf
    if ksize > MAX_KSIZE:
        raise SpecError(
            f"blur with sigma={sigma} and ksize={params['ksize']} needs a kernel of {ksize} taps; "
            f"srbench allows at most {MAX_KSIZE} (sigma up to 166 at the default sizes). Use a "
            "smaller sigma or ksize."
        )
    weights = gaussian_kernel_1d(int(ksize), sigma)
    if not np.isfinite(weights).all():  # every exp() underflowed: 0/0
        raise SpecError(
            f"blur with sigma={sigma} and ksize={ksize}: every kernel weight underflows to 0 "
            "(sigma is too small for the taps' distances), which would make the LR image black. "
            "Use a larger sigma (0.1 or more) or an odd ksize."
        )
    return {**params, "ksize": ksize}


def blur(
    hr: np.ndarray, scale: int, params: Mapping[str, Any], rng: np.random.Generator
) -> np.ndarray:
    """BD: Gaussian blur (replicate padding, one rounding to uint8), then decimation.

    Keeps pixels ``scale-1 : scale : end-1`` (odd scales) or ``scale/2 : scale : end-scale/2``
    (even scales), 1-based, as the RDN/SRMD test-set scripts do.
    """
    g = gaussian_kernel_1d(int(params["ksize"]), float(params["sigma"]))
    blurred = quantize(
        _correlate_replicate(_correlate_replicate(hr.astype(np.float64), g, 0), g, 1)
    )
    start = scale - 2 if scale % 2 else scale // 2 - 1  # 0-based
    h, w = hr.shape[0] // scale, hr.shape[1] // scale
    return np.ascontiguousarray(blurred[start::scale, start::scale][:h, :w])


def noise(
    hr: np.ndarray, scale: int, params: Mapping[str, Any], rng: np.random.Generator
) -> np.ndarray:
    """DN: BI, then ``uint8(single(LR) + single(sigma * randn))``."""
    lr = bicubic(hr, scale, params, rng)
    sigma = np.float32(params["sigma"])
    noisy = lr.astype(np.float32) + (sigma * rng.standard_normal(lr.shape)).astype(np.float32)
    return quantize(noisy)


register(
    Degradation("bicubic", "1", {}, bicubic, description="MATLAB bicubic downscaling (BI)."),
    aliases=("bi",),
)
register(
    Degradation(
        "blur",
        "1",
        {"sigma": 1.6, "ksize": None},
        blur,
        resolve=_resolve_blur,
        types={"ksize": int},
        description="Gaussian blur (sigma, ksize: default per scale) + decimation (BD).",
    ),
    aliases=("bd",),
)
register(
    Degradation(
        "noise",
        "1",
        {"sigma": 30.0},
        noise,
        description="BI + Gaussian noise of std sigma on 0..255, seeded per image (DN).",
    ),
    aliases=("dn",),
)
