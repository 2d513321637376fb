"""Peak memory of ``srbench run`` on one 6000x6000 RGB image with the four interpolators at x4.

Run: ``pytest benchmarks/test_bench_memory.py -s`` (needs about 2 GB free and a minute). The run
is a fresh interpreter; its peak resident set size (``ru_maxrss``, as ``/usr/bin/time -v``
reports it) is printed and asserted under 2 GB. Before imresize and the scores worked in strips
this run peaked at 5.8 GB; with strips, 1.1 GB (README, "Speed").
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from srbench.store import load_results
from tests.peak import peak_kb


@pytest.mark.benchmark(group="peak memory: 6000x6000 RGB, 4 interpolators, x4")
def test_run_on_a_6000x6000_image_stays_under_2_gb(benchmark, tmp_path):
    y, x = np.mgrid[0:6000, 0:6000]
    noise = np.random.default_rng(0).integers(-20, 21, (6000, 6000, 3))
    img = np.stack([(x + y) % 256, x // 24 % 256, y // 24 % 256], axis=-1) + noise
    (tmp_path / "big").mkdir()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
        tmp_path / "big" / "big.png", compress_level=1
    )
    del y, x, noise, img
    methods = "nearest,bilinear,bicubic,lanczos"
    args = ["run", "-D", str(tmp_path / "big"), "-m", methods, "-s", "4", "--no-progress"]
    peaks = []

    def once() -> None:
        results = tmp_path / f"r{len(peaks)}"
        peaks.append(peak_kb(*args, results=results))
        assert load_results(results)["error"].isna().all()

    benchmark.pedantic(once, rounds=1)
    print(f"\npeak resident set size: {peaks[0]} kB ({peaks[0] / 2**20:.2f} GiB)")
    assert peaks[0] < 2 * 2**20
