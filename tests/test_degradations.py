"""Degradation specs, BD and DN as docs/protocol.md defines them, and per-image seeding."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import correlate

from srbench.degradations import DEGRADATIONS, DegradationContext, parse_spec
from srbench.degradations.classic import blur_ksize
from srbench.errors import SpecError, UnknownNameError

CTX = DegradationContext("set", "img", seed=0)


@pytest.mark.parametrize(
    ("spec", "scale", "canonical"),
    [
        ("bicubic", 4, "bicubic"),
        ("BI", 2, "bicubic"),
        ("BD", 3, "blur:ksize=7,sigma=1.6"),
        ("bd", 2, "blur:ksize=12,sigma=1.6"),
        ("blur", 5, "blur:ksize=11,sigma=1.6"),
        (" blur : sigma=2 , ksize=9 ", 4, "blur:ksize=9,sigma=2.0"),
        ("DN", 4, "noise:sigma=30.0"),
        ("noise:sigma=15", 4, "noise:sigma=15.0"),
    ],
)
def test_specs_parse_to_canonical_form(spec, scale, canonical):
    assert parse_spec(spec).canonical(scale) == canonical


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ("bicubc", UnknownNameError, "Did you mean 'bicubic'"),
        (
            "blur:radius=2",
            SpecError,
            "'blur' has no parameter 'radius' \\(parameters: sigma, ksize\\)",
        ),
        ("blur:sigma=abc", SpecError, "sigma='abc' is not a valid float"),
        ("blur:ksize=7.5", SpecError, "ksize='7.5' is not a valid int"),
        ("noise:sigma", SpecError, "not of the form key=value"),
        ("noise:sigma=-1", SpecError, "must not be negative"),
    ],
)
def test_bad_specs_are_explained(spec, error, message):
    with pytest.raises(error, match=message):
        parse_spec(spec)


def test_blur_sigma_zero_is_refused_before_any_work():
    with pytest.raises(SpecError, match="sigma > 0"):
        parse_spec("blur:sigma=0").canonical(4)


def test_every_degradation_has_a_version_and_description():
    for _, d in DEGRADATIONS.items():
        assert d.version and d.description


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_blur_matches_2d_fspecial_imfilter_replicate(rng, scale):
    """BD against a direct 2-D construction of fspecial + imfilter('replicate') + decimation."""
    hr = rng.integers(0, 256, (12 * scale, 10 * scale, 3), dtype=np.uint8)
    k, sigma = blur_ksize(1.6, scale), 1.6
    x = np.arange(k) - (k - 1) / 2
    kernel = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2))
    kernel /= kernel.sum()
    # MATLAB's centre is floor((k+1)/2) (1-based); scipy's origin counts from k // 2.
    origin = (k + 1) // 2 - 1 - k // 2
    blurred = np.stack(
        [
            correlate(hr[..., c].astype(float), kernel, mode="nearest", origin=origin)
            for c in range(3)
        ],
        -1,
    )
    blurred = np.clip(np.floor(blurred + 0.5), 0, 255).astype(np.uint8)
    first = scale - 1 if scale % 2 else scale // 2  # 1-based, docs/protocol.md
    expected = blurred[first - 1 :: scale, first - 1 :: scale][:12, :10]
    assert np.array_equal(parse_spec("BD")(hr, scale, CTX), expected)


def test_blur_kernel_sizes_follow_the_protocol():
    assert [blur_ksize(1.6, s) for s in (2, 3, 4, 5)] == [12, 7, 12, 11]


def test_noise_is_bicubic_plus_seeded_gaussian(rng):
    hr = rng.integers(60, 200, (256, 256, 3), dtype=np.uint8)
    clean = parse_spec("bicubic")(hr, 4, CTX).astype(float)
    noisy = parse_spec("noise:sigma=30")(hr, 4, CTX).astype(float)
    residual = (noisy - clean)[(clean > 100) & (clean < 155)]  # far from saturation
    assert residual.std() == pytest.approx(30, rel=0.05)
    assert abs(residual.mean()) < 1


def test_noise_seed_depends_on_image_spec_and_global_seed_only(rng):
    hr = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    dn = parse_spec("DN")
    first = dn(hr, 4, CTX)
    np.random.seed(99)  # global numpy state must not matter
    assert np.array_equal(first, parse_spec("noise:sigma=30")(hr, 4, CTX))
    for other in (
        DegradationContext("set", "img2"),
        DegradationContext("other", "img"),
        DegradationContext("set", "img", seed=1),
    ):
        assert not np.array_equal(first, dn(hr, 4, other))
    assert not np.array_equal(first, parse_spec("noise:sigma=29")(hr, 4, CTX))


def test_seed_is_stable_across_processes():
    # A pinned value: changing the seed derivation changes every noisy LR set; bump the version.
    assert parse_spec("DN").seed(CTX, 4) == 844639309160562332


def test_degradations_validate_their_input(rng):
    with pytest.raises(ValueError, match="multiples of the scale"):
        parse_spec("BI")(rng.integers(0, 256, (10, 12, 3), dtype=np.uint8), 4, CTX)
