"""imresize against MATLAB's own LR images and against resize-right (an independent port)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from srbench.errors import SrbenchError
from srbench.imageio import read_image
from srbench.resize import KERNELS, imresize, output_shape
from tests.conftest import run_cli

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "No PyTorch found": resize-right works on numpy here
    import resize_right


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_degrade_cli_reproduces_matlab_lr_bit_for_bit(shared, tmp_path, scale):
    rcan = shared / "rcan_set5"
    run_cli(
        "degrade", "--hr", rcan / f"HR/X{scale}", "-s", scale, "--out", tmp_path, "--no-progress"
    )
    expected = sorted((rcan / f"LR_bicubic/X{scale}").glob("*.png"))
    assert len(expected) == 5
    for path in expected:
        ours, matlab = read_image(tmp_path / path.name), read_image(path)
        assert ours.shape == matlab.shape, path.name
        assert np.array_equal(ours, matlab), f"{path.name}: {(ours != matlab).sum()} pixels differ"


# Sizes that are exact multiples, so MATLAB's scale and resize-right's out/in scale agree.
@pytest.mark.parametrize(
    "scale", [1 / 4, 1 / 3, 3 / 8, 1 / 2, 5 / 8, 4 / 5, 5 / 4, 3 / 2, 5 / 2, 3, 4]
)
def test_float_mode_matches_resize_right_in_the_interior(rng, scale):
    img = rng.random((240, 120, 3))
    ours = imresize(img, scale)
    ref = resize_right.resize(img, scale_factors=[scale, scale, 1])
    assert ours.shape == ref.shape
    margin = 12  # resize-right mirrors at the border where MATLAB clamps
    np.testing.assert_allclose(
        ours[margin:-margin, margin:-margin], ref[margin:-margin, margin:-margin], atol=1e-12
    )


RESIZE_RIGHT_KERNELS = {
    "bicubic": resize_right.interp_methods.cubic,
    "bilinear": resize_right.interp_methods.linear,
    "lanczos2": resize_right.interp_methods.lanczos2,
    "lanczos3": resize_right.interp_methods.lanczos3,
}


@pytest.mark.parametrize("method", list(RESIZE_RIGHT_KERNELS))
@pytest.mark.parametrize("scale", [1 / 4, 1 / 3, 5 / 8, 3 / 2, 2, 3])
def test_every_kernel_matches_resize_right(rng, method, scale):
    """At 1/3 a tap falls at distance 0, where the kernels' eps terms decide the weight."""
    img = rng.random((240, 120))
    ours = imresize(img, scale, method=method)
    ref = resize_right.resize(
        img, scale_factors=[scale, scale], interp_method=RESIZE_RIGHT_KERNELS[method]
    )
    m = 12
    # resize-right's Lanczos adds float32's eps where MATLAB adds float64's: ~1e-7 apart.
    atol = 1e-6 if method.startswith("lanczos") else 1e-12
    np.testing.assert_allclose(ours[m:-m, m:-m], ref[m:-m, m:-m], atol=atol)


def test_nearest_picks_pixels_and_does_not_antialias(rng):
    img = rng.integers(0, 256, (12, 8), dtype=np.uint8)
    # Ties go to the later pixel: MATLAB's imresize(1:8, 0.5, 'nearest') is [2 4 6 8].
    assert np.array_equal(imresize(img, 1 / 2, method="nearest"), img[1::2, 1::2])
    assert np.array_equal(imresize(img, 1 / 4, method="nearest"), img[2::4, 2::4])
    assert np.array_equal(imresize(img, 3, method="nearest"), img.repeat(3, 0).repeat(3, 1))


@pytest.mark.parametrize("shape", [(73, 61), (300, 211), (100, 290), (50, 50)])
def test_output_shape_argument_matches_resize_right(rng, shape):
    img = rng.random((157, 143))
    ours = imresize(img, shape=shape)
    ref = resize_right.resize(img, out_shape=shape)
    m = 12
    np.testing.assert_allclose(ours[m:-m, m:-m], ref[m:-m, m:-m], atol=1e-12)


def test_uint8_rounds_after_each_pass(rng):
    img = rng.integers(0, 256, (66, 48, 3), dtype=np.uint8)
    once = imresize(img, 1 / 3)
    # Emulate MATLAB: height pass, round to uint8, width pass, round.
    rows = imresize(img.astype(np.float64), shape=(22, 48))
    rows = np.clip(np.floor(rows + 0.5), 0, 255)
    both = imresize(rows, shape=(22, 16))
    assert np.array_equal(once, np.clip(np.floor(both + 0.5), 0, 255).astype(np.uint8))
    float_path = np.clip(np.floor(imresize(img.astype(np.float64), 1 / 3) + 0.5), 0, 255)
    assert not np.array_equal(once, float_path)  # the intermediate rounding matters


def test_output_size_is_matlab_ceil():
    assert output_shape((255, 256), 1 / 3) == (85, 86)
    assert imresize(np.zeros((7, 10), np.uint8), 0.5).shape == (4, 5)
    assert imresize(np.zeros((7, 10), np.float32), 2.5).dtype == np.float32


@pytest.mark.parametrize("method", list(KERNELS))
@pytest.mark.parametrize("scale", [1 / 4, 0.7, 1.3, 3])
def test_constant_image_stays_constant(method, scale):
    img = np.full((30, 20, 3), 137, np.uint8)
    assert (imresize(img, scale, method=method) == 137).all()


