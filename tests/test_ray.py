"""``srbench run --executor ray``: the grid as Ray tasks gives the local executor's rows, a
dead worker is retried (then its cells fail), a killed driver resumes with either executor.

One local Ray instance (2 CPUs, no dashboard) serves the module; the tests that use it skip
when Ray is not installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from srbench.store import load_results
from srbench.store.writer import cell_keys
from tests.conftest import REPO, run_cli
from tests.test_run import _comparable, _spawn_until_a_part

PLUGINS = Path(__file__).with_name("plugins_ray.py")
SLEEPY = Path(__file__).with_name("plugins_faulty.py")
INTERPOLATORS = "bicubic,bilinear,nearest,lanczos"


@pytest.fixture(autouse=True)
def _offline_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")


@pytest.fixture(scope="module")
def ray_instance(tmp_path_factory):
    """A local Ray instance for the module; its workers see a private cache, offline."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'srbench[ray]'")
    cache = tmp_path_factory.mktemp("ray-cache")
    env = {"SRBENCH_CACHE": str(cache), "SRBENCH_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        logging_level="WARNING",
        runtime_env={"env_vars": {**env, "OMP_NUM_THREADS": "1"}},
    )
    yield ray
    ray.shutdown()


def _run(results, *args, expect=0):
    return run_cli("run", "--results", results, "--no-progress", *args, expect=expect)


def _datasets(shared_dir: Path | None) -> list[str]:
    sets = [shared_dir / "benchmark" / name for name in ("Set5", "Set14")] if shared_dir else []
    if sets and all(s.is_dir() for s in sets):
        return [",".join(map(str, sets))]
    return ["sample"]


@pytest.fixture
def grid(request) -> list[str]:
    """Set5 and Set14 from the shared folder (else the built-in sample) at x2 and x4."""
    try:
        shared_dir = request.getfixturevalue("shared")
    except pytest.skip.Exception:
        shared_dir = None
    return ["-D", *_datasets(shared_dir), "-s", "2,4", "-m", INTERPOLATORS]


def _manifest(results: Path, run_id: str) -> dict:
    return json.loads((results / "runs" / run_id / "manifest.json").read_text())


def _no_duplicates(frame: pd.DataFrame) -> None:
    keys = ["dataset", "image", "scale", "degradation", "seed", "method", "metric", "sample"]
    assert not frame.duplicated(subset=keys).any()


@pytest.mark.slow
def test_ray_gives_the_local_rows_and_records_its_hosts(tmp_path, ray_instance, grid):
    _run(tmp_path / "l", "--run-id", "local", *grid)
    _run(tmp_path / "r", "--run-id", "ray", "--executor", "ray", *grid)
    local, distributed = load_results(tmp_path / "l"), load_results(tmp_path / "r")
    assert local["error"].isna().all() and len(local) > 0
    pd.testing.assert_frame_equal(_comparable(distributed), _comparable(local))
    execution = _manifest(tmp_path / "r", "ray")["execution"]
    assert execution["executor"] == "ray" and execution["address"] is None
    assert execution["hosts"] == [socket.gethostname()]
    assert _manifest(tmp_path / "r", "ray")["config"]["executor"] == "ray"
    assert _manifest(tmp_path / "l", "local")["execution"]["executor"] == "local"


@pytest.mark.slow
def test_a_dead_worker_is_retried_and_stores_each_row_once(tmp_path, ray_instance):
    marker = tmp_path / "died"
    args = ["-D", "sample", "-s", "2", "--method-file", f"{PLUGINS}:DiesOnce"]
    _run(tmp_path, "--executor", "ray", "-m", f"diesonce:marker={marker}", *args)
    assert marker.exists(), "the method never killed its worker: nothing was retried"
    frame = load_results(tmp_path)
    assert frame["error"].isna().all()
    assert len(frame) == 5 * 3  # 5 images x (psnr, ssim, runtime)
    _no_duplicates(frame)
    assert len(cell_keys(frame)) == 5


@pytest.mark.slow
def test_a_method_that_always_kills_its_worker_ends_as_failure_rows(tmp_path, ray_instance):
    args = ["-D", "sample", "-s", "2", "-m", "alwaysdies,bicubic"]
    out = _run(
        tmp_path, "--executor", "ray", *args, "--method-file", f"{PLUGINS}:AlwaysDies", expect=1
    )
    frame = load_results(tmp_path)
    failed = frame[frame["method"] == "alwaysdies"]
    assert len(cell_keys(failed)) == 5 and failed["error"].notna().all()
    assert failed["error"].str.startswith("ray worker lost (3 attempts)").all(), failed["error"]
    assert frame[frame["method"] == "bicubic"]["error"].isna().all()
    _no_duplicates(frame)
    assert "ray worker lost" in out.stdout + out.stderr
    assert (
        _manifest(tmp_path, next(p.name for p in (tmp_path / "runs").iterdir()))["execution"][
            "lost_tasks"
        ]
        == 1
    )


