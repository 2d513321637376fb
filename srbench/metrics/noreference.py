"""No-reference image quality: BRISQUE as the LIVE MATLAB release computes it.

This is srbench's own implementation of ``brisquescore.m`` + ``brisque_feature.m`` +
``estimateggdparam.m`` + ``estimateaggdparam.m`` of the LIVE release (Mittal, Moorthy and Bovik,
2011), with the release's SVR model ``allmodel`` (epsilon-SVR, RBF, 774 support vectors) and its
feature ranges ``allrange``, shipped as ``data/brisque_live.npz`` (see ``data/README.md`` for the
provenance and LIVE's copyright notice). No libsvm and no third-party BRISQUE package are needed.

Each step follows the MATLAB code:

* ``rgb2gray`` of the ``uint8`` RGB image (BT.601 weights, rounded to ``uint8``), as double;
* two scales; at each, the MSCN field ``(I - mu) / (sigma + 1)`` with ``mu`` and ``sigma`` from
  ``filter2`` (zero padding, ``'same'``) with the 7x7 Gaussian window of ``fspecial('gaussian',
  7, 7/6)``;
* a GGD fit of the MSCN field and AGGD fits of its products with the four ``circshift``-ed
  neighbours ``[0 1; 1 0; 1 1; -1 1]`` (wrapping around the image edges), the shapes chosen on
  the grid ``0.2:0.001:10`` by moment matching, as the ``.m`` files do;
* the second scale from ``imresize(I, 0.5)`` (bicubic, antialiased, mirrored edges) on the double
  image, without rounding;
* the 36 features written with ``fprintf('%f')``, scaled to [-1, 1] by ``svm-scale -r allrange``
  (which prints ``%g``), and the score from ``svm-predict`` of the RBF epsilon-SVR: these text
  round trips are reproduced, as they move the score in the fourth decimal.

One deliberate deviation, for images with exactly flat areas. Where the 7x7 neighbourhood of a
pixel is constant, ``I - mu`` is 0 in exact arithmetic, but a floating-point ``filter2`` leaves a
residue of about 1e-14 whose sign depends on the order in which the filter sums its 49 products
(MATLAB's ``conv2``, SciPy's ``correlate`` and OpenCV's ``filter2D`` each have their own). The
AGGD fit counts the products of such residues as negative or positive samples, so the score of an
image with large flat areas depends on that order, and no implementation outside MATLAB can
reproduce MATLAB's residues. srbench uses the exact-arithmetic value: ``|I - mu|`` at or below
``FLAT_TOLERANCE`` is set to 0, which makes the score independent of the summation order. Effect:
none on images without flat areas (pyiqa's TID2013 ``I04``: -0.1076183, MATLAB -0.107618);
1e-4 to 1e-2 on scikit-image's photographs with small saturated areas; points on images with
large flat areas (TID2013 ``I19``, 30 % flat: MATLAB 72.26, srbench 74.43, 64.0 to 65.3 when the
residues of SciPy, OpenCV or other summation orders are kept).
"""

from __future__ import annotations

import functools
import importlib.resources
import io
from dataclasses import dataclass

import numpy as np

from srbench.errors import SizeMismatchError
from srbench.imageio import rgb2gray
from srbench.metrics.base import MetricInfo, register_metric

__all__ = [
    "BRISQUE_METRIC",
    "FLAT_TOLERANCE",
    "MIN_SIDE",
    "brisque",
    "brisque_features",
    "brisque_from_features",
    "scale_features",
]

#: Both sides must hold the 7x7 window at half scale. Smaller images have a defined value in
#: MATLAB, but it rests on a handful of pixels: BRISQUE is meant for photographs, not thumbnails.
MIN_SIDE = 14
#: ``|I - mu|`` at or below this is rounding residue of a flat neighbourhood and is set to 0. The
#: residue is at most about 49 products x 255 x 2**-52 ~ 3e-12 on [0, 255] images (1.1e-13 seen);
#: the smallest real difference seen is 4.7e-9 (at half scale; 1.5e-7 at full scale) over the
#: TID2013 and scikit-image photographs. A real difference below the tolerance would merely count
#: as zero in the AGGD fit instead of on one side.
FLAT_TOLERANCE = 1e-10

