"""rgb2ycbcr / ycbcr2rgb against MATLAB's scores of the RCAN outputs and scikit-image."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from skimage.color import rgb2ycbcr as sk_rgb2ycbcr
from skimage.color import ycbcr2rgb as sk_ycbcr2rgb

import srbench
from srbench.color import luma, rgb2ycbcr, ycbcr2rgb
from srbench.errors import UnsupportedImageError
from srbench.imageio import modcrop, read_image, rgb2y


def _psnr_y(sr: np.ndarray, hr: np.ndarray, shave: int) -> float:
    a, b = rgb2ycbcr(sr)[..., 0], rgb2ycbcr(hr)[..., 0]
    crop = (slice(shave, -shave), slice(shave, -shave))
    return float(10 * np.log10(255**2 / np.mean((a[crop] - b[crop]) ** 2)))


def test_y_of_rgb2ycbcr_reproduces_matlab_psnr(shared):
    """matlab_results.csv holds MATLAB's PSNR on Y of rgb2ycbcr, to 6 decimals."""
    rcan = shared / "rcan_set5"
    ref = pd.read_csv(rcan / "matlab_results.csv")
    for row in ref.itertuples():
        sr = read_image(rcan / f"SR_RCAN/X{row.scale}/{row.image_id}.png")
        hr = modcrop(read_image(rcan / f"HR/X{row.scale}/{row.image_id}.png"), row.scale)
        assert _psnr_y(sr, hr, row.scale) == pytest.approx(row.psnr_y, abs=1e-6), row


def test_matches_scikit_image_and_round_trips(shared, rng):
    img = read_image(shared / "rcan_set5/HR/X2/baby.png")
    ycc = rgb2ycbcr(img)
    assert ycc.dtype == np.float64
    np.testing.assert_allclose(ycc, sk_rgb2ycbcr(img), atol=1e-10, rtol=0)
    np.testing.assert_allclose(ycbcr2rgb(ycc), img, atol=1e-10, rtol=0)
    np.testing.assert_allclose(ycbcr2rgb(ycc), 255 * sk_ycbcr2rgb(ycc), atol=1e-10, rtol=0)
    floats = rng.random((17, 9, 3)) * 255  # float input on 0..255, any value
    np.testing.assert_allclose(rgb2ycbcr(floats), sk_rgb2ycbcr(floats / 255), atol=1e-10)
    np.testing.assert_allclose(ycbcr2rgb(rgb2ycbcr(floats)), floats, atol=1e-10, rtol=0)


def test_ranges_and_one_definition_of_luma(rng):
    corners = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 0, 255]]], np.uint8)
    ycc = rgb2ycbcr(corners)[0]
    np.testing.assert_allclose(ycc[0], [16, 128, 128], atol=1e-12)
    np.testing.assert_allclose(ycc[1], [235, 128, 128], atol=1e-12)
    assert ycc[3, 1] == pytest.approx(240) and ycc[2, 2] == pytest.approx(240)
    img = rng.integers(0, 256, (31, 23, 3), dtype=np.uint8)
    # the y protocol's luma is this Y, bit for bit, then float32
    assert np.array_equal(rgb2ycbcr(img)[..., 0], luma(img))
    assert np.array_equal(rgb2y(img), luma(img).astype(np.float32))
    assert srbench.rgb2ycbcr is rgb2ycbcr and srbench.ycbcr2rgb is ycbcr2rgb


def test_a_gray_image_is_refused_with_the_fix():
    with pytest.raises(UnsupportedImageError, match="to_rgb"):
        rgb2ycbcr(np.zeros((4, 4), np.uint8))


def _check_luma_tables(blues: np.ndarray) -> None:
    levels = np.arange(256, dtype=np.uint8)
    colours = np.stack(np.meshgrid(levels, levels, blues, indexing="ij"), axis=-1)
    reference = luma(colours.astype(np.float64))
    assert np.array_equal(luma(colours), reference)
    flipped = colours[::-1, 3:, ::-1]  # a negative channel stride takes the three-table path
    assert np.array_equal(luma(flipped), luma(flipped.astype(np.float64)))
    out = np.empty(colours.shape[:-1])
    assert luma(colours, out=out) is out and np.array_equal(out, reference)


def test_luma_tables_give_the_arithmetic_bit_for_bit():
    """uint8 luma is looked up (red and green in one table, blue in another): every entry of
    the red-green table, with a few blues, gets the bits of the float arithmetic."""
    _check_luma_tables(np.array([0, 1, 127, 128, 254, 255], np.uint8))


@pytest.mark.slow
def test_luma_tables_give_the_arithmetic_bit_for_bit_for_every_colour():
    """All 16.7M colours."""
    _check_luma_tables(np.arange(256, dtype=np.uint8))
