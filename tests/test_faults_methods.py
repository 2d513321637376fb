"""Fault injection: what a method plug-in does must never give a silently wrong number, end the
run, or lose rows. One test per fault that once did (a method writing into its input, a timeout
that a method defeats, ``sys.exit``, ``srbench upscale`` of a float output, a [0, 1] output),
then the worker processes of ``--isolate``: crashes, timeouts, resume, kill."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from srbench.catalog.sample import sample_images
from srbench.degradations import DegradationContext, parse_spec
from srbench.imageio import modcrop, quantize, read_image, to_rgb, write_png
from srbench.methods import METHODS, ImageContext, Tiling, create_method
from srbench.metrics import score_pair
from srbench.resize import imresize
from srbench.run.isolation import MAX_STUCK, method_runner
from srbench.store import load_results
from tests import plugins_faulty
from tests.conftest import run_cli
from tests.test_run import _comparable, _spawn_until_a_part

PLUGINS = Path(plugins_faulty.__file__)
STUCK = plugins_faulty.STUCK_SECONDS
IMAGES = ["astronaut", "camera", "chelsea", "coffee", "rocket"]  # camera is the gray one


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")


def _files(*classes: str) -> list[str]:
    return [a for c in classes for a in ("--method-file", f"{PLUGINS}:{c}")]


def _run(results, *args, expect=0):
    return run_cli(
        "run", "--results", results, "--no-progress", "-D", "sample", *args, expect=expect
    )


def _manifest(results: Path) -> dict:
    (run_dir,) = (Path(results) / "runs").iterdir()
    return json.loads((run_dir / "manifest.json").read_text())


def _errors(frame: pd.DataFrame) -> dict[tuple[str, str], str]:
    failed = frame[frame["error"].notna()].drop_duplicates(["image", "method"])
    return {(r.method, r.image): r.error for r in failed.itertuples()}


def _scored_images(frame: pd.DataFrame, method: str) -> list[str]:
    ok = frame[(frame["method"] == method) & frame["error"].isna() & (frame["metric"] == "psnr")]
    return sorted(ok["image"])


MODES = [
    pytest.param([], id="in-process"),
    pytest.param(["--isolate"], marks=pytest.mark.slow, id="isolated"),
]


# ---------------------------------------------------------------------------------------------
# 1. A method that writes into its input


def test_a_method_writing_into_its_input_fails_alone_and_the_next_method_sees_pristine_data(
    tmp_path,
):
    out = _run(tmp_path / "a", "-s", "4", "-m", "inplace,bicubic", *_files("InPlace"), expect=1)
    _run(tmp_path / "b", "-s", "4", "-m", "bicubic")
    frame, clean = load_results(tmp_path / "a"), load_results(tmp_path / "b")
    errors = _errors(frame)
    assert sorted(errors) == [("inplace", image) for image in IMAGES]
    assert "read-only" in errors["inplace", "camera"]
    assert "copy it first: lr = lr.copy()" in errors["inplace", "camera"]
    bicubic = _comparable(frame[frame["method"] == "bicubic"])
    pd.testing.assert_frame_equal(bicubic, _comparable(clean))  # 28.35 dB, not 7.95
    assert "5 cell(s) failed" in out.stderr


def test_the_hr_image_is_read_only_and_each_cell_scores_its_own_copy(tmp_path, monkeypatch):
    """Nothing (a degradation, a metric) can change the HR image another cell is scored on: the
    cells of an image share one read-only Reference, and RGB-input metrics get a copy."""
    from srbench.catalog.resolve import resolve_dataset
    from srbench.degradations import parse_spec
    from srbench.run import cells
    from srbench.run.config import RunConfig
    from srbench.run.plan import make_plan
    from srbench.run.rows import base_row

    seen = []

    def spy(sr, hr, *args):
        seen.append(hr)
        return score_pair(sr, hr, *args)

    monkeypatch.setattr(cells, "score_pair", spy)
    dataset, spec = resolve_dataset("sample"), parse_spec("bicubic")
    plan = make_plan(RunConfig(datasets=("sample",), methods=("bicubic",)))
    hr, lr = cells._prepare(plan, cells.Item(dataset, 4, spec, "camera", ("bicubic",)))
    assert not hr.flags.writeable and not lr.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        hr[0, 0] = 0
    base = base_row(plan, dataset, 4, spec, "camera")
    context = ImageContext("sample", "camera", 4, "bicubic")
    sr = imresize(lr, 4, method="bicubic")
    reference = plan.protocol.reference(hr, 4)
    for _ in range(2):
        rows = cells._score_cell(plan, tmp_path, base, "bicubic", sr, 0.0, reference, context)
        assert all(r["error"] is None for r in rows)
    assert seen == [reference, reference] and reference.hr is hr
    first, second = reference.rgb_pair(sr)[1], reference.rgb_pair(sr)[1]
    assert first.flags.writeable and not np.shares_memory(first, hr)
    assert not np.shares_memory(first, second)


# ---------------------------------------------------------------------------------------------
# 2. --timeout against a method that swallows exceptions or sits in C


@pytest.mark.parametrize("mode", MODES)
def test_the_timeout_holds_against_a_method_that_swallows_exceptions_or_sits_in_c(tmp_path, mode):
    start = time.monotonic()
    _run(
        tmp_path,
        "-s",
        "4",
        "-m",
        "stubborn,ccall,bicubic",
        "--timeout",
        "0.5",
        *mode,
        *_files("Stubborn", "CCall"),
        expect=1,
    )
    # each stuck call lasts STUCK (15 s); waited for, the run would take more than 30 s
    assert time.monotonic() - start < STUCK - 3
    frame = load_results(tmp_path)
    errors = _errors(frame)
    assert sorted(errors) == [("ccall", "camera"), ("stubborn", "camera")]
    for message in errors.values():
        assert message.startswith("timeout: took longer than --timeout 0.5 s on this image")
    for method in ("stubborn", "ccall"):  # a fresh instance (or worker) took the next images
        assert _scored_images(frame, method) == [i for i in IMAGES if i != "camera"]
    execution = _manifest(tmp_path)["execution"]
    key = "worker_restarts" if mode else "abandoned_calls"
    assert execution[key] == {"stubborn": 1, "ccall": 1}
    assert execution["mode"] == ("isolated" if mode else "in-process")


def test_an_in_process_method_whose_calls_stay_stuck_is_not_called_again():
    METHODS.add("blocks", plugins_faulty.Blocks)
    plugins_faulty.RELEASE.clear()
    _, method = create_method("blocks")
    lr = np.zeros((6, 6, 3), np.uint8)
    context = ImageContext("d", "i", 2, "bicubic")
    try:
        with method_runner({"blocks": method}, "cpu", 0.2) as runner:
            outcomes = [runner.call("blocks", lr, context, Tiling()) for _ in range(MAX_STUCK + 1)]
            assert all(o.error.startswith("timeout:") for o in outcomes[:MAX_STUCK])
            assert outcomes[-1].error.startswith(f"not run: {MAX_STUCK} earlier calls")
            assert "--isolate" in outcomes[-1].error
            assert runner.methods["blocks"] is not method  # retired for a fresh instance
            plugins_faulty.RELEASE.set()  # the stuck calls end: the method runs again
            deadline = time.monotonic() + 10
            while any(t.name == "srbench-method-blocks" for t in threading.enumerate()):
                assert time.monotonic() < deadline
                time.sleep(0.02)
            ok = runner.call("blocks", lr, context, Tiling())
            assert ok.error is None and ok.sr.shape == (12, 12, 3)
    finally:
        plugins_faulty.RELEASE.set()


def test_ctrl_c_is_never_a_method_failure():
    """KeyboardInterrupt, from Ctrl-C or raised by a method, stops the run (which saves)."""
    METHODS.add("interrupts", plugins_faulty.Interrupts)
    _, method = create_method("interrupts")
    lr = np.zeros((6, 6, 3), np.uint8)
    for timeout in (None, 5.0):  # the main thread, then a method thread
        with (
            method_runner({"m": method}, "cpu", timeout) as runner,
            pytest.raises(KeyboardInterrupt),
        ):
            runner.call("m", lr, ImageContext("d", "i", 2, "bicubic"), Tiling())


def test_a_timeout_must_be_positive(tmp_path):
    err = _run(tmp_path, "-m", "bicubic", "--timeout", "0", expect=2).stderr
    assert "--timeout needs a positive number of seconds, got 0" in err


# ---------------------------------------------------------------------------------------------
# 3. sys.exit in a method


@pytest.mark.parametrize("mode", [[], ["--isolate"]], ids=["in-process", "isolated"])
def test_sys_exit_in_a_method_fails_its_image_and_the_run_completes(tmp_path, mode):
    out = _run(tmp_path, "-s", "4", "-m", "exits,bicubic", *mode, *_files("Exits"), expect=1)
    frame = load_results(tmp_path)
    errors = _errors(frame)
    assert list(errors) == [("exits", "camera")]
    assert errors["exits", "camera"].startswith("the method called sys.exit(7) (SystemExit)")
    assert _scored_images(frame, "bicubic") == IMAGES
    assert _scored_images(frame, "exits") == [i for i in IMAGES if i != "camera"]
    manifest = _manifest(tmp_path)
    assert manifest["status"] == "complete" and manifest["failures"] == 1
    assert "failed: sample x4 bicubic exits camera: the method called sys.exit(7)" in out.stderr


# ---------------------------------------------------------------------------------------------
# 4. srbench upscale quantises as srbench run does


def _small_folders(tmp_path: Path, scale: int) -> tuple[Path, Path]:
    """An HR folder of two small images (RGB and gray) and its LR folder at ``scale``."""
    hr = sample_images()
    write_png(tmp_path / "hr" / "astronaut.png", hr["astronaut"][100:164, 200:260])
    write_png(tmp_path / "hr" / "camera.png", hr["camera"][100:160, 100:164])
    run_cli("degrade", "--hr", tmp_path / "hr", "-s", scale, "--out", tmp_path / "lr")
    return tmp_path / "hr", tmp_path / "lr"


def test_upscale_writes_a_float_output_as_run_quantises_it(tmp_path):
    from srbench.methods import load_method_file

    load_method_file(f"{PLUGINS}:FloatOut")
    hr, lr_dir = _small_folders(tmp_path, 2)
    run_cli("upscale", "--lr", lr_dir, "-s", "2", "-m", "floatout", "--out", tmp_path / "sr")
    args = ["-D", hr, "-s", "2", "-m", "floatout", "--save-images", *_files("FloatOut")]
    run_cli("run", "--results", tmp_path / "r", "--no-progress", *args)
    (run_dir,) = (tmp_path / "r" / "runs").iterdir()
    for image in ("astronaut", "camera"):
        written = read_image(tmp_path / "sr" / f"{image}.png")
        lr = read_image(lr_dir / f"{image}.png")
        assert written.dtype == np.uint8  # float32 + 0.49, rounded as srbench run rounds
        np.testing.assert_array_equal(written, np.repeat(np.repeat(lr, 2, 0), 2, 1))
        saved = run_dir / "images" / "hr" / "x2" / "bicubic" / "floatout" / f"{image}.png"
        np.testing.assert_array_equal(read_image(saved), written)


def test_upscale_fails_one_image_for_a_method_failure_and_writes_the_others(tmp_path):
    from srbench.methods import load_method_file

    load_method_file(f"{PLUGINS}:Exits")
    _, lr_dir = _small_folders(tmp_path, 2)
    out = tmp_path / "sr"
    err = run_cli("upscale", "--lr", lr_dir, "-s", "2", "-m", "exits", "--out", out, expect=2)
    assert "failed: camera.png: the method called sys.exit(7)" in err.stderr
    assert [p.stem for p in out.glob("*.png")] == ["astronaut"]


@pytest.mark.slow
def test_upscale_with_a_trained_method_writes_uint8_images(tmp_path):
    torch = pytest.importorskip("torch")
    from srbench.methods.trained import architecture
    from srbench.weights.loading import build_network

    torch.manual_seed(0)
    torch.save(build_network(architecture("srcnn"), (2,)).state_dict(), tmp_path / "srcnn.pt")
    _, lr_dir = _small_folders(tmp_path, 2)
    spec = f"srcnn:weights={tmp_path / 'srcnn.pt'}"
    run_cli("upscale", "--lr", lr_dir, "-s", "2", "-m", spec, "--out", tmp_path / "sr")
    _, method = create_method(spec)
    for image in ("astronaut", "camera"):
        lr = read_image(lr_dir / f"{image}.png")
        expected = quantize(method.upscale(to_rgb(lr), 2))
        np.testing.assert_array_equal(read_image(tmp_path / "sr" / f"{image}.png"), expected)
    record = json.loads((tmp_path / "sr" / "srbench.json").read_text())
    assert record["method_version"].startswith("1+file.")


# ---------------------------------------------------------------------------------------------
# 5. A [0, 1] output


def test_a_unit_range_output_warns_once_per_method_and_is_scored_as_given(tmp_path, caplog):
    out = _run(tmp_path, "-s", "4", "-m", "unitrange,bicubic", *_files("UnitRange"))
    warning = "warning: method unitrange: its output looks like a [0, 1] image"
    assert out.stderr.count(warning) == 1 and "bicubic: its output" not in out.stderr
    assert "srbench expects values on 0..255" in out.stderr
    recorded = _manifest(tmp_path)["warnings"]
    assert list(recorded) == ["unitrange"] and "[0, 1] image" in recorded["unitrange"]
    frame = load_results(tmp_path)
    psnr = frame[(frame["method"] == "unitrange") & (frame["metric"] == "psnr")]
    spec = parse_spec("bicubic")
    for image, value in zip(psnr["image"], psnr["value"], strict=True):
        hr = sample_images()[image]
        lr = spec(modcrop(to_rgb(hr), 4), 4, DegradationContext("sample", image, 0))
        as_given = quantize(np.repeat(np.repeat(lr, 4, 0), 4, 1) / np.float32(255.0))
        assert value == score_pair(as_given, hr, 4)["psnr"]  # not rescaled: nearly black
    assert abs(psnr["value"].mean() - 7.9803) < 1e-3

    # srbench upscale: the same warning, once, and in its srbench.json
    from srbench.methods import load_method_file

    load_method_file(f"{PLUGINS}:UnitRange")
    _, lr_dir = _small_folders(tmp_path, 2)
    with caplog.at_level("WARNING"):
        run_cli("upscale", "--lr", lr_dir, "-s", "2", "-m", "unitrange", "--out", tmp_path / "sr")
    assert caplog.text.count("warning: method unitrange: its output looks like") == 1
    assert "unitrange" in json.loads((tmp_path / "sr" / "srbench.json").read_text())["warnings"]


# ---------------------------------------------------------------------------------------------
# 6. --isolate: worker processes


@pytest.mark.slow
def test_an_isolated_run_equals_the_in_process_run_row_for_row(tmp_path):
    methods = ["-s", "4", "-m", "bicubic,bilinear,lanczos,nearest"]
    _run(tmp_path / "a", *methods)
    _run(tmp_path / "b", *methods, "--isolate")
    a, b = load_results(tmp_path / "a"), load_results(tmp_path / "b")
    pd.testing.assert_frame_equal(_comparable(a), _comparable(b))
    assert _manifest(tmp_path / "b")["execution"]["mode"] == "isolated"
    assert _manifest(tmp_path / "b")["config"]["isolate"] is True
    assert _manifest(tmp_path / "a")["execution"]["mode"] == "in-process"


@pytest.mark.slow
def test_a_segfault_or_os_exit_in_a_worker_fails_that_image_and_resume_adds_nothing(tmp_path):
    args = ["-s", "4", "-m", "segfaults,exits3,bicubic", "--isolate"]
    out = _run(tmp_path, *args, *_files("Segfaults", "Exits3"), "--run-id", "crashy", expect=1)
    frame = load_results(tmp_path)
    errors = _errors(frame)
    assert sorted(errors) == [("exits3", "camera"), ("segfaults", "camera")]
    assert (
        "worker process was killed by signal SIGSEGV (11) on this image"
        in errors["segfaults", "camera"]
    )
    assert "worker process exited with status 3 on this image" in errors["exits3", "camera"]
    for method in ("segfaults", "exits3"):
        assert _scored_images(frame, method) == [i for i in IMAGES if i != "camera"]
    assert _scored_images(frame, "bicubic") == IMAGES
    manifest = _manifest(tmp_path)
    assert manifest["status"] == "complete" and manifest["failures"] == 2
    assert manifest["execution"]["worker_restarts"] == {"segfaults": 1, "exits3": 1}
    assert "2 cell(s) failed" in out.stderr
    run_cli("run", "--results", tmp_path, "--resume", "crashy", "--no-progress", expect=1)
    pd.testing.assert_frame_equal(load_results(tmp_path), frame)  # nothing computed twice


@pytest.mark.slow
def test_a_worker_that_overruns_the_timeout_is_killed_and_restarted(tmp_path):
    pids = tmp_path / "pids.txt"
    start = time.monotonic()
    _run(
        tmp_path / "r",
        "-s",
        "4",
        "-m",
        f"hangs:pids={pids},label=hangs",
        "--isolate",
        "--timeout",
        "1",
        *_files("Hangs"),
        expect=1,
    )
    assert time.monotonic() - start < STUCK - 3
    calls = [line.split() for line in pids.read_text().splitlines()]
    assert [gray for gray, _ in calls] == ["0", "1", "0", "0", "0"]  # the images in order
    (first, stuck, *later) = [int(pid) for _, pid in calls]
    assert first == stuck and all(pid != stuck for pid in later) and len(set(later)) == 1
    assert not _alive(stuck)
    errors = _errors(load_results(tmp_path / "r"))
    assert list(errors) == [("hangs", "camera")]
    assert "its worker process was killed and a fresh one started" in errors["hangs", "camera"]


@pytest.mark.slow
def test_a_killed_isolated_run_leaves_no_worker_and_resumes_to_the_clean_result(tmp_path):
    pids = tmp_path / "pids.txt"
    args = [
        "-D",
        "sample",
        "-m",
        f"bicubic,sleepy:pids={pids},label=sleepy",
        "-s",
        "2,3",
        "--isolate",
        "--method-file",
        f"{PLUGINS}:Sleepy",
    ]
    proc = _spawn_until_a_part(tmp_path / "k", "killed", args)
    workers = _children(proc.pid)  # both workers (and multiprocessing's resource tracker)
    assert {int(pid) for pid in pids.read_text().split()} <= workers
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers):  # an orphaned worker ends after its call
        assert time.monotonic() < deadline, "a worker outlived its killed runner"
        time.sleep(0.1)
    partial = load_results(tmp_path / "k")
    assert 0 < len(partial) < 2 * 5 * 2 * 3
    run_cli("run", "--results", tmp_path / "k", "--resume", "killed", "--no-progress")
    _run(tmp_path / "c", "-m", "bicubic,sleepy", "-s", "2,3", *_files("Sleepy"))
    resumed, clean = load_results(tmp_path / "k"), load_results(tmp_path / "c")
    pd.testing.assert_frame_equal(_comparable(resumed), _comparable(clean))


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def test_a_method_a_worker_cannot_create_fails_its_cells_with_the_reason(tmp_path):
    METHODS.add("blocks", plugins_faulty.Blocks)  # registered in this process only
    _, method = create_method("blocks")
    lr = np.zeros((6, 6, 3), np.uint8)
    with method_runner({"blocks": method}, "cpu", None, isolate=True) as runner:
        outcome = runner.call("blocks", lr, ImageContext("d", "i", 2, "bicubic"), Tiling())
    assert outcome.error.startswith("not run: creating the method in its worker process failed")
    assert "Unknown method 'blocks'" in outcome.error and "--method-file" in outcome.error
    assert os.getpid()  # the runner's process is untouched