_MODEL_FILE = "brisque_live.npz"
#: ``gam = 0.2:0.001:10`` of both ``.m`` files; k / 1000 is what MATLAB's colon rounds to.
_GAM = np.arange(200, 10001) / 1000.0


@functools.cache
def _ratios() -> tuple[np.ndarray, np.ndarray]:
    """Moment ratios of the GGD (``estimateggdparam.m``) and the AGGD (``estimateaggdparam.m``)
    on the grid ``_GAM``, computed once, on first use (the ``.m`` files recompute them on every
    call; at import they would load scipy.special for every ``srbench`` command)."""
    from scipy.special import gamma as gamma_fn

    r_ggd = gamma_fn(1 / _GAM) * gamma_fn(3 / _GAM) / gamma_fn(2 / _GAM) ** 2
    r_aggd = gamma_fn(2 / _GAM) ** 2 / (gamma_fn(1 / _GAM) * gamma_fn(3 / _GAM))
    return r_ggd, r_aggd


#: ``shifts = [0 1; 1 0; 1 1; -1 1]`` of ``brisque_feature.m``: horizontal, vertical, two diagonals.
_SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))


def _gaussian_window() -> np.ndarray:
    """``fspecial('gaussian', 7, 7/6)``, then divided by its sum again as the ``.m`` file does."""
    x = np.arange(-3, 4, dtype=np.float64)
    h = np.exp(-(x[None, :] ** 2 + x[:, None] ** 2) / (2 * (7 / 6) * (7 / 6)))
    h[h < np.finfo(np.float64).eps * h.max()] = 0  # fspecial's cut; removes nothing at 7x7
    h /= h.sum()
    return h / h.sum()


_WINDOW = _gaussian_window()


@dataclass(frozen=True)
class _Model:
    """The release's SVR (``allmodel``) and feature scaling (``allrange``) as arrays."""

    support_vectors: np.ndarray  # (774, 36), already in the scaled [-1, 1] feature space
    dual_coef: np.ndarray  # (774,)
    rho: float
    gamma: float
    feature_min: np.ndarray  # (36,)
    feature_max: np.ndarray  # (36,)
    lower: float
    upper: float


@functools.cache
def _model() -> _Model:
    """The shipped model, read once (a 170 kB file, a few milliseconds)."""
    raw = (importlib.resources.files("srbench.metrics") / "data" / _MODEL_FILE).read_bytes()
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        lower, upper = (float(v) for v in npz["lower_upper"])
        return _Model(
            support_vectors=npz["support_vectors"],
            dual_coef=npz["dual_coef"],
            rho=float(npz["rho"]),
            gamma=float(npz["gamma"]),
            feature_min=npz["feature_min"],
            feature_max=npz["feature_max"],
            lower=lower,
            upper=upper,
        )


# --------------------------------------------------------------------------------- features


def _filter2(img: np.ndarray) -> np.ndarray:
    """``filter2(window, img, 'same')``: correlation with zeros outside the image."""
    import scipy.ndimage

    return scipy.ndimage.correlate(img, _WINDOW, mode="constant", cval=0.0)


def _mscn(img: np.ndarray) -> np.ndarray:
    """The mean-subtracted contrast-normalised field ``structdis`` of ``brisque_feature.m``."""
    mu = _filter2(img)
    # abs(): rounding can make the local variance slightly negative, as in MATLAB.
    sigma = np.sqrt(np.abs(_filter2(img * img) - mu * mu))
    centred = img - mu
    centred[np.abs(centred) <= FLAT_TOLERANCE] = 0.0  # flat neighbourhoods: see module docstring
    return centred / (sigma + 1)


def _mean(values: np.ndarray) -> float:
    """MATLAB's ``mean``, which gives NaN for an empty vector; under NumPy that also warns."""
    return float(values.sum() / values.size) if values.size else float("nan")


