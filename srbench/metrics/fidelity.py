"""PSNR and SSIM as the MATLAB reference computes them (float64 throughout).

:func:`psnr` and :func:`ssim` score whole arrays. For images too large to hold as float64 at
once, :class:`StripScores` accumulates the same quantities over row strips
(:meth:`srbench.metrics.protocols.Protocol.score` drives it): PSNR from the sum of squared
errors, SSIM from the sums of its 'valid' map, consecutive strips overlapping by
:data:`SSIM_OVERLAP` rows so that every 11x11 window lies inside one strip. Every squared error
and every map value is the same number as on the whole image; only the order of the final sums
differs, which can move the last bits of a mean (integer-valued errors, as on the ``rgb``
protocol and for gray images, sum exactly in any order).
"""

from __future__ import annotations

import numpy as np

from srbench.errors import SizeMismatchError
from srbench.metrics.base import MetricInfo, register_metric

__all__ = ["SSIM_OVERLAP", "STRIP_METRICS", "StripScores", "check_ssim_size", "psnr", "ssim"]

DATA_RANGE = 255.0
_SSIM_SIGMA = 1.5
_SSIM_SIZE = 11
_K1, _K2 = 0.01, 0.03
#: Rows shared by consecutive strips: an SSIM window spans 11 rows.
SSIM_OVERLAP = _SSIM_SIZE - 1


def psnr(sr: np.ndarray, hr: np.ndarray, data_range: float = DATA_RANGE) -> float:
    """``10 log10(data_range^2 / MSE)`` over all elements, in float64; ``inf`` when identical.

    Example:
        >>> round(psnr(np.zeros((4, 4)), np.full((4, 4), 1.0)), 4)
        48.1308
    """
    diff = np.asarray(sr, np.float64) - np.asarray(hr, np.float64)
    mse = float(np.mean(diff * diff))
    return _psnr_of_mse(mse, data_range)


def _psnr_of_mse(mse: float, data_range: float) -> float:
    if mse == 0:
        return float("inf")
    return float(10 * np.log10(data_range**2 / mse))


def _gaussian_window() -> np.ndarray:
    x = np.arange(_SSIM_SIZE, dtype=np.float64) - (_SSIM_SIZE - 1) / 2
    g = np.exp(-(x * x) / (2 * _SSIM_SIGMA**2))
    return g / g.sum()


_WINDOW = _gaussian_window()


