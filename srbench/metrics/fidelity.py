"""PSNR and SSIM as the MATLAB reference computes them (float64 throughout).

:func:`psnr` and :func:`ssim` score whole arrays. :meth:`srbench.metrics.protocols.Reference.score`
computes the same numbers in blocks of rows, so that its float64 temporaries stay in cache and a
huge image never needs them whole: squared errors and rows of SSIM's 'valid' map
(:func:`ssim_map`, consecutive blocks overlapping by :data:`SSIM_OVERLAP` rows so that every
11x11 window lies inside one block) are the same numbers as on the whole image, and
:class:`ExactSum` adds them up in the order ``np.mean`` of the whole array does, so the values
are equal to the last bit (above :data:`~srbench.metrics.protocols.WHOLE_PIXELS` each strip's
sums are added in turn, which can move the last bits of a mean).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from srbench.errors import SizeMismatchError
from srbench.metrics.base import MetricInfo, register_metric

__all__ = [
    "BLOCK_METRICS",
    "DATA_RANGE",
    "SSIM_OVERLAP",
    "ExactSum",
    "check_ssim_size",
    "filter_rows",
    "filter_valid",
    "psnr",
    "psnr_of_mse",
    "ssim",
    "ssim_map",
]

DATA_RANGE = 255.0
_SSIM_SIGMA = 1.5
_SSIM_SIZE = 11
_K1, _K2 = 0.01, 0.03
#: Rows shared by consecutive blocks: an SSIM window spans 11 rows.
SSIM_OVERLAP = _SSIM_SIZE - 1


def psnr(sr: np.ndarray, hr: np.ndarray, data_range: float = DATA_RANGE) -> float:
    """``10 log10(data_range^2 / MSE)`` over all elements, in float64; ``inf`` when identical.

    Example:
        >>> round(psnr(np.zeros((4, 4)), np.full((4, 4), 1.0)), 4)
        48.1308
    """
    diff = np.asarray(sr, np.float64) - np.asarray(hr, np.float64)
    mse = float(np.mean(diff * diff))
    return psnr_of_mse(mse, data_range)


def psnr_of_mse(mse: float, data_range: float) -> float:
    """PSNR in dB of a mean squared error (``inf`` for 0)."""
    if mse == 0:
        return float("inf")
    return float(10 * np.log10(data_range**2 / mse))


def _gaussian_window() -> np.ndarray:
    x = np.arange(_SSIM_SIZE, dtype=np.float64) - (_SSIM_SIZE - 1) / 2
    g = np.exp(-(x * x) / (2 * _SSIM_SIGMA**2))
    return g / g.sum()


_WINDOW = _gaussian_window()


def filter_valid(img: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(fspecial('gaussian', 11, 1.5), img, 'valid')``, separably in float64.

    OpenCV's separable filter is about 6x faster than scipy.ndimage here and agrees with it to
    1e-13; only the valid region is kept, so the border rule never enters.
    """
    r = _SSIM_SIZE // 2
    return filter_rows(img)[:, r:-r]


def filter_rows(img: np.ndarray) -> np.ndarray:
    """The rows of :func:`filter_valid` at full width, C-contiguous: its columns plus ``5`` on
    each side that saw zeros beyond the border (finite values, dropped at the end).

    NumPy computes on C-contiguous arrays several times faster than on the column-cropped view,
    so SSIM's formula runs on these rows and drops the border columns once.
    """
    import cv2  # here, not at import: listing the metrics needs no OpenCV

    r = _SSIM_SIZE // 2
    full = cv2.sepFilter2D(img, cv2.CV_64F, _WINDOW, _WINDOW, borderType=cv2.BORDER_CONSTANT)
    return full[r:-r]


def ssim_map(
    a: np.ndarray, b: np.ndarray, data_range: float = DATA_RANGE, mu_b: np.ndarray | None = None
) -> np.ndarray:
    """The 'valid' SSIM map of two 2-D float64 arrays, ``(H - 10, W - 10)``, C-contiguous.

    ``mu_b``, when given, is :func:`filter_rows` of ``b``, computed before: an HR image scored
    against several methods is filtered once. Every value is the product of the same operations
    in the same order whatever ``mu_b`` and the rows given: a block of rows gives the rows of
    the whole map (the in-place operations below are the formula's, one by one).
    """
    r = _SSIM_SIZE // 2
    return np.ascontiguousarray(_ssim_rows(a, b, data_range, mu_b)[:, r:-r])


