"""LPIPS, FID and KID: the same code path with random backbones, and against the reference
packages when the real weights are in the torch hub cache (skipped with the reason otherwise)."""

from __future__ import annotations

import functools
import warnings

import cv2
import numpy as np
import pytest
from skimage import data

from srbench.errors import MissingWeightsError, SpecError
from srbench.metrics import METRICS, score_pair
from srbench.metrics.distribution import (
    InceptionFeatures,
    PatchSpec,
    fid_from_features,
    kid_from_features,
    parse_set_metric,
    patches,
)
from srbench.metrics.perceptual import _MARGIN, LpipsScorer, _to_unit_tensor, build_lpips
from srbench.run.setlevel import score_set
from srbench.weights import files as weights

torch = pytest.importorskip("torch")
pytest.importorskip("lpips")
pytest.importorskip("pytorch_fid")


@functools.cache
def _random_lpips(net: str) -> LpipsScorer:
    torch.manual_seed(0)
    return LpipsScorer(build_lpips(net, "cpu", random_backbone=True), net)


@functools.cache
def _random_inception(batch_size: int = 8) -> InceptionFeatures:
    return InceptionFeatures("cpu", batch_size, random_weights=True)


def _noisy(image: np.ndarray, sigma: float) -> np.ndarray:
    noise = np.random.default_rng(0).normal(0, sigma, image.shape)
    return np.clip(image + noise, 0, 255).round().astype(np.uint8)


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigma)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()[100:292, 150:342]  # 192 x 192, the face and the suit


@pytest.mark.slow
@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_is_zero_on_identical_images_and_grows_with_noise_and_blur(net, astronaut):
    scorer = _random_lpips(net)
    assert scorer(astronaut, astronaut) == 0.0
    noise = [scorer(_noisy(astronaut, s), astronaut) for s in (4, 12, 36)]
    blur = [scorer(_blur(astronaut, s), astronaut) for s in (0.8, 1.6, 3.2)]
    assert 0 < noise[0] < noise[1] < noise[2]
    assert 0 < blur[0] < blur[1] < blur[2]


def test_lpips_input_ranges_give_one_value(astronaut):
    scorer = _random_lpips("alex")
    other = _blur(astronaut, 1.5)
    as_uint8 = scorer(other, astronaut)
    unit = [torch.from_numpy(x).permute(2, 0, 1)[None].double() / 255 for x in (other, astronaut)]
    from_unit = scorer.distance(*unit, data_range=(0, 1))
    from_signed = scorer.distance(*(2 * u - 1 for u in unit), data_range=(-1, 1))
    assert from_unit == pytest.approx(as_uint8, rel=1e-6)
    assert from_signed == pytest.approx(from_unit, rel=1e-6)
    # the package's own forward with its [0, 1] switch agrees
    with torch.inference_mode():
        package = float(scorer.model(*(u.float() for u in unit), normalize=True))
    assert from_unit == pytest.approx(package, rel=1e-5)
    # a [0, 1] image read as if it were [-1, 1] is a different (wrong) value: the range matters
    assert scorer.distance(*unit, data_range=(-1, 1)) != pytest.approx(from_unit, rel=1e-3)


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_in_strips_equals_the_whole_image(net):
    rng = np.random.default_rng(3)
    tall = rng.integers(0, 256, (4 * _MARGIN + 37, 40, 3), dtype=np.uint8)
    other = _blur(tall, 1.0)
    whole = _random_lpips(net)(other, tall)
    strips = LpipsScorer(_random_lpips(net).model, net, max_pixels=40 * (2 * _MARGIN + 32))
    assert strips._core_rows(40) < tall.shape[0] // 2  # really several strips
    assert strips(other, tall) == pytest.approx(whole, rel=1e-6, abs=1e-9)


def test_lpips_equals_the_lpips_package_with_the_same_random_weights(astronaut):
    import lpips

    torch.manual_seed(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reference = lpips.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False)
    ours = _random_lpips("alex").model
    saved = {k: v.clone() for k, v in ours.state_dict().items()}
    sr = _blur(astronaut, 1.2)
    try:
        ours.load_state_dict(reference.state_dict())
        with torch.inference_mode():
            expected = float(reference.eval()(lpips.im2tensor(sr), lpips.im2tensor(astronaut)))
        got = LpipsScorer(ours, "alex")(sr, astronaut)
    finally:
        ours.load_state_dict(saved)
    assert expected > 0 and got == pytest.approx(expected, rel=1e-6)