@pytest.mark.slow
def test_a_killed_ray_run_resumes_to_the_clean_result_with_either_executor(tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'srbench[ray]'")
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
        f"{SLEEPY}:Sleepy",
    ]
    run = [*args, "--executor", "ray"]
    proc = _spawn_until_a_part(tmp_path / "k", "killed", run, new_session=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with contextlib.suppress(ProcessLookupError):  # the Ray processes the driver started
        os.killpg(proc.pid, signal.SIGKILL)
    partial = load_results(tmp_path / "k")
    assert 0 < len(partial) < 2 * 5 * 2 * 2 * 3, "the kill should land mid-run"
    run_cli(
        "run",
        "--results",
        tmp_path / "k",
        "--resume",
        "killed",
        "--executor",
        "local",
        "--no-progress",
    )
    _run(tmp_path / "c", "--run-id", "clean", *args)
    resumed, clean = load_results(tmp_path / "k"), load_results(tmp_path / "c")
    _no_duplicates(resumed)
    pd.testing.assert_frame_equal(_comparable(resumed), _comparable(clean))
    manifest = _manifest(tmp_path / "k", "killed")
    assert manifest["config"]["executor"] == "local" and manifest["resumed"]


@pytest.mark.slow
def test_a_killed_local_run_resumes_with_ray_to_the_clean_result(tmp_path, ray_instance):
    args = [
        "-D",
        "sample",
        "-m",
        "bicubic,sleepy",
        "-s",
        "2,3",
        "--method-file",
        f"{SLEEPY}:Sleepy",
    ]
    proc = _spawn_until_a_part(tmp_path / "k", "killed", args)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < len(load_results(tmp_path / "k")) < 2 * 5 * 2 * 3, "the kill should land mid-run"
    _run(tmp_path / "k", "--resume", "killed", "--executor", "ray")
    _run(tmp_path / "c", "--run-id", "clean", *args)
    resumed, clean = load_results(tmp_path / "k"), load_results(tmp_path / "c")
    _no_duplicates(resumed)
    pd.testing.assert_frame_equal(_comparable(resumed), _comparable(clean))
    assert _manifest(tmp_path / "k", "killed")["execution"]["executor"] == "ray"


def test_ray_missing_exits_2_with_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    err = _run(tmp_path, "-D", "sample", "-m", "bicubic", "--executor", "ray", expect=2).stderr
    assert "pip install 'srbench[ray]'" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_address_without_ray_and_an_unknown_executor_exit_2(tmp_path):
    err = _run(tmp_path, "-D", "sample", "-m", "bicubic", "--address", "auto", expect=2).stderr
    assert "--executor ray" in err
    err = _run(tmp_path, "-D", "sample", "-m", "bicubic", "--executor", "dask", expect=2).stderr
    assert "executor" in err and "local, ray" in err


def test_ray_refuses_what_only_the_local_executor_does(tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'srbench[ray]'")
    for extra in (["--metrics", "psnr,fid"], ["--save-images"]):
        err = _run(tmp_path, "-D", "sample", "-m", "bicubic", "--executor", "ray", *extra, expect=2)
        assert "--executor local" in err.stderr


def test_tasks_are_one_method_on_at_most_chunk_images_of_one_group(tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'srbench[ray]'")
    from srbench.imageio import write_png
    from srbench.run.cells import todo_items
    from srbench.run.config import RunConfig
    from srbench.run.distributed import CHUNK_IMAGES, chunks
    from srbench.run.plan import make_plan, resolve_datasets
    from srbench.run.samples import Recorded

    folder = tmp_path / "set"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(CHUNK_IMAGES + 3):  # one full chunk and a remainder
        write_png(folder / f"{i:03d}.png", rng.integers(0, 256, (24, 20, 3), dtype=np.uint8))
    config = RunConfig(datasets=(str(folder),), scales=(2, 4), methods=("bicubic", "nearest"))
    plan = make_plan(config)
    resolve_datasets(plan, False, lambda _: None)
    items = list(todo_items(plan, Recorded(), tmp_path / "run", lambda _: None))
    tasks = list(chunks(plan, items))
    assert len(tasks) == 2 * 2 * 2  # (scale, method) x 2 chunks
    assert sorted(len(t.images) for t in tasks) == [3] * 4 + [CHUNK_IMAGES] * 4
    assert sum(t.cells for t in tasks) == sum(item.cells for item in items)
    seen = [(t.scale, t.label, image) for t in tasks for image, _ in t.images]
    assert len(seen) == len(set(seen)) == 2 * 2 * (CHUNK_IMAGES + 3)
