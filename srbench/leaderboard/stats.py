"""Uncertainty for benchmark means: seeded bootstrap intervals and paired tests over images.

Everything here works on per-image values, the only data that can say whether a 0.02 dB
difference on five images is more than noise. The statistics come from numpy and scipy; the
only things decided here are which test, which side, and when a test cannot decide at all.
``scipy.stats`` is imported by the first Wilcoxon test, not with this module: it takes longer to
import than the rest of srbench's tables, and listing or formatting results never needs it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = ["TESTS", "PairedTest", "bootstrap_ci", "paired_test"]

Test = Literal["wilcoxon", "bootstrap"]
Alternative = Literal["two-sided", "greater", "less"]
#: The paired tests :func:`paired_test` runs.
TESTS = ("wilcoxon", "bootstrap")


def _resample_means(values: np.ndarray, n_boot: int, random_state: int) -> np.ndarray:
    # The generator is seeded per call, so every method with the same number of images is
    # resampled with the same image indices: intervals are reproducible and order-independent.
    rng = np.random.default_rng(random_state)
    index = rng.integers(0, len(values), size=(n_boot, len(values)))
    return values[index].mean(axis=1)


def bootstrap_ci(
    values: np.ndarray, confidence: float = 0.95, n_boot: int = 2000, random_state: int = 0
) -> tuple[Any, Any]:
    """Percentile bootstrap interval of the mean over images (NaN for fewer than 2 images).

    ``values`` is one method's per-image values, or an ``(images, methods)`` matrix whose columns
    are resampled together (one draw of image indices for all: the same intervals as one call
    per column, at a fraction of the cost); then ``low`` and ``high`` are arrays.

    Example:
        >>> lo, hi = bootstrap_ci(np.array([30.0, 31.0, 32.0, 33.0]))
        >>> 30.0 <= lo < 31.5 < hi <= 33.0
        True
    """
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        nan = np.full(values.shape[1:], math.nan)
        return (math.nan, math.nan) if values.ndim == 1 else (nan, nan.copy())
    means = _resample_means(values, n_boot, random_state)
    lo, hi = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2], axis=0)
    return (float(lo), float(hi)) if values.ndim == 1 else (lo, hi)


@dataclass(frozen=True)
class PairedTest:
    """The outcome of a paired test of ``a - b`` over the images both have.

    Attributes:
        n: Images compared (pairs with a finite value on both sides).
        mean_diff: Mean of ``a - b``.
        p_value: The test's p-value (1.0 when every difference is zero).
        test: ``wilcoxon`` (signed-rank, exact for small n) or ``bootstrap`` (paired resampling).
        alternative: ``two-sided``, ``greater`` (a > b) or ``less``.
        min_p: The smallest p-value this test can give with these ``n`` images; when it is above
            the significance level, the test cannot call any difference significant.
    """

    n: int
    mean_diff: float
    p_value: float
    test: str
    alternative: str
    min_p: float

    def significant(self, alpha: float) -> bool:
        """Whether the difference is significant at ``alpha``."""
        return self.p_value < alpha

    def decidable(self, alpha: float) -> bool:
        """Whether any outcome of this test could be significant at ``alpha``."""
        return self.min_p < alpha


def paired_test(
    a: np.ndarray,
    b: np.ndarray,
    test: Test = "wilcoxon",
    alternative: Alternative = "two-sided",
    n_boot: int = 2000,
    random_state: int = 0,
) -> PairedTest:
    """Test whether per-image values ``a`` differ from ``b`` (same images, same order).

    ``wilcoxon`` is scipy's signed-rank test (zero differences dropped, exact distribution for
    small samples); ``bootstrap`` resamples images and reads the p-value off the share of
    resampled mean differences on the other side of zero.

    Example:
        >>> a = np.array([30.1, 29.2, 31.3, 28.4, 30.5, 29.6])
        >>> result = paired_test(a, a - 0.1, alternative="greater")
        >>> result.n, round(result.p_value, 4)
        (6, 0.0156)
    """
    if test not in TESTS:
        raise ValueError(f"unknown paired test {test!r}; choose one of {', '.join(TESTS)}.")
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    finite = np.isfinite(a) & np.isfinite(b)
    diff = a[finite] - b[finite]
    n = len(diff)
    mean = float(diff.mean()) if n else math.nan
    sides = 1 if alternative != "two-sided" else 2
    if test == "wilcoxon":
        nonzero = diff[diff != 0]
        min_p = min(1.0, sides / 2.0 ** len(nonzero)) if len(nonzero) else 1.0
        p = _wilcoxon_p(nonzero, alternative) if len(nonzero) else 1.0
    else:
        min_p = min(1.0, sides * max(1.0 / (n_boot + 1), float(n) ** -n if n else 1.0))
        p = _bootstrap_p(diff, alternative, n_boot, random_state) if n and diff.any() else 1.0
    return PairedTest(n, mean, p, test, alternative, min_p)


def _wilcoxon_p(nonzero: np.ndarray, alternative: str) -> float:
    from scipy import stats  # lazy: see the module docstring

    return float(stats.wilcoxon(nonzero, alternative=alternative).pvalue)


def _bootstrap_p(diff: np.ndarray, alternative: str, n_boot: int, random_state: int) -> float:
    means = _resample_means(diff, n_boot, random_state)
    # (count + 1) / (B + 1): a resampling p-value is never exactly zero
    below = (np.count_nonzero(means <= 0) + 1) / (n_boot + 1)
    above = (np.count_nonzero(means >= 0) + 1) / (n_boot + 1)
    if alternative == "greater":
        return float(below)
    if alternative == "less":
        return float(above)
    return float(min(1.0, 2 * min(below, above)))
