"""Leaderboards and regression checks on a paper-sized store.

Run: ``pytest benchmarks/test_bench_tables.py --benchmark-group-by=group``. The store has the
shape of a full paper table: 5 datasets x 3 scales x 8 methods x 100 images x 2 metrics (24,000
rows); every table gets bootstrap intervals (2000 resamples) and signed-rank tests vs the best.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from srbench.check import check, make_baseline
from srbench.leaderboard import leaderboards
from tests.frames import rows

pytestmark = pytest.mark.benchmark(group="tables: 24k rows, 15 tables, 8 methods")


@pytest.fixture(scope="module")
def store() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    parts = []
    for dataset in ("Set5", "Set14", "B100", "Urban100", "Manga109"):
        for scale in (2, 3, 4):
            base = rng.normal(30, 3, 100)
            for metric, offset in (("psnr", 0.0), ("ssim", -29.1)):
                values = {f"m{i}": base + offset + rng.normal(i / 10, 0.2, 100) for i in range(8)}
                parts.append(
                    rows(values, metric, dataset=dataset, scale=scale, protocol=f"y-shave{scale}")
                )
    return pd.concat(parts, ignore_index=True)


def test_leaderboards(benchmark, store):
    boards = benchmark(leaderboards, store)
    assert len(boards) == 15 and all(len(b.methods) == 8 for b in boards)


def test_check_against_baseline(benchmark, store):
    baseline = make_baseline(store).drop(columns=[])
    findings = benchmark(check, store, baseline)
    assert len(findings) == 5 * 3 * 8 * 2 and {f.status for f in findings} == {"ok"}
