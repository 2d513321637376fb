"""PSNR/SSIM against MATLAB's scores and scikit-image; the protocols' colour and border rules."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from srbench.errors import SizeMismatchError, UnknownNameError, UnsupportedImageError
from srbench.imageio import rgb2y
from srbench.metrics import METRICS, get_protocol, score_pair
from srbench.metrics.fidelity import psnr, ssim
from tests.conftest import run_cli


@pytest.mark.parametrize("scale", [2, 3])
def test_eval_cli_reproduces_matlab_scores(shared, scale):
    rcan = shared / "rcan_set5"
    result = run_cli(
        "eval",
        "--sr",
        rcan / f"SR_RCAN/X{scale}",
        "--hr",
        rcan / f"HR/X{scale}",
        "-s",
        scale,
        "-f",
        "csv",
    )
    ours = pd.read_csv(pd.io.common.StringIO(result.stdout)).set_index("image")
    ref = pd.read_csv(rcan / "matlab_results.csv")
    ref = ref[ref.scale == scale].set_index("image_id")
    assert sorted(ours.index) == sorted(ref.index)
    np.testing.assert_allclose(ours.loc[ref.index, "psnr"], ref.psnr_y, atol=1e-4, rtol=0)
    np.testing.assert_allclose(ours.loc[ref.index, "ssim"], ref.ssim_y, atol=1e-5, rtol=0)
    assert (ours.protocol == f"y-shave{scale}").all()


def _pair(rng, shape=(64, 80), noise=20):
    hr = rng.integers(0, 256, shape, dtype=np.uint8).astype(np.float64)
    sr = np.clip(hr + rng.normal(0, noise, shape), 0, 255)
    return sr, hr


@pytest.mark.parametrize("shape", [(64, 80), (11, 11), (97, 33)])
def test_ssim_matches_scikit_image(rng, shape):
    sr, hr = _pair(rng, shape)
    ref = structural_similarity(
        sr, hr, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )
    assert ssim(sr, hr) == pytest.approx(ref, abs=1e-12)


def test_ssim_of_color_image_is_mean_over_channels(rng):
    sr, hr = _pair(rng, (40, 50, 3))
    ref = structural_similarity(
        sr,
        hr,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        channel_axis=2,
    )
    assert ssim(sr, hr) == pytest.approx(ref, abs=1e-12)


def test_ssim_refuses_images_smaller_than_its_window():
    with pytest.raises(SizeMismatchError, match="at least 11x11"):
        ssim(np.zeros((10, 30)), np.zeros((10, 30)))


def test_psnr_matches_scikit_image(rng):
    sr, hr = _pair(rng, (50, 60, 3))
    assert psnr(sr, hr) == pytest.approx(peak_signal_noise_ratio(hr, sr, data_range=255), abs=1e-12)
    assert psnr(hr, hr) == float("inf")


def test_y_protocol_scores_rgb_on_unrounded_float32_y(rng):
    hr = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    sr = np.clip(hr.astype(int) + rng.integers(-9, 10, hr.shape), 0, 255).astype(np.uint8)
    y_sr, y_hr = rgb2y(sr)[4:-4, 4:-4], rgb2y(hr)[4:-4, 4:-4]
    assert y_sr.dtype == np.float32 and not np.all(y_sr == np.round(y_sr))
    assert score_pair(sr, hr, 4)["psnr"] == pytest.approx(psnr(y_sr, y_hr), abs=1e-12)


def test_rgb2y_matches_scikit_image():
    from skimage.color import rgb2ycbcr

    img = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    np.testing.assert_allclose(rgb2y(img), rgb2ycbcr(img)[..., 0], atol=1e-4)


def test_gray_hr_is_scored_on_gray_values_and_rgb_sr_reduced(rng):
    hr = rng.integers(0, 256, (40, 40), dtype=np.uint8)
    sr_gray = np.clip(hr.astype(int) + rng.integers(-5, 6, hr.shape), 0, 255).astype(np.uint8)
    sr_rgb = np.repeat(sr_gray[..., None], 3, axis=2)
    direct = psnr(sr_gray[2:-2, 2:-2], hr[2:-2, 2:-2])
    assert score_pair(sr_gray, hr, 2)["psnr"] == pytest.approx(direct, abs=1e-12)
    assert score_pair(sr_rgb, hr, 2) == score_pair(sr_gray, hr, 2)
    # Scoring the replicated image's Y instead (the common mistake) gives another number.
    wrong = psnr(rgb2y(sr_rgb)[2:-2, 2:-2], rgb2y(np.repeat(hr[..., None], 3, 2))[2:-2, 2:-2])
    assert abs(wrong - direct) > 0.1


def test_gray_sr_for_rgb_hr_is_refused(rng):
    hr = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    with pytest.raises(UnsupportedImageError, match="SR image is gray but its HR image is RGB"):
        score_pair(hr[..., 0], hr, 2)


def test_rgb_protocol_uses_all_channels(rng):
    hr = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    sr = hr.copy()
    sr[..., 2] = np.clip(sr[..., 2].astype(int) + 7, 0, 255)
    rgb = score_pair(sr, hr, 4, get_protocol("rgb"))
    expected = peak_signal_noise_ratio(hr[4:-4, 4:-4], sr[4:-4, 4:-4], data_range=255)
    assert rgb["psnr"] == pytest.approx(expected, abs=1e-12)
    assert score_pair(sr, hr, 4)["psnr"] != pytest.approx(rgb["psnr"])


def test_shave_is_configurable_and_recorded(rng):
    hr = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    sr = hr.copy()
    sr[0, 0] = 255 - sr[0, 0]  # differs only in the corner pixel
    assert score_pair(sr, hr, 4)["psnr"] == float("inf")
    assert score_pair(sr, hr, 4, get_protocol("y", shave=0))["psnr"] < 100
    assert get_protocol("y").key(4) == "y-shave4"
    assert get_protocol("rgb", shave=0).key(4) == "rgb-shave0"


def test_a_shave_that_leaves_nothing_is_refused(rng):
    hr = rng.integers(0, 256, (16, 40, 3), dtype=np.uint8)
    assert score_pair(hr, hr, 4, get_protocol("y", shave=7), ["psnr"])["psnr"] == float("inf")
    with pytest.raises(SizeMismatchError, match="Nothing is left of a 40x16 image after shaving 8"):
        score_pair(hr, hr, 4, get_protocol("y", shave=8), ["psnr"])


def test_hr_is_modcropped_before_scoring(rng):
    hr = rng.integers(0, 256, (43, 46, 3), dtype=np.uint8)
    assert score_pair(hr[:42, :45], hr, 3)["psnr"] == float("inf")


def test_metric_metadata_lives_in_the_registry():
    info = METRICS.get("PSNR")
    assert (info.higher_is_better, info.level, info.version, info.unit) == (
        True,
        "image",
        "1",
        "dB",
    )
    assert METRICS.get("ssim").higher_is_better


def test_unknown_protocol_and_metric_are_named():
    with pytest.raises(UnknownNameError, match="Unknown protocol 'ycbcr'"):
        get_protocol("ycbcr")
    with pytest.raises(UnknownNameError, match="Did you mean 'psnr'"):
        METRICS.get("psrn")


def test_json_output_has_means_and_images(tmp_path, rng):
    from srbench.imageio import write_png

    hr = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    write_png(tmp_path / "hr" / "a.png", hr)
    write_png(tmp_path / "sr" / "a.png", hr)
    out = json.loads(
        run_cli(
            "eval", "--sr", tmp_path / "sr", "--hr", tmp_path / "hr", "-s", 2, "-f", "json"
        ).stdout
    )
    assert out["protocol"] == "y-shave2" and out["n_images"] == 1
    assert out["mean"]["psnr"] is None and out["mean"]["ssim"] == 1.0  # inf is written as null
