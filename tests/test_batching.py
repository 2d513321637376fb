"""Batching metric calls across cells (the accelerator path), tested on the CPU: the decision,
the bound, values equal to the one-call path, and failures that stay with their call."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from srbench.metrics import batching
from srbench.metrics.batching import Batcher, batches_on
from srbench.metrics.distribution import PatchSpec, patches
from srbench.run.setlevel import Features

torch = pytest.importorskip("torch")


@pytest.mark.parametrize(
    ("device", "expected"),
    [("cpu", False), ("CPU", False), ("cpu:0", False), ("cuda", True), ("cuda:1", True)]
    + [("mps", True), ("xpu:0", True)],
)
def test_metrics_batch_on_accelerators_only(device, expected):
    assert batches_on(device) is expected


def test_the_decision_reaches_lpips_and_features(monkeypatch):
    from srbench.metrics.perceptual import LpipsScorer

    class Extractor:
        device, batch_size = "cuda:0", 8

    assert LpipsScorer(None, "alex", "cuda").batch and not LpipsScorer(None, "alex").batch
    assert Features(Extractor()).batch and not Features(Extractor(), batch=False).batch
    monkeypatch.setattr(batching, "batches_on", lambda device: True)  # a GPU, faked
    assert LpipsScorer(None, "alex", "cpu").batch and Features(object()).batch


def _submit_all(batcher: Batcher, items: list) -> list:
    pending = [batcher.submit(item) for item in items]
    batcher.flush()
    return [p.result() for p in pending]


def test_batches_respect_the_bound_and_keys_and_map_results_back():
    seen: list[list[tuple[str, int]]] = []

    def run(items):
        seen.append(list(items))
        return [f"{key}{size}" for key, size in items]

    batcher = Batcher(run, limit=10, size=lambda it: it[1], key=lambda it: it[0])
    items = [("a", 4), ("b", 3), ("a", 5), ("a", 2), ("b", 9), ("a", 12), ("a", 1)]
    assert _submit_all(batcher, items) == [f"{k}{s}" for k, s in items]
    for batch in seen:
        assert len({key for key, _ in batch}) == 1  # one key per batch
        assert len(batch) == 1 or sum(s for _, s in batch) <= 10  # a lone call may exceed it
    assert [len(b) for b in seen] == batcher.batches and sorted(sum(seen, [])) == sorted(items)
    assert max(batcher.batches) > 1


def test_one_failing_call_does_not_lose_the_others():
    def run(items):
        if "bad" in items:
            raise ValueError("this image is broken")
        return [item.upper() for item in items]

    batcher = Batcher(run, limit=100)
    pending = [batcher.submit(item) for item in ("x", "bad", "y")]
    batcher.flush()
    assert pending[0].result() == "X" and pending[2].result() == "Y"
    with pytest.raises(ValueError, match="broken"):
        pending[1].result()
    assert batcher.batches == [3, 1, 1, 1]  # the batch, then each call alone


def test_concurrent_callers_are_batched_while_the_device_is_busy():
    started, release = threading.Event(), threading.Event()

    def run(items):
        if not started.is_set():  # the first batch holds the device until all have queued
            started.set()
            assert release.wait(10)
        return [i * i for i in items]

    batcher = Batcher(run, limit=100)
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(batcher, 1)
        assert started.wait(10)
        rest = [pool.submit(batcher.submit(i).result) for i in range(2, 7)]
        release.set()
        assert first.result() == 1 and [f.result() for f in rest] == [4, 9, 16, 25, 36]
    assert batcher.batches == [1, 5]


def test_an_interrupt_reaches_every_waiting_call():
    def run(items):
        raise KeyboardInterrupt

    batcher = Batcher(run, limit=10)
    pending = [batcher.submit(i) for i in range(3)]
    with pytest.raises(KeyboardInterrupt):
        batcher.flush()
    for p in pending:
        assert p.done()
        with pytest.raises(KeyboardInterrupt):
            p.result()


# ---------------------------------------------------------------------------------------------
# LPIPS and FID features, batched on the CPU against their one-call values.
# Tolerance: batching changes only which convolution kernels sum each float32 output (the batch
# size picks them), a relative 1e-7 per value; 1e-5 leaves room for other CPUs' kernels.


@pytest.fixture(scope="module")
def lpips_model():
    pytest.importorskip("lpips")
    from srbench.metrics.perceptual import build_lpips

    torch.manual_seed(0)
    return build_lpips("alex", "cpu", random_backbone=True)


def _pairs(count: int, shape: tuple[int, int], seed: int = 0) -> list[tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        hr = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
        noise = rng.integers(-25, 26, hr.shape)
        out.append((np.clip(hr + noise, 0, 255).astype(np.uint8), hr))
    return out


def test_batched_lpips_equals_one_pair_at_a_time_within_the_bound(lpips_model):
    from srbench.metrics.perceptual import LpipsScorer

    alone = LpipsScorer(lpips_model, "alex", batch=False)
    pairs = _pairs(5, (64, 80)) + _pairs(2, (48, 48), seed=1)
    expected = [alone(sr, hr) for sr, hr in pairs]
    # room for two 64x80 pairs per batch: the bound splits the five
    batched = LpipsScorer(lpips_model, "alex", batch=True, max_pixels=2 * 64 * 80)
    with ThreadPoolExecutor(7) as pool:
        got = list(pool.map(lambda p: batched(*p), pairs))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    sizes = batched._batches().batches
    assert sum(sizes) == 7 and max(sizes) <= 2
    # straight through the batch function as well (several pairs in strips, too)
    many = batched._batches()
    pending = [many.submit(_pair(sr, hr)) for sr, hr in pairs]
    many.flush()
    np.testing.assert_allclose([p.result() for p in pending], expected, rtol=1e-5)
    assert max(many.batches[-4:]) == 2


def _pair(sr, hr):
    from srbench.metrics.perceptual import _image_tensor, _Pair

    return _Pair(_image_tensor(sr), _image_tensor(hr), (0.0, 255.0))


def test_batched_lpips_in_strips_equals_the_whole_images(lpips_model):
    from srbench.metrics.perceptual import _MARGIN, LpipsScorer

    pairs = _pairs(3, (4 * _MARGIN + 37, 40), seed=2)
    expected = [LpipsScorer(lpips_model, "alex", batch=False)(*p) for p in pairs]
    strips = LpipsScorer(lpips_model, "alex", batch=True, max_pixels=3 * 40 * (2 * _MARGIN + 32))
    assert strips._core_rows(3 * 40) < pairs[0][0].shape[0] // 2  # several strips
    got = strips._distances([_pair(*p) for p in pairs])
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_a_bad_lpips_call_fails_alone(lpips_model):
    from srbench.metrics.perceptual import LpipsScorer

    batched = LpipsScorer(lpips_model, "alex", batch=True)
    (good,) = _pairs(1, (40, 40))
    with pytest.raises(ValueError, match="one size"):  # refused before it joins a batch
        batched(good[0], good[1][:-1])
    assert batched(*good) == pytest.approx(LpipsScorer(lpips_model, "alex", batch=False)(*good))


@pytest.fixture(scope="module")
def inception():
    pytest.importorskip("pytorch_fid")
    from srbench.metrics.distribution import InceptionFeatures

    return InceptionFeatures("cpu", batch_size=4, random_weights=True)


@pytest.mark.slow  # 16 Inception passes at 299 x 299 on the CPU: about 5 s
def test_batched_features_equal_per_image_features(tmp_path, inception):
    spec = PatchSpec(32, count=2)
    images = [im for pair in _pairs(2, (40, 56), seed=3) for im in pair]
    alone, batched = Features(inception, batch=False), Features(inception, batch=True)
    assert batched._batcher is not None
    for i, image in enumerate(images):
        alone.ensure(tmp_path / "a" / f"{i}.npy", image, spec, (i,))
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda i: batched.ensure(tmp_path / "b" / f"{i}.npy", images[i], spec, (i,)),
                range(len(images)),
            )
        )
    for i in range(len(images)):
        a, b = np.load(tmp_path / "a" / f"{i}.npy"), np.load(tmp_path / "b" / f"{i}.npy")
        assert a.shape == (2, 2048) and a.std() > 1e-3
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert sum(batched._batcher.batches) == len(images)
    assert max(batched._batcher.batches) <= inception.batch_size // 2  # 4 patches a batch


def test_one_bad_image_keeps_the_other_features_of_its_batch(tmp_path):
    class Extractor:  # fails on any batch holding an all-white patch
        device, batch_size = "cpu", 100

        def __call__(self, cut):
            if (cut == 255).all(axis=(1, 2, 3)).any():
                raise RuntimeError("white patch")
            return cut.reshape(len(cut), -1)[:, :4].astype(np.float32)

    features = Features(Extractor(), batch=True)
    spec = PatchSpec(8)
    images = [np.full((8, 16, 3), v, np.uint8) for v in (10, 255, 30)]
    pending = [features._batcher.submit(patches(im, spec)) for im in images]
    features._batcher.flush()
    np.testing.assert_array_equal(pending[0].result(), np.full((2, 4), 10, np.float32))
    np.testing.assert_array_equal(pending[2].result(), np.full((2, 4), 30, np.float32))
    with pytest.raises(RuntimeError, match="white"):
        pending[1].result()
    # through ensure: the bad image raises in its own cell and writes nothing
    with pytest.raises(RuntimeError, match="white"):
        features.ensure(tmp_path / "bad.npy", images[1], spec, ())
    assert not (tmp_path / "bad.npy").exists()


def test_scorers_and_features_copy_to_another_process_with_an_empty_queue(lpips_model):
    import pickle

    from srbench.metrics.perceptual import LpipsScorer

    scorer = LpipsScorer(lpips_model, "alex", batch=True)
    (pair,) = _pairs(1, (40, 40))
    value = scorer(*pair)
    copy = pickle.loads(pickle.dumps(scorer))
    assert copy.batch and copy._batcher is None and copy(*pair) == pytest.approx(value)
    features = pickle.loads(pickle.dumps(Features(_Tiny(), batch=True)))
    assert features._batcher is not None and features._batcher.batches == []
    cut = patches(np.zeros((8, 8, 3), np.uint8), PatchSpec(8))
    np.testing.assert_array_equal(features._batcher(cut), np.zeros((1, 4), np.float32))


class _Tiny:
    device, batch_size = "cpu", 4

    def __call__(self, cut):
        return cut.reshape(len(cut), -1)[:, :4].astype(np.float32)
