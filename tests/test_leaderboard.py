"""Leaderboards: means, ranks by direction, bootstrap intervals, paired tests, refusals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from srbench.leaderboard import (
    MixedResultsError,
    compare,
    leaderboard,
    leaderboards,
    select,
    wide,
)
from srbench.metrics import METRICS, MetricInfo, register_metric
from srbench.stats import bootstrap_ci, paired_test
from srbench.tables import format_leaderboard, format_wide, latex_escape, md_escape
from tests.frames import rows

BASE = np.array([30.0, 28.5, 33.2, 26.1, 31.7, 29.9, 27.4, 32.8, 30.6, 25.3])
# b loses 0.1 dB on every image; c wobbles around a (+/-), so it cannot be told from a
WOBBLE = np.array([0.05, -0.04, 0.03, -0.06, 0.02, -0.01, 0.04, -0.05, 0.06, -0.03])


@pytest.fixture
def board_rows() -> pd.DataFrame:
    return rows({"a": BASE, "b": BASE - 0.1, "c": BASE + WOBBLE})


@pytest.fixture
def lower_metric():
    register_metric(MetricInfo("distortion", higher_is_better=False, level="image", version="1"))
    yield "distortion"
    METRICS.remove("distortion")


def test_means_ranks_and_counts(board_rows):
    board = leaderboard(board_rows)
    table = board.table()
    assert table.loc["a", "psnr"] == pytest.approx(BASE.mean())
    assert table.loc["b", "psnr"] == pytest.approx(BASE.mean() - 0.1)
    assert table.loc["c", "psnr"] == pytest.approx((BASE + WOBBLE).mean())
    assert table["psnr_rank"].to_dict() == {"c": 1.0, "a": 2.0, "b": 3.0}  # c's mean is +0.001
    assert list(table.index) == ["c", "a", "b"]
    assert table["images"].tolist() == [10, 10, 10] and table["complete"].all()
    assert board.context["protocols"] == {"psnr": "y-shave4"}


def test_lower_is_better_ranks_upward(lower_metric):
    frame = rows({"a": [0.2, 0.3, 0.25], "b": [0.1, 0.15, 0.12]}, metric=lower_metric)
    table = leaderboard(frame).table()
    assert table[f"{lower_metric}_rank"].to_dict() == {"b": 1.0, "a": 2.0}


def test_bootstrap_interval_matches_scipy(board_rows):
    values = BASE
    lo, hi = bootstrap_ci(values, 0.95, n_boot=20000, random_state=0)
    ref = scipy_stats.bootstrap(
        (values,), np.mean, n_resamples=20000, method="percentile", rng=1, confidence_level=0.95
    ).confidence_interval
    width = ref.high - ref.low
    assert lo == pytest.approx(ref.low, abs=0.03 * width)
    assert hi == pytest.approx(ref.high, abs=0.03 * width)
    board = leaderboard(board_rows, n_boot=2000)
    assert board.stats.loc[("a", "psnr"), "ci_low"] == pytest.approx(bootstrap_ci(values)[0])
    # seeded: the same table twice gives the same intervals
    again = leaderboard(board_rows, n_boot=2000)
    pd.testing.assert_frame_equal(board.stats, again.stats)


def test_significance_against_the_best(board_rows):
    board = leaderboard(board_rows)
    stats = board.stats.xs("psnr", level="metric")
    # b is 0.1 dB below a on all 10 images: exact two-sided signed-rank p = 2 / 2**10
    expected_b = scipy_stats.wilcoxon(BASE - 0.1 - (BASE + WOBBLE)).pvalue
    assert stats.loc["b", "p_value"] == pytest.approx(expected_b)
    assert stats.loc["b", "differs"]
    assert stats.loc["a", "p_value"] == pytest.approx(
        scipy_stats.wilcoxon(BASE - (BASE + WOBBLE)).pvalue
    )
    assert not stats.loc["a", "differs"]
    assert math.isnan(stats.loc["c", "p_value"])  # the best is not tested against itself


def test_paired_tests_and_their_limits():
    shift = paired_test(BASE, BASE - 0.1, alternative="greater")
    assert shift.p_value == pytest.approx(1 / 2**10) and shift.significant(0.05)
    boot = paired_test(BASE, BASE - 0.1, test="bootstrap", n_boot=999)
    assert boot.p_value == pytest.approx(2 / 1000)
    noise = paired_test(BASE, BASE + WOBBLE, test="bootstrap")
    assert noise.p_value > 0.5
    five = paired_test(BASE[:5], BASE[:5] - 0.1)
    assert five.min_p == pytest.approx(0.0625) and not five.decidable(0.05)
    assert paired_test(BASE, BASE).p_value == 1.0


def test_five_images_say_so():
    frame = rows({"a": BASE[:5], "b": BASE[:5] - 0.5})
    board = leaderboard(frame)
    assert not board.stats.loc[("b", "psnr"), "differs"]
    assert any("smallest possible p-value is 0.0625" in n for n in board.notes)


def test_refuses_to_mix_protocols(board_rows):
    rgb = board_rows.assign(
        protocol="rgb-shave4", run_id="r2", method=board_rows["method"] + "-rgb"
    )
    both = pd.concat([board_rows, rgb])
    with pytest.raises(MixedResultsError, match="mixes protocol rgb-shave4, y-shave4"):
        leaderboard(both)
    assert set(leaderboard(both, protocol="y").methods.index) == {"a", "b", "c"}


def test_refuses_mixed_versions(board_rows):
    newer = board_rows.assign(metric_version=np.where(board_rows["method"] == "a", "2", "1"))
    with pytest.raises(MixedResultsError, match="metric_version"):
        leaderboard(newer)
    other_images = board_rows.assign(
        dataset_version=np.where(board_rows["method"] == "a", "sha256:aa", "1")
    )
    with pytest.raises(MixedResultsError, match="dataset_version"):
        leaderboard(other_images)


def test_refuses_several_tables_and_splits_them(board_rows):
    x2 = board_rows.assign(scale=2, protocol="y-shave2")
    both = pd.concat([board_rows, x2])
    with pytest.raises(MixedResultsError, match="span 2 tables"):
        leaderboard(both)
    assert [b.title() for b in leaderboards(both)] == ["Set5 x2, bicubic", "Set5 x4, bicubic"]


def test_incomplete_methods_are_flagged_not_ranked(board_rows):
    partial = rows({"d": BASE[:7] + 5}, images=[f"img{i:02d}" for i in range(7)])
    failed = rows({"d": [math.nan]}, images=["img07"], error="boom")
    board = leaderboard(pd.concat([board_rows, partial, failed]))
    methods = board.methods
    assert methods.loc["d", "images"] == 7 and methods.loc["d", "failed"] == 1
    assert not methods.loc["d", "complete"]
    assert math.isnan(board.stats.loc[("d", "psnr"), "rank"])
    assert board.table().index[-1] == "d"  # listed last despite the highest mean
    assert any("d is incomplete: 7 of 10 images" in n for n in board.notes)
    # the dataset's size from the manifests flags a method missing images everywhere
    assert not leaderboard(board_rows, expected_images=12).methods["complete"].any()


def test_latest_run_wins(board_rows):
    rerun = rows({"a": BASE + 1}, run_id="r2")
    frame = pd.concat([board_rows, rerun])  # load order = start order
    assert select(frame, method="a")["run_id"].unique().tolist() == ["r2"]
    board = leaderboard(frame)
    assert board.stats.loc[("a", "psnr"), "mean"] == pytest.approx(BASE.mean() + 1)
    assert board.methods.loc["a", "run_id"] == "r2"


def test_runtime_timed_differently_is_left_out_with_a_note(board_rows):
    timed = pd.concat(
        [
            rows({"a": [0.1] * 10}, "runtime", protocol="seconds@cpu,workers=1"),
            rows({"b": [0.2] * 10}, "runtime", protocol="seconds@cuda:0,workers=1"),
        ]
    )
    board = leaderboard(pd.concat([board_rows, timed]))
    assert board.metrics == ["psnr"]
    assert any("runtime is left out" in n for n in board.notes)
    with pytest.raises(MixedResultsError, match="runtime column mixes protocol"):
        leaderboard(pd.concat([board_rows, timed]), metrics=["psnr", "runtime"])


def test_compare_two_methods(board_rows):
    result = compare(board_rows, "a", "b", "psnr")
    assert result.n == 10 and result.mean_diff == pytest.approx(0.1)
    assert result.p_value == pytest.approx(scipy_stats.wilcoxon(np.full(10, 0.1)).pvalue)


def test_wide_pivot(board_rows):
    x2 = rows({"a": BASE + 3, "b": BASE + 2}, scale=2, protocol="y-shave2")
    set14 = rows({"a": BASE - 2, "b": BASE[:4] - 2}, dataset="Set14")
    table = wide(pd.concat([board_rows, x2, set14.iloc[:14]]), "psnr")
    assert table.loc["a", ("Set5", 2)] == pytest.approx(BASE.mean() + 3)
    assert table.loc["b", ("Set5", 4)] == pytest.approx(BASE.mean() - 0.1)
    assert math.isnan(table.loc["b", ("Set14", 4)])  # incomplete cells are not averaged
    text = format_wide(table, "psnr", "md")
    assert "| method | Set14 x4 | Set5 x2 | Set5 x4 |" in text


def test_markdown_marks_best_and_ties(board_rows):
    text = format_leaderboard(leaderboard(board_rows), "md")
    lines = text.splitlines()
    assert lines[0] == "| method | PSNR ↑ (dB) | images |"
    assert lines[2].startswith("| c | **29.55** [")
    assert lines[3].startswith("| a | 29.55† [")  # not significantly worse than c
    assert lines[4].startswith("| b | 29.45 [")  # significantly worse: no dagger
    assert "y-shave4 (v1)" in text and "Set5 1 (10 images)" in text


def test_hostile_names_are_escaped(board_rows):
    evil = "<img src=x onerror=alert(1)>|**x**_\\"
    frame = board_rows.assign(method=board_rows["method"].replace("b", evil))
    md = format_leaderboard(leaderboard(frame), "md")
    row = next(line for line in md.splitlines() if "onerror" in line)
    assert "<img" not in md and "&lt;img" in row
    assert row.count(" | ") == 2  # the name's '|' did not open a new cell
    assert md_escape("a|b") == "a\\|b"
    latex = format_leaderboard(leaderboard(frame), "latex")
    assert r"\_\textbackslash{}" in latex and "&lt;" not in latex
    assert latex_escape("50%_x") == r"50\%\_x"


def test_csv_is_tidy_and_stamped(board_rows):
    from io import StringIO

    frame = pd.read_csv(StringIO(format_leaderboard(leaderboard(board_rows), "csv")))
    assert len(frame) == 3 and set(frame["protocol"]) == {"y-shave4"}
    assert {"dataset_version", "metric_version", "ci_low", "ci_high", "p_value"} <= set(frame)
    assert frame.set_index("method").loc["a", "mean"] == pytest.approx(BASE.mean())