def test_lpips_input_is_channels_last_with_canonical_strides(astronaut):
    # A permuted (H, W, 3) image passes is_contiguous(channels_last) with batch stride 3, but
    # the CPU convolutions then take the slow NCHW path (LPIPS-alex ~25% slower at 2K).
    x = _to_unit_tensor(astronaut, (0, 255), "cpu")
    h, w = astronaut.shape[:2]
    assert x.dtype == torch.float32 and x.stride() == (3 * h * w, 1, 3 * w, 3)
    import lpips

    assert torch.equal(x, lpips.im2tensor(astronaut))  # the package's own network input
    unit = (torch.from_numpy(astronaut).permute(2, 0, 1)[None].float() / 255).contiguous()
    before = unit.clone()
    again = _to_unit_tensor(unit, (0, 1), "cpu")
    assert again.stride() == x.stride()
    assert torch.equal(unit, before)  # converted in a copy: the caller's tensor is left alone
    torch.testing.assert_close(again, x, rtol=0, atol=1e-6)


def test_lpips_refuses_mismatched_or_non_rgb_input(astronaut):
    scorer = _random_lpips("alex")
    with pytest.raises(ValueError, match="one size"):
        scorer(astronaut, astronaut[:-1])
    with pytest.raises(ValueError, match="RGB"):
        scorer(astronaut[..., 0], astronaut[..., 0])


def test_score_pair_gives_lpips_on_shaved_rgb(astronaut):
    sr = _blur(astronaut, 1.0)
    scorer = _random_lpips("alex")
    got = score_pair(sr, astronaut, 4, metrics=["psnr", "lpips"], scorers={"lpips": scorer})
    assert got["lpips"] == pytest.approx(scorer(sr[4:-4, 4:-4], astronaut[4:-4, 4:-4]))
    with pytest.raises(Exception, match="needs its model"):
        score_pair(sr, astronaut, 4, metrics=["lpips"])


def test_patch_grid_and_random_patches_are_reproducible(astronaut):
    grid = PatchSpec(64, 32)
    boxes = grid.boxes(192, 160)
    assert len(boxes) == 5 * 4 and boxes.max(axis=0).tolist() == [128, 96]
    cut = patches(astronaut, grid)
    np.testing.assert_array_equal(cut[7], astronaut[32:96, 64:128])  # row 1, column 2 of 5
    random = PatchSpec(48, count=6)
    a = random.boxes(192, 192, (0, "Set5", "baby", 4))
    np.testing.assert_array_equal(a, random.boxes(192, 192, (0, "Set5", "baby", 4)))
    assert not np.array_equal(a, random.boxes(192, 192, (1, "Set5", "baby", 4)))
    assert (a >= 0).all() and (a <= 192 - 48).all()
    assert PatchSpec(256).boxes(192, 192).shape == (0, 2)


def test_set_metric_specs_are_parsed_and_checked():
    assert parse_set_metric("fid").protocol(4) == "rgb-shave4-patch64-stride64"
    spec = parse_set_metric("kid:patch=32,count=8,subsets=10,subset_size=50")
    assert spec.protocol(2) == "rgb-shave2-patch32-count8-subsets10x50"
    for bad, why in [
        ("fid:patch=0", "positive"),
        ("fid:stride=8,count=4", "not both"),
        ("fid:subsets=3", "unknown parameter"),
        ("kid:patch=big", "patch"),
    ]:
        with pytest.raises(SpecError, match=why):
            parse_set_metric(bad)


@pytest.fixture(scope="module")
def feature_sets(astronaut):
    """Inception features of 24 random 32 px patches of the astronaut, sharp and blurred."""
    spec = PatchSpec(32, count=24)
    extract = _random_inception()
    sharp = extract(patches(astronaut, spec))
    blurred = {s: extract(patches(_blur(astronaut, s), spec)) for s in (1.0, 2.5)}
    return sharp, blurred


