"""Stochastic methods in ``srbench run --samples N``: draws, their seeds, aggregates, resume,
and how leaderboards, reports and regression checks show them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from srbench.errors import SrbenchError
from srbench.imageio import read_image, write_png
from srbench.metrics import METRICS
from srbench.metrics.protocols import get_protocol
from srbench.run import RunConfig, resume, run
from srbench.run.samples import sample_seed
from srbench.store import load_results, read_run
from srbench.store.schema import SCHEMA
from srbench.weights.files import locate
from tests.conftest import REPO, run_cli

PLUGIN = Path(__file__).with_name("plugins_stochastic.py")
METHOD_FILE = f"{PLUGIN}:NoisyBicubic"
SCALE = 2
DRAWS = 3


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")


@pytest.fixture
def tiny(tmp_path, rng) -> Path:
    """A folder dataset ``tiny`` of three 48x48 colour images."""
    folder = tmp_path / "tiny"
    for name in ("a", "b", "c"):
        write_png(folder / f"{name}.png", rng.integers(0, 256, (48, 48, 3), dtype=np.uint8))
    return folder


def _run(results, *args, expect=0):
    return run_cli(
        "run", "--results", results, "--no-progress", "--method-file", METHOD_FILE, *args,
        expect=expect,
    )  # fmt: skip


def _lpips_here() -> bool:
    try:
        for name in METRICS.get("lpips").weights:
            locate(name)
    except SrbenchError:  # weights missing: the run skips the diversity
        return False
    return True


def _draws(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["sample"].notna() & frame["aggregate"].isna()]


def _aggregates(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    return frame[frame["aggregate"] == kind].set_index(["image", "metric"])["value"]


def test_draws_are_stored_with_their_seeds_and_aggregated(tmp_path, tiny):
    out = _run(
        tmp_path, "-D", tiny, "-s", SCALE, "-m", "bicubic,noisybicubic",
        "--samples", DRAWS, "--save-images",
    )  # fmt: skip
    frame = load_results(tmp_path)
    noisy = frame[frame["method"] == "noisybicubic"]
    draws = _draws(noisy)
    # 3 images x (psnr, ssim, runtime): one row per draw
    assert draws.groupby(["image", "metric"]).size().eq(DRAWS).all() and len(draws) == 27
    for (image, sample), seeds in draws.groupby(["image", "sample"])["sample_seed"]:
        expected = sample_seed(0, "tiny", image, SCALE, "bicubic", int(sample))
        assert set(seeds) == {expected}
    assert draws.drop_duplicates(["image", "sample"])["sample_seed"].is_unique
    assert noisy["error"].isna().all()

    values = draws.groupby(["image", "metric"])["value"]
    mean, best = _aggregates(noisy, "mean"), _aggregates(noisy, "best")
    assert np.allclose(mean.sort_index(), values.mean().sort_index())
    quality = ["psnr", "ssim"]
    assert np.allclose(best.loc[:, quality].sort_index(), values.max().loc[:, quality].sort_index())
    assert np.allclose(best.loc[:, "runtime"].sort_index(), values.sum().loc[:, "runtime"])
    assert (best.loc[:, "psnr"] > mean.loc[:, "psnr"]).all()  # noise differs per draw

    # pixel_std: per-pixel std across the saved draws (0..255, shaved RGB), averaged
    run_dir = next((tmp_path / "runs").iterdir())
    protocol = get_protocol("y")
    diversity = _aggregates(noisy, "diversity")
    for image in "abc":
        saved = run_dir / "images" / "tiny" / f"x{SCALE}" / "bicubic" / "noisybicubic"
        stack = np.stack(
            [protocol.rgb(read_image(saved / f"{image}.s{s}.png"), SCALE) for s in range(DRAWS)]
        ).astype(np.float64)
        assert diversity[(image, "pixel_std")] == pytest.approx(stack.std(axis=0).mean())
    assert not (run_dir / "samples").exists()  # kept draws are dropped once aggregated
    if not _lpips_here():  # skipped with one line, the run does not fail
        assert out.stderr.count("skipped LPIPS diversity") == 1
        assert (noisy["metric"] == "lpips").sum() == 0
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert any("LPIPS diversity" in s for s in manifest["skipped"])
        assert manifest["config"]["samples"] == DRAWS


def test_a_deterministic_method_beside_a_stochastic_one_keeps_todays_rows(tmp_path, tiny):
    _run(tmp_path / "mixed", "-D", tiny, "-s", SCALE, "-m", "bicubic,noisybicubic", "--samples", 2)
    _run(tmp_path / "alone", "-D", tiny, "-s", SCALE, "-m", "bicubic")
    columns = ["image", "metric", "protocol", "value", "method_version", "metric_version"]

    def bicubic(results):
        rows = load_results(results)
        rows = rows[(rows["method"] == "bicubic") & (rows["metric"] != "runtime")]
        assert rows[["sample", "sample_seed", "aggregate"]].isna().all().all()
        return rows[columns].sort_values(["image", "metric"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(bicubic(tmp_path / "mixed"), bicubic(tmp_path / "alone"))


def test_reruns_draw_the_same_seeds_and_values(tmp_path, tiny):
    for name in ("one", "two"):
        _run(tmp_path / name, "-D", tiny, "-s", SCALE, "-m", "noisybicubic", "--samples", 2)
    keys = ["image", "sample", "metric"]
    one, two = (
        _draws(load_results(tmp_path / n)).query("metric != 'runtime'").sort_values(keys)
        for n in ("one", "two")
    )
    assert one["sample_seed"].tolist() == two["sample_seed"].tolist()
    assert np.allclose(one["value"], two["value"])


def test_sample_seeds_do_not_depend_on_the_process():
    code = "from srbench.run.samples import sample_seed; print(sample_seed(7, 'd', 'i', 4, 'b', 2))"
    seeds = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": salt, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for salt in ("1", "2")
    }
    assert seeds == {str(sample_seed(7, "d", "i", 4, "b", 2))}


def _interrupted(tmp_path: Path, tiny: Path, calls: Path) -> RunConfig:
    """Run ``r`` in ``tmp_path/results``, stopped by Ctrl-C at image b's third draw (each draw's
    seed is appended to ``calls``); its config."""
    config = RunConfig(
        datasets=(str(tiny),), scales=(SCALE,), samples=DRAWS, method_files=(METHOD_FILE,),
        methods=(f"noisybicubic:calls={calls},interrupt=5",), workers=1,
    )  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        run(config, tmp_path / "results", run_id="r", progress=False)
    return config


def test_a_resumed_run_draws_only_the_missing_samples(tmp_path, tiny):
    calls = tmp_path / "calls.txt"
    config = _interrupted(tmp_path, tiny, calls)
    stored = read_run(tmp_path / "results" / "runs" / "r")
    assert sorted(_draws(stored).drop_duplicates(["image", "sample"])["image"]) == list("aaabb")
    assert set(stored.loc[stored["aggregate"].notna(), "image"]) == {"a"}

    resume("r", tmp_path / "results", progress=False)
    seeds = [int(s) for s in calls.read_text().split()]
    assert len(seeds) == 3 + 2 + 1 + 3  # a, b's first two, b's third, c: nothing twice
    assert seeds[5] == sample_seed(0, "tiny", "b", SCALE, "bicubic", 2)

    run(config.model_copy(update={"methods": ("noisybicubic",)}), tmp_path / "ref", run_id="r")
    done, ref = load_results(tmp_path / "results"), load_results(tmp_path / "ref")
    for kind in ("mean", "best", "diversity"):
        a, b = _aggregates(done, kind), _aggregates(ref, kind)
        a, b = (
            a.drop("runtime", level="metric", errors="ignore"),
            b.drop("runtime", level="metric", errors="ignore"),
        )
        assert np.allclose(a.sort_index(), b.sort_index()), kind


def test_draws_whose_kept_images_are_gone_are_drawn_again(tmp_path, tiny):
    calls = tmp_path / "calls.txt"
    _interrupted(tmp_path, tiny, calls)
    run_dir = tmp_path / "results" / "runs" / "r"
    shutil.rmtree(run_dir / "samples")  # b's two draws cannot be aggregated without their images
    resume("r", tmp_path / "results", progress=False)
    assert len(calls.read_text().split()) == 5 + 3 + 3  # b again in full, then c
    frame = read_run(run_dir)
    assert frame["error"].isna().all()
    assert frame[frame["aggregate"].notna()].groupby("image").size().nunique() == 1
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "complete"
    assert not (run_dir / "samples").exists()


def test_leaderboard_and_check_show_mean_and_best(tmp_path, tiny):
    _run(tmp_path, "-D", tiny, "-s", SCALE, "-m", "bicubic,noisybicubic", "--samples", DRAWS)
    board = run_cli("leaderboard", "--results", tmp_path, "--format", "csv").stdout
    table = pd.read_csv(__import__("io").StringIO(board))
    methods = set(table["method"])
    assert {"bicubic", "noisybicubic (mean of 3)", "noisybicubic (best of 3)"} <= methods
    frame = load_results(tmp_path)
    psnr = frame[(frame["metric"] == "psnr") & (frame["method"] == "noisybicubic")]
    row = table[(table["method"] == "noisybicubic (best of 3)") & (table["metric"] == "psnr")]
    assert row["mean"].iloc[0] == pytest.approx(psnr[psnr["aggregate"] == "best"]["value"].mean())

    baseline = tmp_path / "base.csv"
    run_cli("baseline", "--results", tmp_path, "--out", baseline)
    rows = pd.read_csv(baseline)
    noisy = rows[(rows["method"] == "noisybicubic") & (rows["metric"] == "psnr")]
    assert noisy["value"].tolist() == pytest.approx(
        psnr[psnr["aggregate"] == "mean"].sort_values("image")["value"].tolist()
    )
    run_cli("check", "--results", tmp_path, "--baseline", baseline)


@pytest.mark.slow
def test_the_report_plots_fidelity_against_diversity(tmp_path, tiny):
    _run(tmp_path, "-D", tiny, "-s", SCALE, "-m", "bicubic,noisybicubic", "--samples", DRAWS)
    run_cli("report", "--results", tmp_path, "--out", tmp_path / "report")
    text = (tmp_path / "report" / "README.md").read_text()
    assert "noisybicubic (mean of 3)" in text and "noisybicubic (best of 3)" in text
    assert "## Fidelity–diversity" in text
    assert (tmp_path / "report" / "figures" / "diversity-psnr.png").is_file()


def test_samples_below_one_is_a_usage_error(tmp_path):
    out = _run(tmp_path, "-D", "sample", "-m", "noisybicubic", "--samples", 0, expect=2)
    assert "samples" in out.stderr and ">= 1" in out.stderr
    assert not (tmp_path / "runs").exists()


def _plan(samples: int = DRAWS):
    from srbench.run.plan import make_plan

    config = RunConfig(
        datasets=("sample",), scales=(SCALE,), methods=("noisybicubic",), samples=samples,
        method_files=(METHOD_FILE,), metrics=("psnr",),
    )  # fmt: skip
    return make_plan(config)


def _records(values, errors=None):
    errors = errors or [None] * len(values)
    return [
        {"sample": s, "metric": "psnr", "value": v, "error": e}
        for s, (v, e) in enumerate(zip(values, errors, strict=True))
    ] + [{"sample": s, "metric": "runtime", "value": 1.0, "error": e} for s, e in enumerate(errors)]


def test_aggregates_take_lpips_over_pairs_and_fail_with_a_draw(rng):
    from srbench.run.samples import aggregate_rows

    plan = _plan()
    base = {"dataset": "d", "image": "i", "scale": SCALE, "degradation": "bicubic", "seed": 0}
    images = {s: rng.integers(0, 256, (20, 20, 3), dtype=np.uint8) for s in range(DRAWS)}
    pairs: list[float] = []

    def fake_lpips(a, b):  # any pairwise distance: the aggregate is the mean over the 3 pairs
        pairs.append(float(np.abs(a.astype(float) - b).mean()))
        return pairs[-1]

    rows = aggregate_rows(
        plan, base, "noisybicubic", _records([30.0, 32.0, 31.0]), images, fake_lpips
    )
    got = {(r["aggregate"], r["metric"]): r["value"] for r in rows}
    assert got[("mean", "psnr")] == 31.0 and got[("best", "psnr")] == 32.0
    assert got[("mean", "runtime")] == 1.0 and got[("best", "runtime")] == 3.0
    assert len(pairs) == 3 and got[("diversity", "lpips")] == pytest.approx(np.mean(pairs))
    assert all(r["samples"] == DRAWS and r["error"] is None for r in rows)

    failed = aggregate_rows(
        plan, base, "noisybicubic", _records([30.0, np.nan, 31.0], [None, "boom", None]),
        {**images, 1: None}, fake_lpips,
    )  # fmt: skip
    assert all(np.isnan(r["value"]) and "1 of 3 samples failed" in r["error"] for r in failed)


def test_old_stores_read_with_null_samples_and_one_draw_counts_as_the_method(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from srbench.leaderboard.selection import fold_samples
    from srbench.store import COLUMNS

    old = [c for c in COLUMNS if c not in ("sample", "sample_seed", "aggregate")]
    row = {c: None for c in old} | {
        "run_id": "r", "dataset": "d", "image": "i", "scale": 2, "degradation": "bicubic",
        "seed": 0, "method": "m", "metric": "psnr", "protocol": "y-shave2", "value": 30.0,
    }  # fmt: skip
    (tmp_path / "r" / "parts").mkdir(parents=True)
    table = pa.Table.from_pylist([row]).cast(pa.schema([f for f in SCHEMA if f.name in old]))
    pq.write_table(table, tmp_path / "r" / "scores.parquet")
    frame = read_run(tmp_path / "r")
    assert frame[["sample", "sample_seed", "aggregate"]].isna().all().all()
    assert fold_samples(frame).equals(frame)
    one_draw = frame.assign(sample=pd.array([0], dtype="Int64"), sample_seed=7)
    assert fold_samples(one_draw)["method"].tolist() == ["m"]  # --samples 1: no aggregates


def test_each_tile_of_a_draw_gets_its_own_seed_and_an_untiled_draw_the_sample_seed():
    from srbench.methods import ImageContext, Tiling
    from tests.plugins_stochastic import NoisyBicubic

    method = NoisyBicubic(calls="")
    lr = np.full((32, 32, 3), 128, np.uint8)  # flat: the output is bicubic (flat) plus noise
    context = ImageContext("d", "a", 2, "bicubic", sample=1, sample_seed=11)
    whole = method.super_resolve(lr, context, Tiling())
    assert np.array_equal(whole, method.upscale_sample(lr, 2, 11))
    tiled = method.super_resolve(lr, context, Tiling(tile=16, overlap=0))
    quarters = [tiled[:32, :32], tiled[:32, 32:], tiled[32:, :32], tiled[32:, 32:]]
    # the same seed in every tile would repeat one noise field four times
    assert all(not np.array_equal(quarters[0], q) for q in quarters[1:])
    assert np.array_equal(tiled, method.super_resolve(lr, context, Tiling(tile=16, overlap=0)))
