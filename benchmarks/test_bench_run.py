"""``srbench run --methods bicubic`` on B100 x4 beside the I/O floor (decoding its PNGs).

Run: ``pytest benchmarks/test_bench_run.py --benchmark-group-by=group``; needs ``../shared``.
The run is in-process (no interpreter start-up) and writes a fresh results store each round.
"""

from __future__ import annotations

import itertools

import pytest

from srbench.imageio import list_images, read_image
from srbench.run.pipeline import RunConfig, run
from tests.conftest import shared_data_dir

B100 = shared_data_dir() / "benchmark" / "B100"
pytestmark = [
    pytest.mark.skipif(not B100.is_dir(), reason=f"B100 not found at {B100}"),
    pytest.mark.benchmark(group="B100 x4 bicubic: run vs decode"),
]


def test_decode_only(benchmark):
    benchmark.pedantic(lambda: [read_image(p) for p in list_images(B100)], rounds=3)


@pytest.mark.parametrize("workers", [1, 2])
def test_srbench_run(benchmark, tmp_path, workers):
    config = RunConfig(datasets=(str(B100),), methods=("bicubic",), scales=(4,), workers=workers)
    counter = itertools.count()
    result = benchmark.pedantic(
        lambda: run(config, tmp_path / str(next(counter)), progress=False), rounds=3
    )
    assert len(result.scores) == 300 and result.scores["error"].isna().all()
