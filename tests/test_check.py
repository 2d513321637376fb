"""`srbench baseline` and `srbench check`: regressions by direction, tolerance and paired test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from srbench.check import (
    BaselineError,
    check,
    make_baseline,
    parse_tolerances,
    read_baseline,
    write_baseline,
)
from tests.conftest import REPO, run_cli
from tests.frames import rows, write_run

PSNR = np.array([30.0, 28.5, 33.2, 26.1, 31.7, 29.9, 27.4, 32.8, 30.6, 25.3])
SSIM = np.array([0.90, 0.85, 0.93, 0.71, 0.88, 0.86, 0.80, 0.92, 0.89, 0.70])
TIME = np.full(10, 0.02)


def _run(psnr_b=PSNR - 0.5, time_a=TIME, **fields) -> pd.DataFrame:
    return pd.concat(
        [
            rows({"a": PSNR, "b": psnr_b}, "psnr", **fields),
            rows({"a": SSIM, "b": SSIM - 0.01}, "ssim", **fields),
            rows({"a": time_a, "b": TIME}, "runtime", protocol="seconds@cpu,workers=1"),
        ]
    )


@pytest.fixture
def store(tmp_path):
    """A results folder with one run and a baseline (psnr, ssim, runtime) made from it."""
    results = tmp_path / "results"
    write_run(results, _run(), "base", "2026-01-01T00:00:00+00:00")
    baseline = tmp_path / "baseline.csv"
    run_cli("baseline", "--results", results, "--out", baseline, "--metrics", "psnr,ssim,runtime")
    return results, baseline


def _rerun(results, frame, run_id="new", month=2):
    write_run(results, frame, run_id, f"2026-{month:02d}-01T00:00:00+00:00")


def test_baseline_equal_to_the_run_passes(store):
    results, baseline = store
    out = run_cli("check", "--results", results, "--baseline", baseline).stdout
    assert "no regression in 6 cells" in out
    written = read_baseline(baseline)
    assert len(written) == 60 and set(written["metric"]) == {"psnr", "ssim", "runtime"}
    assert written.loc[0, "value"] == PSNR[0]  # full precision survives the CSV


def test_a_method_made_worse_fails_and_is_named(store):
    results, baseline = store
    _rerun(results, _run(psnr_b=PSNR - 0.6))  # b loses another 0.1 dB on every image
    out = run_cli("check", "--results", results, "--baseline", baseline, expect=1).stdout
    assert "1 of 6 cells regressed" in out
    line = next(x for x in out.splitlines() if x.startswith("| REGRESSED"))
    assert "| b | psnr | y-shave4 |" in line and "| -0.1 |" in line


def test_noise_within_tolerance_passes(store):
    results, baseline = store
    jitter = np.random.default_rng(0).normal(0, 0.002, 10)
    _rerun(results, _run(psnr_b=PSNR - 0.5 + jitter))
    run_cli("check", "--results", results, "--baseline", baseline)


def test_beyond_tolerance_but_within_noise_passes_the_paired_test(store):
    results, baseline = store
    wobble = np.array([0.3, -0.25, 0.28, -0.3, 0.25, -0.35, 0.3, -0.28, 0.26, -0.4])
    assert wobble.mean() < -0.01  # the mean moved further than psnr's tolerance
    _rerun(results, _run(psnr_b=PSNR - 0.5 + wobble))
    out = run_cli("check", "--results", results, "--baseline", baseline, "--all").stdout
    assert "within noise" in out
    # with means only there is no paired test: the same move fails
    means = baseline.with_name("means.csv")
    run_cli("baseline", "--results", results, "--runs", "base", "--out", means, "--means")
    run_cli("check", "--results", results, "--baseline", means, expect=1)


def test_a_missing_method_fails(store):
    results, baseline = store
    frame = _run()
    _rerun(results, frame[frame["method"] != "b"])
    out = run_cli("check", "--results", results, "--runs", "new", "--baseline", baseline, expect=1)
    assert out.stdout.count("| MISSING |") == 3


def test_missing_images_and_new_failures_fail(store):
    results, baseline = store
    frame = _run()
    lost = frame[~((frame["method"] == "a") & (frame["image"] == "img03"))]
    _rerun(results, lost)
    out = run_cli("check", "--results", results, "--runs", "new", "--baseline", baseline, expect=1)
    assert "1 image(s) not scored: img03" in out.stdout
    failed = frame.copy()
    broken = (failed["method"] == "b") & (failed["image"] == "img01")
    failed.loc[broken, ["value", "error"]] = [np.nan, "RuntimeError: out of memory"]
    _rerun(results, failed, "failed", month=3)
    out = run_cli(
        "check", "--results", results, "--runs", "failed", "--baseline", baseline, expect=1
    )
    assert "| FAILED |" in out.stdout and "out of memory" in out.stdout


def test_lower_is_better_regresses_upward(store):
    results, baseline = store
    _rerun(results, _run(time_a=TIME * 2))
    out = run_cli("check", "--results", results, "--baseline", baseline, expect=1).stdout
    line = next(x for x in out.splitlines() if x.startswith("| REGRESSED"))
    assert "| a | runtime |" in line
    _rerun(results, _run(time_a=TIME / 4), "faster", month=3)
    out = run_cli("check", "--results", results, "--baseline", baseline).stdout
    assert "| improved |" in out and "| a | runtime |" in out


def test_changed_dataset_version_is_not_compared(store):
    results, baseline = store
    _rerun(results, _run(dataset_version="sha256:other"))
    out = run_cli("check", "--results", results, "--baseline", baseline, expect=1).stdout
    assert "| CHANGED |" in out and "dataset version 1 → sha256:other" in out


def test_tolerances_and_summary_file(store, tmp_path, monkeypatch):
    results, baseline = store
    _rerun(results, _run(psnr_b=PSNR - 0.6))
    run_cli("check", "--results", results, "--baseline", baseline, "--tol", "psnr=0.2")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run_cli("check", "--results", results, "--baseline", baseline, "--tol", "psnr=0.2%", expect=1)
    assert "1 of 6 cells regressed" in summary.read_text()
    bad = run_cli("check", "--results", results, "--baseline", baseline, "--tol", "psnr", expect=2)
    assert "bad tolerance 'psnr'" in bad.stderr


def test_usage_errors_exit_2(store, tmp_path):
    results, baseline = store
    missing = run_cli("check", "--results", results, "--baseline", tmp_path / "no.csv", expect=2)
    assert "srbench baseline --out" in missing.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("dataset,value\nSet5,1\n")
    assert (
        "lacks the column(s)"
        in run_cli("check", "--results", results, "--baseline", bad, expect=2).stderr
    )
    unknown = run_cli(
        "check", "--results", results, "--baseline", baseline, "-D", "Set14", expect=2
    )
    assert "not in" in unknown.stderr
    empty = run_cli("check", "--results", tmp_path / "none", "--baseline", baseline, expect=2)
    assert "no results in" in empty.stderr


def test_baseline_refuses_failed_cells(tmp_path):
    frame = rows({"a": [30.0, np.nan]}, error=None)
    frame.loc[1, "error"] = "boom"
    with pytest.raises(BaselineError, match="failed"):
        make_baseline(frame)


def test_new_cells_do_not_fail():
    baseline_rows = rows({"a": PSNR})
    baseline = baseline_rows.drop(columns=["run_id", "error"]).assign(images=1)
    findings = check(pd.concat([baseline_rows, rows({"z": PSNR})]), baseline)
    assert sorted(f.status for f in findings) == ["new", "ok"]
    assert parse_tolerances("ssim=1e-3")["ssim"].amount == 1e-3


# --- set-level metrics (FID): one value per cell, tolerance and direction, no paired test -------


def _with_fid(fid_b=15.0, samples=4096, **fields) -> pd.DataFrame:
    return pd.concat(
        [
            rows({"a": PSNR, "b": PSNR - 0.5}, "psnr"),
            rows({"a": 20.0, "b": fid_b}, "fid", samples=samples, **fields),
        ]
    )


@pytest.fixture
def fid_baseline(tmp_path):
    path = write_baseline(make_baseline(_with_fid()), tmp_path / "fid.csv")
    return read_baseline(path)


def _statuses(findings) -> dict:
    return {(f.cell[4], f.cell[5]): f.status for f in findings}


def test_set_level_rows_in_the_baseline(fid_baseline, tmp_path):
    fid = fid_baseline[fid_baseline["metric"] == "fid"].set_index("method")
    assert fid["image"].tolist() == ["", ""]
    assert fid["images"].tolist() == [10, 10]  # the images behind the value, not 1
    assert fid["samples"].tolist() == [4096, 4096]
    assert fid.loc["b", "value"] == 15.0
    psnr = fid_baseline[fid_baseline["metric"] == "psnr"]
    assert len(psnr) == 20 and psnr["samples"].isna().all() and (psnr["images"] == 1).all()
    means = make_baseline(_with_fid(), per_image=False)
    assert means.set_index(["method", "metric"])["images"].to_dict() == {
        ("a", "fid"): 10,
        ("a", "psnr"): 10,
        ("b", "fid"): 10,
        ("b", "psnr"): 10,
    }
    assert set(_statuses(check(_with_fid(), fid_baseline)).values()) == {"ok"}


def test_a_worse_fid_beyond_tolerance_regresses(fid_baseline):
    # default tolerance for fid: 0.1% of the baseline value (0.015 for b's 15.0)
    findings = check(_with_fid(fid_b=15.5), fid_baseline)
    assert _statuses(findings) == {
        ("a", "fid"): "ok",
        ("a", "psnr"): "ok",
        ("b", "fid"): "regressed",
        ("b", "psnr"): "ok",
    }
    (worse,) = [f for f in findings if f.status == "regressed"]
    assert worse.delta == pytest.approx(0.5) and np.isnan(worse.p_value)
    within = check(_with_fid(fid_b=15.01), fid_baseline)
    assert _statuses(within)["b", "fid"] == "ok"
    loose = check(_with_fid(fid_b=15.5), fid_baseline, parse_tolerances("fid=1"))
    assert _statuses(loose)["b", "fid"] == "ok"
    better = check(_with_fid(fid_b=14.0), fid_baseline)
    assert _statuses(better)["b", "fid"] == "improved"  # lower is better


def test_fid_under_another_protocol_or_version_is_changed(fid_baseline):
    other = check(_with_fid(protocol="rgb-shave4-patch32-stride32"), fid_baseline)
    statuses = [f for f in other if f.cell[5] == "fid"]
    assert [f.status for f in statuses] == ["changed", "changed"]
    assert "protocol rgb-shave4-patch64-stride64 → rgb-shave4-patch32-stride32" in statuses[0].note
    newer = check(_with_fid(metric_version="2"), fid_baseline)
    assert _statuses(newer)["b", "fid"] == "changed"
    failed = _with_fid()
    broken = (failed["metric"] == "fid") & (failed["method"] == "b")
    failed.loc[broken, ["value", "error"]] = [np.nan, "RuntimeError: images of b failed"]
    assert _statuses(check(failed, fid_baseline))["b", "fid"] == "failed"
    fewer = _with_fid()
    fewer = fewer[~((fewer["metric"] == "psnr") & (fewer["image"] == "img09"))]
    # psnr lost an image (missing) and fid now comes from 9 images (missing)
    assert _statuses(check(fewer, fid_baseline))["b", "fid"] == "missing"
    samples = check(_with_fid(samples=4000), fid_baseline)
    assert {f.note for f in samples if f.cell[5] == "fid"} == {"samples 4096 → 4000"}


def test_baselines_without_a_samples_column_still_load(fid_baseline, tmp_path):
    old = tmp_path / "old.csv"
    fid_baseline[fid_baseline["metric"] == "psnr"].drop(columns="samples").to_csv(old, index=False)
    loaded = read_baseline(old)
    assert "samples" in loaded and loaded["samples"].isna().all()
    assert [f.status for f in check(_with_fid(), loaded)] == ["ok", "ok"]  # psnr of a and b
    committed = read_baseline(REPO / "results" / "baselines" / "ci.csv")
    assert committed["samples"].isna().all() and len(committed) > 0