def test_feature_batch_size_does_not_change_features(astronaut):
    cut = patches(astronaut, PatchSpec(32, count=5))
    one = _random_inception(8)(cut)
    other = InceptionFeatures("cpu", 2, random_weights=True)(cut)
    assert one.shape == (5, 2048) and one.std() > 1e-3  # informative, not vanishing
    np.testing.assert_allclose(other, one, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_fid_is_zero_on_one_set_and_grows_with_blur(feature_sets):
    sharp, blurred = feature_sets
    mild, strong = fid_from_features(blurred[1.0], sharp), fid_from_features(blurred[2.5], sharp)
    assert abs(fid_from_features(sharp, sharp)) < 1e-9 * mild
    assert 0 < mild < strong


@pytest.mark.parametrize(("n1", "n2"), [(40, 50), (30, 30), (300, 200)])
def test_fid_equals_pytorch_fids_frechet_distance(n1, n2):
    from pytorch_fid.fid_score import calculate_frechet_distance

    rng = np.random.default_rng(n1)
    a = rng.normal(size=(n1, 64)) @ rng.normal(size=(64, 64))
    b = rng.normal(size=(n2, 64)) @ rng.normal(size=(64, 64)) + 0.5
    stats = [(x.mean(axis=0), np.cov(x, rowvar=False)) for x in (a, b)]
    expected = calculate_frechet_distance(*stats[0], *stats[1])
    # fewer samples than dimensions takes the exact low-rank path, more the package's own
    assert fid_from_features(a, b) == pytest.approx(expected, rel=1e-6)


def test_kid_of_one_set_is_zero_within_its_spread_and_grows_with_blur(feature_sets):
    sharp, blurred = feature_sets
    # subsets of 8 of the 24 samples, drawn independently for each side
    same, spread = kid_from_features(sharp, sharp, subsets=60, subset_size=8)
    assert spread > 0 and abs(same) < spread
    ordered = [kid_from_features(x, sharp, 60, 16)[0] for x in (sharp, *blurred.values())]
    assert ordered == sorted(ordered) and ordered[-1] > 0
    # seeded: the same subsets give the same value
    assert kid_from_features(sharp, sharp, 60, 8) == pytest.approx((same, spread), rel=1e-9)


def test_score_set_counts_samples_and_refuses_too_few(feature_sets):
    sharp, blurred = feature_sets
    result = score_set(parse_set_metric("kid:subsets=5"), [sharp[:20], sharp[20:]], [blurred[1.0]])
    assert result.samples == 24 and result.spread >= 0
    assert np.isnan(score_set(parse_set_metric("fid"), [sharp], [blurred[1.0]]).spread)
    with pytest.raises(ValueError, match="smaller patch"):
        score_set(parse_set_metric("fid"), [sharp[:1]], [sharp[:1]])


def test_missing_backbones_name_the_file_the_url_and_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError) as err:
        build_lpips("alex")
    message = str(err.value)
    assert "alexnet-owt-7be5be79.pth" in message and str(tmp_path) in message
    assert "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth" in message
    with pytest.raises(MissingWeightsError, match="pt_inception-2015-12-05-6726825d.pth"):
        InceptionFeatures()
    assert METRICS.get("lpips").weights == ("alexnet", "lpips-alex-v0.1")


# ---------------------------------------------------------------------------------------------
# Against the reference packages, with the real weights (skipped when they are not present)


def _real(name: str) -> None:
    try:
        weights.locate(name)
    except MissingWeightsError as exc:
        pytest.skip(f"real weights absent: {str(exc).splitlines()[0]}")


@pytest.mark.slow
def test_lpips_matches_the_lpips_package_with_real_weights(astronaut):
    _real("alexnet")
    import lpips

    ours = LpipsScorer(build_lpips("alex"), "alex")
    sr = _blur(astronaut, 1.2)
    reference = lpips.LPIPS(net="alex", version="0.1", verbose=False)
    to_tensor = [torch.from_numpy(x).permute(2, 0, 1)[None].float() / 255 for x in (sr, astronaut)]
    with torch.inference_mode():
        expected = float(reference(*to_tensor, normalize=True))
    assert ours(sr, astronaut) == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow
def test_fid_matches_pytorch_fid_on_image_files_with_real_weights(tmp_path, astronaut):
    _real("fid-inception")
    from PIL import Image
    from pytorch_fid.fid_score import calculate_fid_given_paths

    spec = PatchSpec(64, 32)
    sets = {"hr": astronaut, "sr": _blur(astronaut, 1.5)}
    for name, image in sets.items():
        (tmp_path / name).mkdir()
        for i, patch in enumerate(patches(image, spec)):
            Image.fromarray(patch).save(tmp_path / name / f"{i:03d}.png")
    expected = calculate_fid_given_paths(
        [str(tmp_path / "sr"), str(tmp_path / "hr")], 8, "cpu", 2048, num_workers=0
    )
    extract = InceptionFeatures("cpu", 8)
    ours = fid_from_features(*(extract(patches(sets[k], spec)) for k in ("sr", "hr")))
    assert ours == pytest.approx(expected, rel=1e-4)
