"""``srbench run`` on B100 x4 with the 4 interpolators (PSNR/SSIM): the local executor against
``--executor ray`` on this machine, cold (srbench starts the local Ray instance, as the CLI
does) and warm (an instance already running, as on a cluster).

Run: ``pytest benchmarks/test_bench_ray.py --benchmark-group-by=group``; needs ``../shared`` and
Ray (``pip install 'srbench[ray]'``). Seconds per cell = the mean / 400 (100 images x 4
methods). In-process runs; a fresh results store each round.
"""

from __future__ import annotations

import itertools
import os

import pytest

from srbench.run.pipeline import RunConfig, run
from srbench.system.cpus import available_cpus
from tests.conftest import REPO, shared_data_dir

B100 = shared_data_dir() / "benchmark" / "B100"
CELLS = 100 * 4
pytestmark = [
    pytest.mark.skipif(not B100.is_dir(), reason=f"B100 not found at {B100}"),
    pytest.mark.benchmark(group="B100 x4, 4 interpolators: local vs ray"),
]


def _config(executor: str) -> RunConfig:
    return RunConfig(
        datasets=(str(B100),),
        methods=("bicubic", "bilinear", "nearest", "lanczos"),
        scales=(4,),
        metrics=("psnr", "ssim"),
        executor=executor,
    )


def _bench(benchmark, tmp_path, executor: str) -> None:
    counter = itertools.count()
    result = benchmark.pedantic(
        lambda: run(_config(executor), tmp_path / str(next(counter)), progress=False), rounds=2
    )
    assert len(result.scores) == CELLS * 3 and result.scores["error"].isna().all()
    benchmark.extra_info["seconds_per_cell"] = benchmark.stats.stats.mean / CELLS


def test_local(benchmark, tmp_path):
    _bench(benchmark, tmp_path, "local")


def test_ray_cold(benchmark, tmp_path):
    pytest.importorskip("ray")
    _bench(benchmark, tmp_path, "ray")


def test_ray_warm(benchmark, tmp_path):
    ray = pytest.importorskip("ray")
    env = {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    ray.init(
        address="local",
        num_cpus=available_cpus(),
        include_dashboard=False,
        logging_level="WARNING",
        runtime_env={"env_vars": env},
    )
    try:
        run(_config("ray"), tmp_path / "warm-up", progress=False)  # workers started, plans built
        _bench(benchmark, tmp_path, "ray")
    finally:
        ray.shutdown()
