"""Reference implementations the benchmarks race against (not used by srbench itself)."""

from __future__ import annotations

import math

import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    absx = np.abs(x)
    absx2, absx3 = absx**2, absx**3
    return (1.5 * absx3 - 2.5 * absx2 + 1) * (absx <= 1) + (
        -0.5 * absx3 + 2.5 * absx2 - 4 * absx + 2
    ) * ((absx > 1) & (absx <= 2))


def _contributions(in_len: int, out_len: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB imresize's ``contributions`` for bicubic with antialiasing, clamped indices."""
    width = 4.0 / scale if scale < 1 else 4.0
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = math.ceil(width) + 2
    indices = left[:, None] + np.arange(taps)
    dist = u[:, None] - indices
    weights = scale * _cubic(scale * dist) if scale < 1 else _cubic(dist)
    weights /= weights.sum(axis=1, keepdims=True)
    indices = np.clip(indices, 1, in_len).astype(np.int64) - 1
    keep = np.any(weights != 0, axis=0)
    return weights[:, keep], indices[:, keep]


def matlab_imresize_numpy(img: np.ndarray, scale: float) -> np.ndarray:
    """A plain numpy port of MATLAB ``imresize(img, scale, 'bicubic')`` on uint8.

    The common port (gather every tap, multiply, sum), rounding to uint8 after each pass.
    """
    out = img.astype(np.float64)
    for axis in (0, 1):
        in_len = out.shape[axis]
        weights, indices = _contributions(in_len, math.ceil(in_len * scale), scale)
        moved = np.moveaxis(out, axis, 0)
        gathered = moved[indices]  # (out_len, taps, ...)
        w = weights.reshape(weights.shape + (1,) * (moved.ndim - 1))
        resized = np.clip(np.floor((gathered * w).sum(axis=1) + 0.5), 0, 255)
        out = np.moveaxis(resized, 0, axis)
    return out.astype(np.uint8)


def skimage_psnr_ssim(sr: np.ndarray, hr: np.ndarray, scale: int) -> tuple[float, float]:
    """The default protocol built from scikit-image: Y (float32), shave, PSNR, Gaussian SSIM."""
    from skimage.color import rgb2ycbcr
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    hr = hr[: sr.shape[0], : sr.shape[1]]  # modcrop
    s = slice(scale, -scale)
    a = rgb2ycbcr(sr)[..., 0].astype(np.float32)[s, s].astype(np.float64)
    b = rgb2ycbcr(hr)[..., 0].astype(np.float32)[s, s].astype(np.float64)
    return (
        peak_signal_noise_ratio(b, a, data_range=255),
        structural_similarity(
            a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
        ),
    )