def test_saturates_overshoot():
    img = np.zeros((16, 16), np.uint8)
    img[:, 8:] = 255  # bicubic overshoots on both sides of the edge
    out = imresize(img, 3)
    float_out = imresize(img.astype(np.float64), 3)
    assert float_out.max() > 255 and float_out.min() < 0
    assert out.max() == 255 and out.min() == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": 0.5, "method": "cubic"}, "Unknown resize method 'cubic'"),
        ({"scale": -2}, "positive finite"),
        ({"scale": None}, "exactly one of scale= or shape="),
        ({"scale": 0.5, "boundary": "wrap"}, "Unknown boundary"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(SrbenchError, match=message):
        imresize(np.zeros((8, 8), np.uint8), **kwargs)


def test_rejects_integer_dtypes_other_than_uint8():
    with pytest.raises(SrbenchError, match="uint8 and float"):
        imresize(np.zeros((8, 8), np.uint16), 0.5)


@pytest.mark.parametrize(("scale", "pad"), [(1 / 4, 16), (1 / 2, 8), (3, 4), (2, 4)])
def test_symmetric_boundary_equals_resizing_a_mirrored_image(rng, scale, pad):
    """Mirror-padding by hand, resizing, and cropping the padding back off gives the same image."""
    img = rng.random((32, 24))
    padded = np.pad(img, pad, mode="symmetric")  # MATLAB's [1:n, n:-1:1] mirror
    crop = int(pad * scale)
    expected = imresize(padded, scale)[crop:-crop, crop:-crop]
    np.testing.assert_allclose(imresize(img, scale, boundary="symmetric"), expected, atol=1e-12)
    assert not np.allclose(imresize(img, scale), expected)  # clamping differs at the border


def test_bicubic_upscale_is_imresize_on_floats_and_beats_the_uint8_path(shared):
    """No MATLAB golden file holds a float upscale; the float path is imresize on float64 (which
    matches resize-right above) and the uint8 path is MATLAB's imresize(uint8) (which reproduces
    MATLAB's LR images bit for bit above). Here: what rounding after each pass costs."""
    from srbench import bicubic_upscale
    from srbench.color import rgb2ycbcr
    from srbench.imageio import modcrop, quantize

    rcan = shared / "rcan_set5"
    lr = read_image(rcan / "LR_bicubic/X2/baby.png")
    hr_y = rgb2ycbcr(modcrop(read_image(rcan / "HR/X2/baby.png"), 2))[..., 0][2:-2, 2:-2]
    y = rgb2ycbcr(lr)[..., 0]
    floats = bicubic_upscale(y, 2)
    assert floats.dtype == np.float64
    assert np.array_equal(floats, imresize(y, 2))
    assert np.array_equal(bicubic_upscale(lr, 2), imresize(lr.astype(np.float64), 2))
    # The trap: Y rounded to uint8 (MATLAB's rgb2ycbcr on uint8), then rounded after each pass.
    rounded = imresize(quantize(y), 2).astype(np.float64)
    gap = np.abs(floats - rounded)
    # three roundings of at most 0.5, the first two through the kernel (sum of |taps| < 1.2)
    assert 0.5 < gap.max() < 0.5 * 1.2 * 1.2 + 0.5 * 1.2 + 0.5

    def psnr(sr: np.ndarray) -> float:
        return float(10 * np.log10(255**2 / np.mean((sr[2:-2, 2:-2] - hr_y) ** 2)))

    assert psnr(floats) - psnr(rounded) > 0.05  # 0.065 dB on baby x2


def test_uint8_upscale_warns_only_inside_warn_uint8_upscales(rng):
    from srbench.resize import UINT8_UPSCALE_MESSAGE, warn_uint8_upscales

    img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    heard: list[str] = []
    imresize(img, 2)  # outside: silent
    with warn_uint8_upscales(heard.append):
        imresize(img, 1 / 2)  # a downscale makes LR images: silent
        imresize(img.astype(np.float64), 2)  # the float path: silent
        assert heard == []
        imresize(img, 2)
    imresize(img, 2)
    assert heard == [UINT8_UPSCALE_MESSAGE]
    assert "bicubic_upscale" in UINT8_UPSCALE_MESSAGE


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_the_float_passes_rounded_as_matlab_rounds_uint8_give_matlabs_lr_images(shared, scale):
    """The nearest a golden file comes to MATLAB's double imresize (no float output is stored):
    the float path, one axis at a time with MATLAB's uint8 rounding between and after the
    passes, reproduces MATLAB's LR images bit for bit; so its unrounded values are MATLAB's."""
    from srbench.imageio import modcrop, quantize

    rcan = shared / "rcan_set5"
    for path in sorted((rcan / f"LR_bicubic/X{scale}").glob("*.png")):
        hr = modcrop(read_image(rcan / f"HR/X{scale}" / path.name), scale).astype(np.float64)
        h, w = hr.shape[0] // scale, hr.shape[1] // scale
        rows = quantize(imresize(hr, shape=(h, hr.shape[1])))  # height first, as MATLAB
        lr = quantize(imresize(rows.astype(np.float64), shape=(h, w)))
        assert np.array_equal(lr, read_image(path)), path.name