def _ggd(vec: np.ndarray) -> tuple[float, float]:
    """``estimateggdparam.m``: shape on the grid by moment matching, and ``sigma^2``."""
    sigma_sq = _mean(vec * vec)
    e = _mean(np.abs(vec))
    rho = sigma_sq / e**2
    # argmin of an all-NaN vector is its first element, as MATLAB's min (uniform image).
    alpha = _GAM[np.argmin(np.abs(rho - _ratios()[0]))]
    return float(alpha), float(np.sqrt(sigma_sq) ** 2)


def _aggd(vec: np.ndarray) -> tuple[float, float, float]:
    """``estimateaggdparam.m``: shape, left and right standard deviations.

    Zeros (pairs with a flat pixel) belong to neither side but count in ``rhat``, as in MATLAB.
    """
    sq = vec * vec
    left = np.sqrt(_mean(sq[vec < 0]))
    right = np.sqrt(_mean(sq[vec > 0]))
    gamma_hat = left / right
    rhat = _mean(np.abs(vec)) ** 2 / _mean(sq)
    rhat_norm = rhat * (gamma_hat**3 + 1) * (gamma_hat + 1) / (gamma_hat**2 + 1) ** 2
    alpha = _GAM[np.argmin((_ratios()[1] - rhat_norm) ** 2)]
    return float(alpha), float(left), float(right)


def _features_of_gray(gray: np.ndarray) -> np.ndarray:
    """``brisque_feature.m`` on a double image with [0, 255] values: 36 features, unrounded."""
    from scipy.special import gamma as gamma_fn

    from srbench.resize import imresize

    img = np.asarray(gray, dtype=np.float64)
    feats: list[float] = []
    with np.errstate(divide="ignore", invalid="ignore"):  # uniform images: NaN, quietly
        for scale in range(2):
            mscn = _mscn(img)
            alpha, var = _ggd(mscn.ravel())
            feats += [alpha, var]
            for shift in _SHIFTS:
                # np.roll is MATLAB's circshift: the last row/column pairs with the first.
                pair = (mscn * np.roll(mscn, shift, axis=(0, 1))).ravel()
                alpha, left, right = _aggd(pair)
                g1, g2, g3 = gamma_fn(1 / alpha), gamma_fn(2 / alpha), gamma_fn(3 / alpha)
                mean = (right - left) * (g2 / g1) * (np.sqrt(g1) / np.sqrt(g3))
                feats += [alpha, float(mean), left**2, right**2]
            if scale == 0:
                # MATLAB's imresize(imdist, 0.5) on a double image: bicubic, antialiased, edges
                # mirrored, float result (not rounded to uint8).
                img = imresize(img, 0.5, method="bicubic", boundary="symmetric")
    return np.array(feats)


def _to_gray(image: np.ndarray) -> np.ndarray:
    """What ``brisquescore.m`` scores: ``rgb2gray`` of RGB, the image itself if gray (float64).

    Only ``uint8`` is accepted: ``brisquescore.m`` casts RGB to ``uint8`` but takes a gray image
    as it is, so a float image would be scored on a scale the model was not trained on (srbench's
    floats are [0, 255] without rounding; other libraries' are [0, 1]).
    """
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise TypeError(f"brisque expects uint8 images, got {img.dtype}; quantize() it first.")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 3 and img.shape[2] == 3:
        # MATLAB's rgb2gray (BT.601, rounded to uint8); equal channels give that channel exactly,
        # so gray replicated to RGB scores as the gray image.
        img = rgb2gray(img)
    if img.ndim != 2:
        raise ValueError(f"brisque expects (H, W), (H, W, 1) or (H, W, 3), got {image.shape}.")
    if min(img.shape) < MIN_SIDE:
        raise SizeMismatchError(
            f"BRISQUE needs images of at least {MIN_SIDE}x{MIN_SIDE} after shaving, got "
            f"{img.shape[1]}x{img.shape[0]}; use a smaller --shave or larger images."
        )
    return img.astype(np.float64)