def _ssim_rows(
    a: np.ndarray, b: np.ndarray, data_range: float, mu_b: np.ndarray | None
) -> np.ndarray:
    """:func:`ssim_map` at full width (the border columns' values are meaningless)."""
    c1 = (_K1 * data_range) ** 2
    c2 = (_K2 * data_range) ** 2
    squares = a * a
    squares += b * b  # sigma_a^2 + sigma_b^2 needs only E[a^2 + b^2]: one filtering, not two
    sum_sq = filter_rows(squares)
    cov = filter_rows(np.multiply(a, b, out=squares))
    mu_a = filter_rows(a)
    mu_b = filter_rows(b) if mu_b is None else mu_b
    out = np.empty(mu_a.shape)
    # The per-pixel formula a few rows at a time, so that its temporaries stay in cache.
    step = max(1, _FORMULA_VALUES // max(out.shape[1], 1))
    for start in range(0, out.shape[0], step):
        rows = slice(start, start + step)
        _formula(mu_a[rows], mu_b[rows], sum_sq[rows], cov[rows], out[rows], c1, c2)
    return out


#: Values per row chunk of SSIM's per-pixel formula (a few hundred kB of float64 temporaries).
_FORMULA_VALUES = 1 << 14


def _formula(
    mu_a: np.ndarray,
    mu_b: np.ndarray,
    sum_sq: np.ndarray,
    cov: np.ndarray,
    out: np.ndarray,
    c1: float,
    c2: float,
) -> None:
    """SSIM from the filtered planes into ``out``, overwriting ``mu_a``, ``sum_sq`` and
    ``cov``: the formula's operations, one by one in its order (the same bits)."""
    mu_ab = mu_a * mu_b
    mu_sq = np.multiply(mu_a, mu_a, out=mu_a)
    mu_sq += mu_b * mu_b
    # num = (2 mu_ab + c1) (2 (cov - mu_ab) + c2)
    cov -= mu_ab
    cov *= 2
    cov += c2
    mu_ab *= 2
    mu_ab += c1
    mu_ab *= cov
    # den = (mu_sq + c1) (sum_sq - mu_sq + c2)
    sum_sq -= mu_sq
    sum_sq += c2
    mu_sq += c1
    mu_sq *= sum_sq
    np.divide(mu_ab, mu_sq, out=out)


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
        return float(np.mean(ssim_map(a, b, data_range)))
    channels = [np.mean(ssim_map(a[..., c], b[..., c], data_range)) for c in range(a.shape[2])]
    return float(np.mean(channels))


class ExactSum:
    """``np.sum`` of ``count`` values that arrive in order, chunk by chunk, to the last bit.

    NumPy sums a contiguous float64 array pairwise: halves (cut at a multiple of 8) down to
    blocks of at most 128 values. This class cuts the same tree down to leaves of at most
    :attr:`LEAF` values, sums each leaf with NumPy and adds the leaves up the same tree, so the
    whole array is never needed: scoring works in cache-sized blocks of rows and still gives the
    number ``np.mean`` of the whole array gives.

    Example:
        >>> x = np.random.default_rng(0).random(100_003)
        >>> total = ExactSum(x.size)
        >>> for start in range(0, x.size, 7_001):
        ...     total.add(x[start : start + 7_001])
        >>> total.value() == float(np.sum(x))
        True
    """

    #: Values per leaf (at least NumPy's 128-value block, whose sum cannot be split).
    LEAF = 1 << 14

    def __init__(self, count: int) -> None:
        self.count = count
        self._leaves = _leaf_sizes(count, self.LEAF)
        self._sums: list[float] = []
        self._pending: list[np.ndarray] = []
        self._filled = 0

    def add(self, values: np.ndarray) -> None:
        """Add the next values (any shape; taken in C order)."""
        flat = np.ravel(values)
        start = 0
        while start < flat.size:
            size = self._leaves[len(self._sums)]
            take = min(size - self._filled, flat.size - start)
            piece = flat[start : start + take]
            start += take
            if take == size:  # a whole leaf in this chunk: no copy
                self._sums.append(float(np.add.reduce(piece, initial=0.0)))
                continue
            self._pending.append(piece.copy())
            self._filled += take
            if self._filled == size:
                leaf = np.concatenate(self._pending)
                self._sums.append(float(np.add.reduce(leaf, initial=0.0)))
                self._pending, self._filled = [], 0

    def value(self) -> float:
        """The sum of everything added (all ``count`` values must have arrived)."""
        if len(self._sums) != len(self._leaves):
            raise ValueError(f"ExactSum got {len(self._sums)} of {len(self._leaves)} leaves")
        return _combine(self.count, iter(self._sums), self.LEAF) if self.count else 0.0


def _leaf_sizes(count: int, leaf: int) -> list[int]:
    """The leaves of NumPy's pairwise-summation tree over ``count`` values, in order."""
    if count <= leaf:
        return [count] if count else []
    half = count // 2
    half -= half % 8
    return _leaf_sizes(half, leaf) + _leaf_sizes(count - half, leaf)


def _combine(count: int, sums: Iterator[float], leaf: int) -> float:
    if count <= leaf:
        return next(sums)
    half = count // 2
    half -= half % 8
    left = _combine(half, sums, leaf)  # the left subtree's leaves come first
    return left + _combine(count - half, sums, leaf)


#: The compute functions the block path reproduces, and its names for them.
BLOCK_METRICS = {psnr: "psnr", ssim: "ssim"}


register_metric(
    MetricInfo("psnr", True, "image", "1", psnr, "dB", "Peak signal-to-noise ratio, peak 255.")
)
register_metric(
    MetricInfo("ssim", True, "image", "1", ssim, "", "SSIM (ssim_index.m: 11x11 Gaussian, valid).")
)
