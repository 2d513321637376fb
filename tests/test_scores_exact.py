"""PSNR and SSIM frozen to the last bit: the values srbench gave before the scoring core was
made faster (main at 23b0923), stored as ``float.hex`` strings in tests/golden/scores_exact.json.

Any change to the conversion, the filtering or the order of a sum shows here as a failure. Real
pairs: Set5 and Set14 (``$SRBENCH_SHARED_DATA/benchmark``; skipped when absent) with bicubic
x2/x3/x4 outputs on both protocols, a ``--shave 0`` case and the gray ``bridge``. Pairs built
here: photographs resized to 480x320, 1024x680 and 2040x1356 (as benchmarks/conftest.py), a gray
image, and a 2100x2100 image, above :data:`~srbench.metrics.protocols.WHOLE_PIXELS`, which is
scored in strips.

Regenerate only when a value is meant to change (then say so in the commit):
``python -m tests.test_scores_exact``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from srbench.errors import SrbenchError
from srbench.imageio import modcrop, read_image, rgb2gray
from srbench.metrics import get_protocol, protocols, score_pair
from srbench.metrics.fidelity import ExactSum
from srbench.metrics.protocols import WHOLE_PIXELS
from srbench.resize import imresize
from tests.conftest import REPO, shared_data_dir

GOLDEN = REPO / "tests" / "golden" / "scores_exact.json"
SETS = {
    "Set5": ("baby", "bird", "butterfly", "head", "woman"),
    "Set14": (
        *("baboon", "barbara", "bridge", "coastguard", "comic", "face", "flowers"),
        *("foreman", "lenna", "man", "monarch", "pepper", "ppt3", "zebra"),
    ),
}
Pair = tuple[np.ndarray, np.ndarray]


def _bicubic(hr: np.ndarray, scale: int) -> np.ndarray:
    """The bicubic SR of ``hr`` at ``scale``: MATLAB imresize down, then up."""
    return imresize(imresize(modcrop(hr, scale), 1 / scale), scale)


@functools.cache
def _benchmark(dataset: str, image: str, scale: int, sr_kind: str) -> Pair:
    path = shared_data_dir() / "benchmark" / dataset / f"{image}.png"
    if not path.is_file():
        pytest.skip(f"shared data not found at {path} (set SRBENCH_SHARED_DATA to its path)")
    hr = read_image(path)
    if sr_kind == "rgb" and hr.ndim == 2:  # what `srbench run` does: the LR is RGB
        hr_rgb = np.repeat(hr[..., None], 3, axis=2)
        return _bicubic(hr_rgb, scale), hr
    return _bicubic(hr, scale), hr


@functools.cache
def _photo(width: int, height: int) -> np.ndarray:
    return imresize(skimage.data.coffee(), shape=(height, width))


@functools.cache
def _synthetic(name: str, scale: int) -> Pair:
    if name == "camera":  # gray HR, gray SR
        hr = skimage.data.camera()
        return _bicubic(hr, scale), hr
    if name == "camera-rgb-sr":  # gray HR, RGB SR (reduced with rgb2gray by the y protocol)
        hr = skimage.data.camera()
        sr = _bicubic(np.repeat(hr[..., None], 3, axis=2), scale)
        sr[..., 0] = sr[..., 0] // 2 + 64  # channels differ: rgb2gray really weighs them
        return sr, hr
    if name == "strips":  # tiled photographs, 2100x2100 > WHOLE_PIXELS: the strip path
        tile = skimage.data.astronaut()
        hr = np.pad(tile, ((0, 2100 - 512), (0, 2100 - 512), (0, 0)), mode="reflect")
        hr = hr[:2100, :2100].copy()
        assert hr.shape[0] * hr.shape[1] > WHOLE_PIXELS
        return _bicubic(hr, scale), hr
    if name == "strips-gray":
        hr = rgb2gray(_synthetic("strips", scale)[1])
        return _bicubic(hr, scale), hr
    width, height = map(int, name.split("x"))
    hr = _photo(width, height)
    return _bicubic(hr, scale), hr


def cases() -> dict[str, tuple[Callable[[], Pair], int, str, int | None]]:
    """Name -> (pair builder, scale, protocol, shave)."""
    out: dict[str, tuple[Callable[[], Pair], int, str, int | None]] = {}
    for dataset, images in SETS.items():
        for image in images:
            for scale in (2, 3, 4):
                build = functools.partial(_benchmark, dataset, image, scale, "same")
                for protocol in ("y", "rgb"):
                    out[f"{dataset}/{image}/x{scale}/{protocol}"] = (build, scale, protocol, None)
    out["Set5/butterfly/x2/y/shave0"] = (out["Set5/butterfly/x2/y"][0], 2, "y", 0)
    out["Set14/zebra/x3/rgb/shave0"] = (out["Set14/zebra/x3/rgb"][0], 3, "rgb", 0)
    for scale in (2, 4):
        build = functools.partial(_benchmark, "Set14", "bridge", scale, "rgb")
        for protocol in ("y", "rgb"):
            out[f"Set14/bridge-rgb-sr/x{scale}/{protocol}"] = (build, scale, protocol, None)
    for name in ("480x320", "1024x680", "2040x1356", "camera", "camera-rgb-sr"):
        for scale in (3, 4):
            build = functools.partial(_synthetic, name, scale)
            for protocol in ("y", "rgb"):
                out[f"{name}/x{scale}/{protocol}"] = (build, scale, protocol, None)
    out["480x320/x4/y/shave0"] = (out["480x320/x4/y"][0], 4, "y", 0)
    for name in ("strips", "strips-gray"):
        build = functools.partial(_synthetic, name, 4)
        for protocol in ("y", "rgb"):
            out[f"{name}/x4/{protocol}"] = (build, 4, protocol, None)
    return out


CASES = cases()
SLOW = ("2040x1356", "strips")


def _scores(name: str) -> dict[str, str]:
    build, scale, protocol, shave = CASES[name]
    sr, hr = build()
    values = score_pair(sr, hr, scale, get_protocol(protocol, shave))
    return {metric: float(value).hex() for metric, value in values.items()}


def _params() -> list:
    marks = {n: [pytest.mark.slow] if n.startswith(SLOW) else [] for n in CASES}
    return [pytest.param(name, marks=marks[name], id=name) for name in CASES]


@pytest.mark.parametrize("name", _params())
def test_scores_equal_the_frozen_values_bit_for_bit(name):
    expected = json.loads(GOLDEN.read_text())[name]
    assert _scores(name) == expected


def test_every_case_has_a_frozen_value():
    assert sorted(json.loads(GOLDEN.read_text())) == sorted(CASES)


# Reference: an HR image prepared once for several SR images (what `srbench run` does per image)
QUICK = [n for n in CASES if not n.startswith(SLOW) and n.endswith(("x4/y", "x3/rgb", "shave0"))]


@pytest.mark.parametrize("name", QUICK)
def test_a_kept_reference_gives_the_frozen_values_every_time(name):
    build, scale, protocol, shave = CASES[name]
    sr, hr = build()
    chosen = get_protocol(protocol, shave)
    reference = chosen.reference(hr, scale)
    expected = json.loads(GOLDEN.read_text())[name]
    for _ in range(2):  # the first call builds the kept arrays, the second uses them
        values = score_pair(sr, reference, scale, chosen)
        assert {k: float(v).hex() for k, v in values.items()} == expected


@pytest.mark.parametrize("protocol", ["y", "rgb"])
def test_threads_scoring_against_one_reference_agree(protocol):
    sr, hr = _synthetic("480x320", 4)
    outputs = [np.clip(sr.astype(int) + k, 0, 255).astype(np.uint8) for k in range(-3, 4)]
    chosen = get_protocol(protocol)
    expected = [score_pair(out, hr, 4, chosen) for out in outputs]
    reference = chosen.reference(hr, 4)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda out: score_pair(out, reference, 4, chosen), outputs * 3))
    assert got == expected * 3


@pytest.mark.parametrize("protocol", ["y", "rgb"])
def test_either_metric_alone_gives_its_frozen_value(protocol):
    name = f"480x320/x4/{protocol}"
    sr, hr = CASES[name][0]()
    expected = json.loads(GOLDEN.read_text())[name]
    reference = get_protocol(protocol).reference(hr, 4)
    for metric in ("ssim", "psnr", "ssim"):
        for target in (hr, reference):
            value = score_pair(sr, target, 4, get_protocol(protocol), metrics=[metric])
            assert value == {metric: float.fromhex(expected[metric])}


def test_a_reference_for_another_scale_or_protocol_is_refused():
    sr, hr = _synthetic("480x320", 4)
    reference = get_protocol("y").reference(hr, 4)
    with pytest.raises(SrbenchError, match="prepared for protocol y-shave4 at x4"):
        score_pair(sr, reference, 2)
    with pytest.raises(SrbenchError, match="asked for rgb-shave4"):
        score_pair(sr, reference, 4, get_protocol("rgb"))


def test_an_image_scored_in_strips_keeps_nothing_of_the_hr_image(monkeypatch):
    sr, hr = _synthetic("480x320", 4)
    reference = get_protocol("y").reference(hr, 4)
    whole = score_pair(sr, reference, 4)
    assert reference._pixels is not None and reference._means is not None
    monkeypatch.setattr(protocols, "WHOLE_PIXELS", 0)
    striped = get_protocol("y").reference(hr, 4)
    assert score_pair(sr, striped, 4) == pytest.approx(whole, rel=1e-13, abs=0)
    assert striped._pixels is None and striped._means is None


@pytest.mark.parametrize(
    "count", [0, 5, 8, 128, 129, 4096, ExactSum.LEAF, ExactSum.LEAF + 1, 99_991]
)
def test_exact_sum_equals_numpys_sum_whatever_the_chunks(count):
    rng = np.random.default_rng(count)
    values = rng.normal(100, 50, count)
    for chunk in (1, 7, 1000, 3 * ExactSum.LEAF + 5):
        total = ExactSum(count)
        for start in range(0, count, chunk):
            total.add(values[start : start + chunk])
        assert total.value() == np.sum(values)


def _write(path: Path) -> None:
    path.write_text(json.dumps({name: _scores(name) for name in CASES}, indent=1) + "\n")


if __name__ == "__main__":
    _write(GOLDEN)
