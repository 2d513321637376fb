"""``srbench run`` end to end through the CLI: grids, datasets, plug-ins, failures, resume."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from srbench.imageio import read_image
from srbench.store import load_results
from tests.conftest import REPO, run_cli

PLUGINS = Path(__file__).with_name("plugins_faulty.py")


@pytest.fixture(autouse=True)
def _offline_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")


def _run(results, *args, expect=0):
    return run_cli("run", "--results", results, "--no-progress", *args, expect=expect)


def test_sample_runs_offline_and_stores_every_row(tmp_path):
    out = _run(tmp_path, "-D", "sample", "-m", "bicubic,nearest", "-s", "2,4", "--save-images")
    frame = load_results(tmp_path)
    # 5 images x 2 scales x 2 methods x (psnr, ssim, runtime)
    assert len(frame) == 60 and frame["error"].isna().all()
    assert set(frame["protocol"][frame["metric"] == "psnr"]) == {"y-shave2", "y-shave4"}
    assert frame[frame["metric"] == "runtime"]["protocol"].str.startswith("seconds@").all()
    assert "bicubic" in out.stdout and "y-shave4" in out.stdout
    (run_dir,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["failures"] == 0
    assert manifest["config"]["scales"] == [2, 4] and manifest["device"] == "cpu"
    assert manifest["datasets"][0]["name"] == "sample" and manifest["versions"]["python"]
    saved = run_dir / "images" / "sample" / "x4" / "bicubic" / "bicubic" / "camera.png"
    assert read_image(saved).shape == (512, 512, 3)
    listing = run_cli("ls", "runs", "--results", tmp_path).stdout
    assert run_dir.name in listing and "complete" in listing and "60 rows" in listing


def test_methods_are_listed_from_their_cards():
    out = run_cli("ls", "methods").stdout
    assert re.search(r"bicubic +any +0  +- +MATLAB bicubic", out)
    assert re.search(r"edsr_baseline +2,3,4 +1,517,571 ", out)
    assert "precomputed" in out and "[MATLAB imresize]" in out


def test_the_method_template_runs(tmp_path):
    template = REPO / "methods" / "_template" / "method.py"
    _run(
        tmp_path,
        "-D",
        "sample",
        "-s",
        "2",
        "--method-file",
        f"{template}:UnsharpBicubic",
        "-m",
        "bicubic,unsharp_bicubic:amount=0.5,label=unsharp",
    )
    means = load_results(tmp_path).query("metric == 'psnr'").groupby("method")["value"].mean()
    assert means["unsharp"] != means["bicubic"] and np.isfinite(means).all()


def test_tiled_run_scores_like_whole_images(tmp_path):
    _run(tmp_path / "a", "-D", "sample", "-m", "bicubic", "-s", "3")
    _run(
        tmp_path / "b",
        "-D",
        "sample",
        "-m",
        "bicubic",
        "-s",
        "3",
        "--tile",
        "40",
        "--tile-overlap",
        "4",
        "--batch-size",
        "3",
    )
    a, b = (load_results(tmp_path / x) for x in "ab")
    quality = [(f["metric"] != "runtime").to_numpy() for f in (a, b)]
    np.testing.assert_array_equal(a[quality[0]]["value"], b[quality[1]]["value"])


def test_folder_dataset_reproduces_the_published_bicubic_value(tmp_path, shared):
    _run(tmp_path, "-D", shared / "benchmark" / "Set5", "-m", "bicubic", "-s", "4")
    frame = load_results(tmp_path)
    means = frame.groupby("metric")["value"].mean()
    assert abs(means["psnr"] - 28.42) < 0.02 and abs(means["ssim"] - 0.8104) < 0.002
    assert set(frame["dataset"]) == {"Set5"}
    assert frame["dataset_version"].str.startswith("sha256:").all()


def test_precomputed_rcan_outputs_reproduce_matlab(tmp_path, shared):
    rcan = shared / "rcan_set5"
    spec = f"precomputed:dir={rcan}/SR_RCAN/X{{scale}},label=RCAN"
    _run(tmp_path, "-D", shared / "benchmark" / "Set5", "-m", spec, "-s", "2,3")
    frame = load_results(tmp_path)
    assert "runtime" not in set(frame["metric"])
    wide = frame.pivot_table(index=["scale", "image"], columns="metric", values="value")
    matlab = pd.read_csv(rcan / "matlab_results.csv").set_index(["scale", "image_id"])
    joined = wide.join(matlab, on=["scale", "image"], how="inner")
    assert len(joined) == 10
    assert np.abs(joined["psnr"] - joined["psnr_y"]).max() < 1e-4
    assert np.abs(joined["ssim"] - joined["ssim_y"]).max() < 1e-5


def test_faulty_methods_are_recorded_and_the_rest_continues(tmp_path):
    files = [
        a
        for c in ("Raises", "WrongShape", "NaNs", "Slow")
        for a in ("--method-file", f"{PLUGINS}:{c}")
    ]
    out = _run(
        tmp_path,
        "-D",
        "sample",
        "-m",
        "bicubic,raises,wrongshape,nans,slow",
        "-s",
        "2",
        "--timeout",
        "1",
        *files,
        expect=1,
    )
    frame = load_results(tmp_path)
    failed = frame[frame["error"].notna()].drop_duplicates(["image", "method"])
    by_method = failed.groupby("method")["image"].apply(sorted).to_dict()
    assert by_method == {
        "raises": ["camera"],
        "wrongshape": ["astronaut", "camera", "chelsea", "coffee", "rocket"],
        "nans": ["astronaut", "camera", "chelsea", "coffee", "rocket"],
        "slow": ["camera"],
    }
    errors = failed.set_index(["method", "image"])["error"]
    assert "RuntimeError: kaboom" in errors["raises", "camera"]
    assert "output shape (511, 512, 3), expected (512, 512, 3)" in errors["wrongshape", "camera"]
    assert "NaN or inf" in errors["nans", "camera"]
    assert "longer than --timeout 1 s" in errors["slow", "camera"]
    ok = frame[frame["error"].isna()]
    assert (ok["method"] == "bicubic").sum() == 15 and (ok["method"] == "slow").sum() == 12
    assert (
        "12 cell(s) failed" in out.stderr
        and "failed: sample x2 bicubic raises camera" in out.stderr
    )


def test_unknown_names_exit_2_with_a_suggestion_and_leave_no_run(tmp_path):
    err = _run(tmp_path, "-D", "sample", "-m", "bicubc", expect=2).stderr
    assert "Unknown method 'bicubc'. Did you mean 'bicubic'?" in err
    err = _run(tmp_path, "-D", "set55", "-m", "bicubic", expect=2).stderr
    assert "Did you mean 'set5'?" in err
    err = _run(tmp_path, "-D", "sample", "-m", "bicubic", "-d", "blurr", expect=2).stderr
    assert "Did you mean 'blur'?" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["dataset", "image", "scale", "degradation", "seed", "method", "metric", "protocol"]
    frame = frame.drop(columns="run_id")
    frame.loc[frame["metric"] == "runtime", "value"] = 0.0  # wall-clock time differs per run
    return frame.sort_values(keys).reset_index(drop=True)


def _spawn_run(
    results: Path, run_id: str, args: list[str], *, new_session: bool = False
) -> subprocess.Popen:
    """``srbench run`` in a child process (so that it can be killed or interrupted); with
    ``new_session``, in a process group of its own (to kill what it started too)."""
    cmd = [sys.executable, "-m", "srbench", "run", "--results", str(results), "--run-id", run_id]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [*cmd, "--no-progress", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=new_session,
    )


def _spawn_until_a_part(
    results: Path, run_id: str, args: list[str], *, new_session: bool = False
) -> subprocess.Popen:
    """:func:`_spawn_run`, returned once the run has written its first part (or ended)."""
    proc = _spawn_run(results, run_id, args, new_session=new_session)
    parts = results / "runs" / run_id / "parts"
    deadline = time.monotonic() + 120
    while not list(parts.glob("*.parquet")) and proc.poll() is None:
        assert time.monotonic() < deadline, "the run wrote no part in time"
        time.sleep(0.05)
    return proc


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_clean_result(tmp_path):
    args = [
        "-D",
        "sample",
        "-m",
        "bicubic,sleepy",
        "-s",
        "2,3",
        "-d",
        "bicubic;noise:sigma=10",
        "--method-file",
        f"{PLUGINS}:Sleepy",
    ]
    proc = _spawn_until_a_part(tmp_path / "k", "killed", args)
    parts = tmp_path / "k" / "runs" / "killed" / "parts"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = load_results(tmp_path / "k")
    assert 0 < len(partial) < 2 * 5 * 2 * 2 * 3, "the kill should land mid-run"
    run_cli("run", "--results", tmp_path / "k", "--resume", "killed", "--no-progress")
    _run(tmp_path / "c", "--run-id", "clean", *args)
    resumed, clean = load_results(tmp_path / "k"), load_results(tmp_path / "c")
    pd.testing.assert_frame_equal(_comparable(resumed), _comparable(clean))
    assert json.loads((parts.parent / "manifest.json").read_text())["resumed"]
    err = run_cli("run", "--results", tmp_path / "k", "--resume", "killed", "-s", "4", expect=2)
    assert "drop --scale" in err.stderr
    # resuming a finished run adds nothing
    run_cli("run", "--results", tmp_path / "k", "--resume", "killed", "--no-progress")
    assert len(load_results(tmp_path / "k")) == len(clean)


@pytest.mark.slow
def test_ctrl_c_saves_what_is_done_and_says_how_to_resume(tmp_path):
    args = ["-D", "sample", "-m", "sleepy", "-s", "2,3", "--method-file", f"{PLUGINS}:Sleepy"]
    proc = _spawn_run(tmp_path, "r", args)
    manifest = tmp_path / "runs" / "r" / "manifest.json"
    deadline = time.monotonic() + 120
    while not manifest.exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the run did not start"
        time.sleep(0.05)
    time.sleep(1.0)  # a few images in, before the first timed flush
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert "srbench run --resume r --results" in err.decode()
    assert json.loads(manifest.read_text())["status"] == "interrupted"
    assert 0 < len(load_results(tmp_path)) < 30
    run_cli("run", "--results", tmp_path, "--resume", "r", "--no-progress")
    assert len(load_results(tmp_path)) == 30


def test_a_folder_whose_images_share_a_stem_is_refused(tmp_path, rng):
    from srbench.imageio import write_png

    img = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    write_png(tmp_path / "hr" / "a.png", img)
    (tmp_path / "hr" / "a.bmp").write_bytes((tmp_path / "hr" / "a.png").read_bytes())
    err = _run(tmp_path / "r", "-D", tmp_path / "hr", "-m", "bicubic", expect=2).stderr
    assert "a.bmp, a.png share a file stem" in err