def _filter_valid(img: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(fspecial('gaussian', 11, 1.5), img, 'valid')``, separably in float64.

    OpenCV's separable filter is about 6x faster than scipy.ndimage here and agrees with it to
    1e-13; only the valid region is kept, so the border rule never enters.
    """
    import cv2  # here, not at import: listing the metrics needs no OpenCV

    r = _SSIM_SIZE // 2
    full = cv2.sepFilter2D(img, cv2.CV_64F, _WINDOW, _WINDOW, borderType=cv2.BORDER_CONSTANT)
    return full[r:-r, r:-r]


def _ssim_map(a: np.ndarray, b: np.ndarray, data_range: float) -> np.ndarray:
    """The 'valid' SSIM map of two 2-D float64 arrays, ``(H - 10, W - 10)``."""
    c1 = (_K1 * data_range) ** 2
    c2 = (_K2 * data_range) ** 2
    mu_a, mu_b = _filter_valid(a), _filter_valid(b)
    # sigma_a^2 + sigma_b^2 needs only E[a^2 + b^2]: one filtering instead of two.
    sum_sq = _filter_valid(a * a + b * b)
    cov = _filter_valid(a * b)
    mu_ab = mu_a * mu_b
    mu_sq = mu_a * mu_a + mu_b * mu_b
    num = (2 * mu_ab + c1) * (2 * (cov - mu_ab) + c2)
    den = (mu_sq + c1) * (sum_sq - mu_sq + c2)
    return num / den


def check_ssim_size(shape: tuple[int, ...]) -> None:
    """Raise :class:`SizeMismatchError` unless both sides are at least SSIM's window (11)."""
    if min(shape[:2]) < _SSIM_SIZE:
        raise SizeMismatchError(
            f"SSIM needs images of at least {_SSIM_SIZE}x{_SSIM_SIZE} after shaving, got "
            f"{shape[1]}x{shape[0]}; use a smaller --shave or larger images."
        )


def ssim(sr: np.ndarray, hr: np.ndarray, data_range: float = DATA_RANGE) -> float:
    """SSIM of Wang et al.'s ``ssim_index.m``, averaged over channels.

    11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, 'valid' filtering, no downsampling.
    Equals scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=255)`` (which crops the same border).

    Args:
        sr, hr: ``(H, W)`` or ``(H, W, C)`` arrays, both sides at least 11.
    """
    a, b = np.asarray(sr, np.float64), np.asarray(hr, np.float64)
    check_ssim_size(a.shape)
    if a.ndim == 2:
        return float(np.mean(_ssim_map(a, b, data_range)))
    channels = [np.mean(_ssim_map(a[..., c], b[..., c], data_range)) for c in range(a.shape[2])]
    return float(np.mean(channels))


class StripScores:
    """PSNR and SSIM of one image pair, accumulated over row strips.

    Feed :meth:`add` the prepared float64 ``(rows, W, C)`` arrays of consecutive strips, top to
    bottom: each strip's first ``core`` rows are its own (the cores partition the image), and
    up to :data:`SSIM_OVERLAP` rows of the next strip follow them, so that every SSIM window
    that starts in the core lies in the strip. Then :meth:`value` gives each metric.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> a, b = rng.random((40, 30, 1)) * 255, rng.random((40, 30, 1)) * 255
        >>> sums = StripScores(("psnr", "ssim"))
        >>> sums.add(a[:30], b[:30], core=20)
        >>> sums.add(a[20:], b[20:], core=20)
        >>> bool(abs(sums.value("ssim") - ssim(a, b)) < 1e-15)
        True
        >>> bool(abs(sums.value("psnr") - psnr(a, b)) < 1e-12)
        True
    """

    def __init__(self, metrics: tuple[str, ...], data_range: float = DATA_RANGE) -> None:
        self.metrics, self.data_range = metrics, data_range
        self.squared, self.values = 0.0, 0
        self.ssim_sums: list[float] = []
        self.ssim_count = 0

    def add(self, a: np.ndarray, b: np.ndarray, core: int) -> None:
        """Add a strip: ``core`` rows of its own, then the rows its SSIM windows reach into."""
        if "psnr" in self.metrics:
            diff = a[:core] - b[:core]
            self.squared += float(np.sum(diff * diff))
            self.values += diff.size
        if "ssim" in self.metrics and a.shape[0] >= _SSIM_SIZE:
            if not self.ssim_sums:
                self.ssim_sums = [0.0] * a.shape[2]
            for c in range(a.shape[2]):
                rows = _ssim_map(a[..., c], b[..., c], self.data_range)[:core]
                self.ssim_sums[c] += float(np.sum(rows))
            self.ssim_count += rows.size

    def value(self, metric: str) -> float:
        """PSNR (``inf`` when identical) or SSIM (the mean over channels) of everything added."""
        if metric == "psnr":
            return _psnr_of_mse(self.squared / self.values, self.data_range)
        return float(np.mean([total / self.ssim_count for total in self.ssim_sums]))


#: The compute functions :class:`StripScores` reproduces, and its names for them.
STRIP_METRICS = {psnr: "psnr", ssim: "ssim"}


register_metric(
    MetricInfo("psnr", True, "image", "1", psnr, "dB", "Peak signal-to-noise ratio, peak 255.")
)
register_metric(
    MetricInfo("ssim", True, "image", "1", ssim, "", "SSIM (ssim_index.m: 11x11 Gaussian, valid).")
)