def brisque_features(image: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features of an image, as ``brisque_feature.m`` returns them (unrounded).

    Order per scale (full, then half): GGD shape and variance of the MSCN field, then for each
    neighbour (horizontal, vertical, main and anti diagonal) AGGD shape, mean, left and right
    variances.

    Args:
        image: ``uint8`` image, ``(H, W, 3)`` RGB or ``(H, W)`` / ``(H, W, 1)`` gray, at least
            ``MIN_SIDE`` pixels on each side.
    """
    return _features_of_gray(_to_gray(image))


# ------------------------------------------------------------------------ scaling and the SVR


def _printf(values: np.ndarray, spec: str) -> np.ndarray:
    """Round-trip through C ``printf``; Python's formatting rounds the exact binary value as C's
    does, unlike ``np.round`` (36 values, not pixels)."""
    return np.array([float(format(float(v), spec)) for v in values])


def scale_features(features: np.ndarray) -> np.ndarray:
    """The text ``svm-scale -r allrange`` prints for features written with ``fprintf('%f')``.

    Values outside the training range are not clipped (neither does ``svm-scale``).
    """
    m = _model()
    value = _printf(np.asarray(features, dtype=np.float64).ravel(), ".6f")
    if value.shape != m.feature_min.shape:
        raise ValueError(f"BRISQUE has {m.feature_min.size} features, got {value.size}.")
    # svm-scale.c's expression and its exact-endpoint cases, evaluated in the same order:
    # lower + ((upper - lower) * (value - min)) / (max - min).
    span = m.feature_max - m.feature_min
    scaled = m.lower + (m.upper - m.lower) * (value - m.feature_min) / span
    scaled = np.where(value == m.feature_min, m.lower, scaled)
    scaled = np.where(value == m.feature_max, m.upper, scaled)
    return _printf(scaled, "g")


def brisque_from_features(features: np.ndarray) -> float:
    """The score ``brisquescore.m`` gives for 36 features: ``svm-scale``, then ``svm-predict``.

    ``svm-predict`` of an epsilon-SVR (``-b 1`` changes nothing for regression) is
    ``sum(coef * exp(-gamma * |sv - x|^2)) - rho``. MATLAB's ``output`` file holds it in ``%g``
    (six significant digits); srbench keeps full precision.
    """
    return _svr(scale_features(features))


def _svr(scaled: np.ndarray) -> float:
    """``svm-predict`` of ``allmodel`` on scaled features (774 kernel values, one dot product)."""
    m = _model()
    kernel = np.exp(-m.gamma * ((m.support_vectors - scaled) ** 2).sum(axis=1))
    return float(m.dual_coef @ kernel - m.rho)


def brisque(sr: np.ndarray, hr: np.ndarray | None = None) -> float:
    """BRISQUE of ``sr`` as the LIVE MATLAB release computes it; ``hr`` is ignored.

    Lower is better: about 0 for pristine photographs, 100 and more for heavy distortion. A
    uniform image has no local contrast to model and scores NaN.

    Args:
        sr: ``uint8`` image, ``(H, W, 3)`` RGB or ``(H, W)`` / ``(H, W, 1)`` gray, at least
            ``MIN_SIDE`` pixels on each side.
        hr: Unused; accepted so the metric has the ``compute(sr, hr)`` signature.
    """
    del hr  # no-reference: the HR image must not influence the value
    with np.errstate(invalid="ignore"):  # NaN features of a uniform image give a NaN score
        return brisque_from_features(brisque_features(sr))


BRISQUE_METRIC = register_metric(
    MetricInfo(
        "brisque",
        higher_is_better=False,
        level="image",
        version="1",
        compute=brisque,
        unit="",
        description=(
            "BRISQUE, no-reference, lower is better; reproduces the LIVE MATLAB release "
            "(brisquescore.m and its allmodel SVR)."
        ),
        inputs="rgb",
        reference=False,
    )
)
