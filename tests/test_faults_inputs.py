"""Fault injection for srbench's inputs: very large images, images smaller than the scale,
methods without the requested scale, bad training settings, missing datasets, scales below 2,
and worker counts beyond the machine. Each fault ends in a clear message (exit 2, or a failure
row for one image) and nothing already computed is lost; large images run in bounded memory
with the same numbers."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import srbench.metrics.protocols as protocols
import srbench.resize as resize
from srbench.catalog.resolve import Dataset
from srbench.errors import SrbenchError
from srbench.metrics import get_protocol, score_pair
from srbench.metrics.fidelity import psnr, ssim, ssim_map
from srbench.resize import KERNELS, imresize
from srbench.store import load_results
from tests.conftest import REPO, run_cli
from tests.httpserver import http_server_fixture, srbench_cache_fixture  # noqa: F401
from tests.peak import peak_kb


def _png(path: Path, img: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)
    return path


# --------------------------------------------------------------------------------------------
# A very large image: imresize and the scores in strips, with the same numbers


@pytest.mark.parametrize("method", list(KERNELS))
@pytest.mark.parametrize(
    "kwargs",
    [{"scale": 1 / 4}, {"scale": 1 / 3}, {"scale": 0.7}, {"scale": 3}, {"shape": (9, 40)}],
)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_imresize_in_strips_equals_the_whole_image_bit_for_bit(
    rng, monkeypatch, method, kwargs, dtype
):
    img = (rng.random((37, 29, 3)) * 255).astype(dtype)
    whole = imresize(img, method=method, **kwargs)
    cuts = []
    monkeypatch.setattr(resize, "STRIP_BYTES", 1)  # two output rows per strip
    original = resize.strips
    monkeypatch.setattr(
        resize, "strips", lambda *a, **k: cuts.append(original(*a, **k)) or cuts[-1]
    )
    striped = imresize(img, method=method, **kwargs)
    assert len(cuts[0]) > 2 and striped.dtype == whole.dtype
    assert np.array_equal(striped, whole)  # every value: same taps, same order


def test_strips_never_leave_a_single_row_behind():
    assert resize.strips(5, 1, budget=1) == [(0, 2), (2, 5)]
    assert resize.strips(1, 1, budget=1) == [(0, 1)]
    assert resize.strips(100, 1) == [(0, 100)]  # everything fits: one strip


def _pair(rng, h, w, gray_hr):
    hr = rng.integers(0, 256, (h, w) if gray_hr else (h, w, 3), dtype=np.uint8)
    noise = rng.integers(-25, 26, (h - h % 4, w - w % 4, 3))
    sr = np.clip(np.atleast_3d(hr[: h - h % 4, : w - w % 4]).astype(int) + noise, 0, 255)
    return sr.astype(np.uint8), hr


@pytest.mark.parametrize("protocol", ["y", "rgb"])
@pytest.mark.parametrize("gray_hr", [False, True])
def test_scores_in_strips_equal_the_whole_image_to_the_last_bits(
    rng, monkeypatch, protocol, gray_hr
):
    """Every squared error and SSIM map value is the same number in a strip; only the order of
    the final sums differs. Integer-valued errors (rgb, gray) sum exactly: PSNR is identical."""
    sr, hr = _pair(rng, 157, 93, gray_hr)
    chosen = get_protocol(protocol)
    whole = score_pair(sr, hr, 4, chosen)
    monkeypatch.setattr(protocols, "WHOLE_PIXELS", 0)
    monkeypatch.setattr(protocols, "STRIP_BYTES", 1)  # 40-row cores, 10 rows of overlap
    striped = score_pair(sr, hr, 4, chosen)
    exact = protocol == "rgb" or gray_hr
    ulps = {k: abs(whole[k] - striped[k]) / np.spacing(abs(whole[k])) for k in whole}
    assert (ulps["psnr"] == 0) if exact else (ulps["psnr"] <= 4), ulps
    assert ulps["ssim"] <= 8, ulps


def test_the_ssim_map_of_a_strip_is_the_same_numbers(rng):
    a = rng.random((60, 47)) * 255
    b = a + rng.normal(0, 9, a.shape)
    full = ssim_map(a, b, 255.0)
    for start, stop in [(0, 11), (7, 30), (20, 60), (49, 60)]:
        assert np.array_equal(
            ssim_map(a[start:stop], b[start:stop], 255.0), full[start : stop - 10]
        )


def test_standard_sized_images_are_scored_whole_so_their_values_cannot_change(rng, monkeypatch):
    """DIV2K's 2040x1356 is below WHOLE_PIXELS: one segment, summed in the whole array's order,
    so the values are psnr and ssim of the whole arrays to the last bit (the published-table,
    MATLAB and tests/test_scores_exact.py tests guard those values)."""
    assert 2040 * 1356 <= 2040 * 2040 <= protocols.WHOLE_PIXELS
    segments = []
    original = protocols._Segment
    monkeypatch.setattr(protocols, "_Segment", lambda *a: segments.append(a) or original(*a))
    monkeypatch.setattr(protocols, "BLOCK_VALUES", 1)  # many blocks: their sums still exact
    sr, hr = _pair(rng, 340, 510, False)
    scores = score_pair(sr, hr, 4)
    a, b = get_protocol("y").prepare(sr, hr, 4)
    assert scores == {"psnr": psnr(a, b), "ssim": ssim(a, b)} and len(segments) == 1
    reference = get_protocol("y").reference(hr, 4)
    assert [score_pair(sr, reference, 4) for _ in range(2)] == [scores, scores]


def test_a_strip_needs_a_full_ssim_window(rng, monkeypatch):
    monkeypatch.setattr(protocols, "WHOLE_PIXELS", 0)
    hr = rng.integers(0, 256, (16, 400, 3), dtype=np.uint8)  # 8 rows after shaving 4
    with pytest.raises(SrbenchError, match="SSIM needs images of at least 11x11 after shaving"):
        score_pair(hr, hr, 4)
    assert score_pair(hr, hr, 4, metrics=["psnr"])["psnr"] == float("inf")


@pytest.mark.slow
def test_a_large_image_runs_in_bounded_memory(tmp_path):
    """3000x3000 RGB, two interpolators, x4: 2.1 GB peak before strips, about 0.36 GB now
    (6000x6000 with four interpolators: 5.8 GB before, 1.1 GB now; see the README)."""
    rng = np.random.default_rng(0)
    _png(tmp_path / "big" / "big.png", rng.integers(0, 256, (3000, 3000, 3), dtype=np.uint8))
    args = ["run", "-D", tmp_path / "big", "-m", "bicubic,nearest", "-s", "4", "--no-progress"]
    peak_mb = peak_kb(*args, results=tmp_path / "r", timeout=300) / 1024
    assert peak_mb < 800, peak_mb
    frame = load_results(tmp_path / "r")
    assert frame["error"].isna().all() and len(frame) == 2 * 3


def _dataset(name: str, pixels: int, n: int = 3) -> Dataset:
    ids = tuple(f"{name}{i}" for i in range(n))
    return Dataset(name, "1", "folder", "/x", ids, _pixels=lambda _: pixels)


@pytest.mark.parametrize(
    ("pixels", "workers", "ahead"),
    [(2040 * 1356, 4, 5), (3000 * 3000, 4, 5), (4000 * 4000, 4, 3), (6000 * 6000, 4, 1)],
)
def test_the_images_in_flight_are_bounded_for_very_large_images(pixels, workers, ahead):
    from srbench.run.config import RunConfig
    from srbench.run.plan import Plan, images_ahead

    plan = Plan(RunConfig(workers=workers), dict.fromkeys("abcd"), [], [], None, "cpu")  # type: ignore[arg-type]
    plan.datasets = [_dataset("small", 1000), _dataset("big", pixels)]
    assert images_ahead(plan) == ahead


# --------------------------------------------------------------------------------------------
# An image smaller than the scale


@pytest.fixture
def folder_with_a_tiny_image(tmp_path, rng):
    hr = tmp_path / "hr"
    _png(hr / "tiny.png", rng.integers(0, 256, (3, 3, 3), dtype=np.uint8))
    _png(hr / "thin.png", rng.integers(0, 256, (2, 40), dtype=np.uint8))
    _png(hr / "ok.png", rng.integers(0, 256, (48, 40, 3), dtype=np.uint8))
    return hr


def test_run_records_a_failure_row_for_an_image_smaller_than_the_scale(
    folder_with_a_tiny_image, tmp_path
):
    out = run_cli(
        "run", "-D", folder_with_a_tiny_image, "-m", "bicubic,nearest", "-s", "4",
        "--results", tmp_path / "r", "--no-progress", expect=1,
    )  # fmt: skip
    frame = load_results(tmp_path / "r")
    failed = frame[frame["error"].notna()]
    assert (
        set(failed["image"]) == {"tiny", "thin"}
        and frame[frame["image"] == "ok"]["error"].isna().all()
    )
    tiny = failed[failed["image"] == "tiny"]["error"].iloc[0]
    assert "a 3x3 image is smaller than the scale x4" in tiny and "Fix: remove it" in tiny
    assert "a 40x2 image is smaller than the scale x4" in out.stderr
    assert "failed: hr x4 bicubic bicubic tiny:" in out.stderr


def test_degrade_names_the_small_image_and_writes_the_others(folder_with_a_tiny_image, tmp_path):
    err = run_cli(
        "degrade", "--hr", folder_with_a_tiny_image, "-s", "4", "--out", tmp_path / "lr",
        "--no-progress", expect=2,
    ).stderr  # fmt: skip
    assert "failed: tiny.png: a 3x3 image is smaller than the scale x4" in err
    assert "a scale of at most 3 for it" in err and "failed: thin.png: a 40x2 image" in err
    assert sorted(p.name for p in (tmp_path / "lr").glob("*.png")) == ["ok.png"]


def test_upscale_takes_lr_images_of_any_size(tmp_path, rng):
    for shape in [(1, 1, 3), (1, 5, 3), (3, 2)]:
        _png(tmp_path / "lr" / f"{shape[0]}x{shape[1]}.png", rng.integers(0, 256, shape, np.uint8))
    run_cli(
        "upscale", "--lr", tmp_path / "lr", "-s", "4", "--out", tmp_path / "sr", "--no-progress"
    )
    sizes = {p.stem: Image.open(p).size for p in (tmp_path / "sr").glob("*.png")}
    assert sizes == {"1x1": (4, 4), "1x5": (20, 4), "3x2": (8, 12)}


def test_eval_names_the_small_hr_image_and_scores_the_others(folder_with_a_tiny_image, tmp_path):
    sr = tmp_path / "sr"
    for path in folder_with_a_tiny_image.iterdir():
        img = np.asarray(Image.open(path).convert("RGB"))
        _png(
            sr / path.name,
            img[: img.shape[0] - img.shape[0] % 4, : img.shape[1] - img.shape[1] % 4]
            if min(img.shape[:2]) >= 4
            else img,
        )
    out = run_cli("eval", "--sr", sr, "--hr", folder_with_a_tiny_image, "-s", "4", expect=2)
    assert "failed: tiny: HR image tiny.png: a 3x3 image is smaller than the scale x4" in out.stderr
    assert "mean (1 of 3)" in out.stdout and "ok" in out.stdout


def test_a_degradation_of_an_empty_image_says_which_image():
    from srbench.degradations import DegradationContext, parse_spec

    with pytest.raises(SrbenchError, match="image 'tiny' of set is 0x0, smaller than the scale x4"):
        parse_spec("bicubic")(np.zeros((0, 0, 3), np.uint8), 4, DegradationContext("set", "tiny"))


# --------------------------------------------------------------------------------------------
# A method named explicitly that supports none of the requested scales


def _fake_weights(method: str, tag: str, scales: list[int]) -> None:
    from srbench.weights.tags import CARD_FORMAT, store_root

    folder = store_root() / method / tag
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{method}-x2-0.pt").write_bytes(b"not read before the scales are checked")
    card = {"format": CARD_FORMAT, "scales": scales, "tag": tag, "created": "2026"}
    (folder / f"{method}-x2-0.json").write_text(json.dumps(card))


def test_a_named_method_without_the_scale_exits_2_before_any_work(tmp_path, rng):
    _fake_weights("srcnn", "t", [2])
    _png(tmp_path / "hr" / "a.png", rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))
    err = run_cli(
        "run", "-D", tmp_path / "hr", "-m", "bicubic,srcnn:tag=t", "-s", "3", "--device", "cpu",
        "--results", tmp_path / "r", "--no-progress", expect=2,
    ).stderr  # fmt: skip
    assert "method srcnn:tag=t cannot run at x3: its weights (tag 't') have x2" in err
    assert "srcnn itself supports x2, x3, x4" in err and "--scale 2" in err
    assert "srbench train srcnn --scale 3 --data DATA --tag t" in err
    assert not (tmp_path / "r").exists()  # nothing was started


def test_all_keeps_skipping_a_method_without_the_scale_with_a_note(tmp_path, rng):
    _fake_weights("srcnn", "trained", [2])
    _png(tmp_path / "hr" / "a.png", rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))
    out = run_cli(
        "run", "-D", tmp_path / "hr", "-m", "all", "-s", "3", "--device", "cpu",
        "--results", tmp_path / "r", "--no-progress",
    )  # fmt: skip
    assert "skipped srcnn at x3: it supports x(2,)" in out.stderr
    assert set(load_results(tmp_path / "r")["method"]) == {
        "bicubic",
        "bilinear",
        "lanczos",
        "nearest",
    }


# --------------------------------------------------------------------------------------------
# Training settings that are wrong


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"arch": {"evil": 1}}, "unknown setting 'arch.evil'; known: "),
        ({"optimizer": {"lr": -1}}, "optimizer.lr must be a positive number, got -1"),
    ],
)
def test_bad_training_settings_exit_2_naming_file_and_key(tmp_path, rng, setting, message):
    _png(tmp_path / "hr" / "a.png", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    config = tmp_path / "bad.yaml"
    config.write_text(json.dumps({"method": "srcnn", "scale": 2, **setting}))
    err = run_cli(
        "train", "srcnn", "--data", tmp_path / "hr", "--config", config, "--out", tmp_path / "t",
        expect=2,
    ).stderr  # fmt: skip
    assert f"config {config}" in err and message in err and "Traceback" not in err
    assert not (tmp_path / "t").exists()


# --------------------------------------------------------------------------------------------
# Datasets that cannot be downloaded


@pytest.mark.usefixtures("srbench_cache")
def test_offline_run_of_all_lists_every_missing_set_and_the_ways_forward(tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    err = run_cli("run", "--methods", "all", "--scale", "4", "--results", tmp_path, expect=2).stderr
    lines = err.rstrip().splitlines()
    first_error = next(i for i, line in enumerate(lines) if line.startswith("error:"))
    assert all(not line.startswith("warning:") for line in lines[first_error:])  # problem last
    assert sum("methods/tags left out for missing weights" in line for line in lines) == 1
    block = "\n".join(lines[first_error:])
    assert "4 datasets are not available here; nothing was run:" in block
    for name in ["Set5", "Set14", "BSD100", "Urban100"]:
        archive = f"{name}_HR.tar.gz"
        line = next(x for x in lines if x.strip().startswith(f"{name}:"))
        assert "not in the cache, and SRBENCH_OFFLINE is set" in line and archive in line
    assert (
        "Manga109: skipped, its licence needs your agreement (--accept-licence Manga109)" in block
    )
    ways = [
        "--datasets sample",
        "--datasets path/to/HR",
        "SRBENCH_MIRROR=",
        "unset SRBENCH_OFFLINE",
    ]
    for way in [*ways, "srbench download -D set5,set14,bsd100,urban100"]:
        assert way in block, way


@pytest.mark.usefixtures("srbench_cache")
def test_failed_downloads_are_collected_not_stopped_at_the_first(http_server, monkeypatch):
    monkeypatch.setenv("SRBENCH_MIRROR", http_server.url(""))  # serves nothing: 404 for all
    err = run_cli("run", "-D", "set5,urban100,set14", "-m", "bicubic", expect=2).stderr
    assert "3 datasets are not available here" in err
    assert f"Set5:     download failed: {http_server.url('benchmark.tar')}: HTTP 404" in err
    assert f"Urban100: download failed: {http_server.url('Urban100_HR.tar.gz')}: HTTP 404" in err
    assert "unset SRBENCH_OFFLINE" not in err and "--datasets sample" in err
    assert set(http_server.hits) >= {"benchmark.tar", "Urban100_HR.tar.gz", "Set14_HR.tar.gz"}


@pytest.mark.usefixtures("srbench_cache")
def test_a_set_that_is_ready_is_named_beside_the_missing_ones(http_server, shared, monkeypatch):
    import tarfile

    with tarfile.open(http_server.root / "Set5_HR.tar.gz", "w:gz") as tar:
        for png in sorted((shared / "benchmark" / "Set5").glob("*.png")):
            tar.add(png, arcname=f"Set5_HR/{png.name}")
    monkeypatch.setenv("SRBENCH_MIRROR", http_server.url(""))
    err = run_cli("run", "-D", "set5,set14", "-m", "bicubic", "--no-progress", expect=2).stderr
    assert "1 dataset is not available here (Set5 is ready); nothing was run:" in err
    assert "srbench download -D set14 " in err


def test_an_unknown_dataset_name_fails_before_any_download(http_server, monkeypatch):
    monkeypatch.setenv("SRBENCH_MIRROR", http_server.url(""))
    err = run_cli("run", "-D", "set5,set15", "-m", "bicubic", expect=2).stderr
    assert "Unknown dataset (or folder) 'set15'." in err
    assert http_server.hits == []


# --------------------------------------------------------------------------------------------
# Scales: at least 2, and stated or a printed default


@pytest.mark.parametrize("value", ["1", "0", "-2", "2,1", ","])
def test_run_refuses_scales_below_2_naming_the_rule(tmp_path, value):
    err = run_cli("run", "-D", "sample", "-m", "bicubic", "--scale", value, expect=2).stderr
    assert ("at least 2" in err or "names no scale" in err) and "Traceback" not in err


def test_run_config_refuses_scales_below_2():
    from srbench.cli.base import MIN_SCALE as CLI_MIN_SCALE
    from srbench.config import validate
    from srbench.run.config import MIN_SCALE, RunConfig

    assert MIN_SCALE == CLI_MIN_SCALE == 2
    for scales in [(1,), (4, 0), (-3,), ()]:
        with pytest.raises(SrbenchError, match=r"command line: scales: (every scale|at least one)"):
            validate(RunConfig, {"scales": scales}, "command line")


def test_run_prints_the_default_scale(tmp_path, rng):
    _png(tmp_path / "hr" / "a.png", rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))
    args = ["run", "-D", tmp_path / "hr", "-m", "nearest", "--results", tmp_path, "--no-progress"]
    assert "scale x4 (default; pass --scale to choose)" in run_cli(*args).stderr
    assert "(default;" not in run_cli(*args, "-s", "4").stderr


@pytest.fixture
def no_training(monkeypatch):
    """``srbench train`` up to the start of the training, which is replaced by a stub."""
    import srbench.training.loop
    from srbench.training.state import TrainResult

    started = []

    def train(settings, data, out, **kwargs):
        started.append(settings)
        return TrainResult(out, 0)

    monkeypatch.setattr(srbench.training.loop, "train", train)
    return started


@pytest.mark.parametrize(("method", "scale"), [("srresnet", 4), ("srugan", 4), ("rrdb", 4)])
def test_train_without_scale_trains_the_printed_default(tmp_path, no_training, method, scale):
    err = run_cli("train", method, "--data", tmp_path, "--out", tmp_path / "t").stderr
    assert f"training {method} x{scale} (default; pass --scale to choose)" in err
    assert no_training[0].scale == scale


def test_train_with_scale_or_config_says_where_the_scale_came_from(tmp_path, no_training):
    err = run_cli(
        "train", "srresnet", "-s", "8", "--data", tmp_path, "--out", tmp_path / "t"
    ).stderr
    assert "training srresnet x8 on" in err
    config = tmp_path / "c.yaml"
    config.write_text(
        json.dumps({"base": str(REPO / "srbench/methods/families/srgan/configs/srresnet/x2.yaml")})
    )
    err = run_cli(
        "train", "srresnet", "--config", config, "--data", tmp_path, "--out", tmp_path / "u"
    ).stderr
    assert f"training srresnet x2 (from {config}; pass --scale to choose)" in err


@pytest.mark.parametrize("value", ["1", "0", "-4"])
def test_train_refuses_scales_below_2(tmp_path, no_training, value):
    err = run_cli("train", "srresnet", "--scale", value, "--data", tmp_path, expect=2).stderr
    assert "a scale must be an integer of at least 2" in err and not no_training


def test_the_default_training_scale_is_4_where_supported_else_the_largest(monkeypatch):
    from srbench.methods.trained import architectures
    from srbench.training.config import default_scale

    for name, arch in architectures().items():
        assert default_scale(name) == (4 if 4 in arch.scales else max(arch.scales))


# --------------------------------------------------------------------------------------------
# Worker counts: what the machine has


def test_dataloader_workers_are_lowered_to_the_cpus_with_a_line(monkeypatch):
    import srbench.training.data as data

    monkeypatch.setattr(data, "available_cpus", lambda: 2)
    lines: list[str] = []
    assert data.loader_workers(4, lines.append) == 2
    assert lines == [
        "DataLoader workers: 2, not the configured 4: this process may use 2 CPUs (batches do "
        "not depend on the count)"
    ]
    assert data.loader_workers(1, lines.append) == 1 and len(lines) == 1  # an upper bound only


def test_the_lowered_count_draws_no_dataloader_warning():
    torch = pytest.importorskip("torch")
    from srbench.training.data import loader_workers

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loader = torch.utils.data.DataLoader(range(4), num_workers=loader_workers(64))
        loader.check_worker_number_rationality()  # torch's own check: warns above the CPUs


def test_run_auto_workers_follow_the_cpu_affinity(monkeypatch):
    import srbench.system.cpus as cpus
    from srbench.run.config import RunConfig
    from srbench.run.plan import make_plan

    monkeypatch.setattr(cpus.os, "cpu_count", lambda: 64)
    monkeypatch.setattr(cpus.os, "sched_getaffinity", lambda _: {0}, raising=False)
    assert make_plan(RunConfig(methods=("bicubic",), datasets=("sample",))).config.workers == 1
    monkeypatch.setattr(cpus.os, "sched_getaffinity", lambda _: set(range(64)), raising=False)
    assert make_plan(RunConfig(methods=("bicubic",))).config.workers == 4
    assert make_plan(RunConfig(methods=("bicubic",), workers=3)).config.workers == 3
