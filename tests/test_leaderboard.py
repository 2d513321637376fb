"""Leaderboards: means, ranks by direction, bootstrap intervals, paired tests, refusals."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

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
    summary,
    wide,
)
from srbench.leaderboard.stats import bootstrap_ci, paired_test
from srbench.leaderboard.tables import format_leaderboard, format_wide, latex_escape, md_escape
from srbench.metrics import METRICS, MetricInfo, register_metric
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


# --- RGB-input and set-level metrics (LPIPS, FID, KID) -----------------------------------------

LPIPS = np.array([0.21, 0.25, 0.18, 0.30, 0.22, 0.24, 0.27, 0.19, 0.23, 0.31])
FID = {"a": 20.0, "b": 15.0, "c": 25.0}  # b is best (lower is better) but worst in PSNR
KID = {"a": 0.02, "b": 0.01, "c": 0.03}
KID_STD = {"a": 0.004, "b": 0.002, "c": 0.005}


def _perceptual(fid_samples=120, kid_samples=120) -> pd.DataFrame:
    return pd.concat(
        [
            rows({"a": BASE, "b": BASE - 0.1, "c": BASE + WOBBLE}),
            rows({"a": LPIPS, "b": LPIPS + 0.01, "c": LPIPS + WOBBLE / 10}, "lpips"),
            rows(FID, "fid", samples=fid_samples),
            rows(KID, "kid", samples=kid_samples, spread=KID_STD),
        ]
    )


def _cell(md: str, method: str, column: int) -> str:
    line = next(x for x in md.splitlines() if x.startswith(f"| {method} |"))
    return line.split(" | ")[column].strip(" |")


def test_protocol_filter_keeps_rgb_metrics():
    frame = pd.concat(
        [_perceptual(), rows({"a": BASE, "b": BASE, "c": BASE}, protocol="rgb-shave4")]
    )
    kept = select(frame, protocol="y")
    assert set(zip(kept["metric"], kept["protocol"], strict=True)) == {
        ("psnr", "y-shave4"),
        ("lpips", "rgb-shave4"),
        ("fid", "rgb-shave4-patch64-stride64"),
        ("kid", "rgb-shave4-patch64-stride64-subsets100x1000"),
    }
    rgb = select(frame, protocol="rgb")
    assert set(rgb.loc[rgb["metric"] == "psnr", "protocol"]) == {"rgb-shave4"}
    assert {"lpips", "fid", "kid"} <= set(rgb["metric"])
    # unknown metrics follow the protocol filter like psnr
    other = rows({"a": BASE}, "niqe", protocol="rgb-shave4")
    assert select(pd.concat([frame, other]), protocol="y")["metric"].ne("niqe").all()
    board = leaderboard(frame, protocol="y")
    assert board.metrics == ["psnr", "lpips", "fid", "kid"]
    assert board.set_metrics == ["fid", "kid"] and board.image_metrics == ["psnr", "lpips"]


def test_set_metrics_rank_by_value_without_interval_or_test():
    board = leaderboard(_perceptual())
    # the set rows (image "") are not an eleventh image
    assert board.methods["images"].tolist() == [10, 10, 10] and board.methods["complete"].all()
    assert board.context["images"] == 10
    fid = board.stats.xs("fid", level="metric")
    assert fid["mean"].to_dict() == FID
    assert fid["rank"].to_dict() == {"a": 2.0, "b": 1.0, "c": 3.0}
    assert fid[["ci_low", "ci_high", "p_value"]].isna().all().all()
    assert fid["images"].tolist() == [10, 10, 10] and fid["samples"].tolist() == [120] * 3
    assert not fid["differs"].any()
    kid = board.stats.xs("kid", level="metric")
    assert kid["spread"].to_dict() == KID_STD and kid["rank"].to_dict()["b"] == 1.0
    psnr = board.stats.xs("psnr", level="metric")
    assert psnr["samples"].isna().all() and psnr["spread"].isna().all()
    assert psnr["reliable"].all() and psnr["ci_low"].notna().all()
    assert board.context["protocols"]["fid"] == "rgb-shave4-patch64-stride64"
    table = board.table()
    assert table.loc["b", "fid_samples"] == 120 and table.loc["a", "kid_spread"] == 0.004
    assert "psnr_samples" not in table
    with pytest.raises(MixedResultsError, match="fid is a set-level metric"):
        board.values("fid")
    assert board.values("lpips").shape == (10, 3)
    with pytest.raises(MixedResultsError, match="set-level"):
        compare(_perceptual(), "a", "b", "fid")


def test_too_few_samples_are_marked_unreliable():
    board = leaderboard(_perceptual(fid_samples={"a": 120, "b": 300, "c": 120}))
    fid = board.stats.xs("fid", level="metric")
    assert not fid["reliable"].any()
    assert board.stats.xs("kid", level="metric")["reliable"].all()  # kid has no minimum
    assert (
        "fid: computed from 120 patches (a, c); 300 patches (b), fewer than its 2048 feature "
        "dimensions (fewer samples give a singular covariance); such values are unreliable (‡) "
        "and should not be compared across datasets or protocols."
    ) in board.notes
    md = format_leaderboard(board, "md")
    header = md.splitlines()[0]
    assert header == "| method | PSNR ↑ (dB) | LPIPS ↓ | FID ↓ | KID ↓ | images |"
    assert _cell(md, "b", 3) == "**15.00**‡"
    assert _cell(md, "a", 3) == "20.00‡"  # no dagger: no test; no bracket: no interval
    assert _cell(md, "c", 3) == "25.00‡"
    assert _cell(md, "a", 4) == "0.0200 ± 0.0040"
    assert _cell(md, "b", 4) == "**0.0100** ± 0.0020"
    assert _cell(md, "a", 5) == "10"
    assert _cell(md, "a", 1).startswith("29.55† [")  # psnr keeps its interval and dagger
    assert "‡: computed from fewer samples than the metric needs" in md
    assert "±: the standard deviation of kid over its random subsets" in md
    text = format_leaderboard(board, "text")
    assert "15.00*‡" in text and "0.0200 ± 0.0040" in text and "fid: computed from" in text
    latex = format_leaderboard(board, "latex")
    assert r"\textbf{15.00}$^\ddagger$" in latex and r"0.0200 $\pm$ 0.0040" in latex

    enough = leaderboard(_perceptual(fid_samples=2048))
    assert enough.stats.xs("fid", level="metric")["reliable"].all()
    assert not any("unreliable" in n for n in enough.notes)
    md = format_leaderboard(enough, "md")
    assert "‡" not in md and _cell(md, "b", 3) == "**15.00**"


def test_tables_without_set_metrics_have_no_set_legend(board_rows):
    md = format_leaderboard(leaderboard(board_rows), "md")
    assert "±" not in md and "‡" not in md and "whole set" not in md


def test_set_metric_csv_columns():
    from io import StringIO

    frame = pd.read_csv(StringIO(format_leaderboard(leaderboard(_perceptual()), "csv")))
    assert {"samples", "spread", "reliable"} <= set(frame)
    fid = frame[frame["metric"] == "fid"].set_index("method")
    assert fid["samples"].tolist() == [120] * 3 and not fid["reliable"].any()
    assert fid["ci_low"].isna().all() and fid["spread"].isna().all()
    assert fid.loc["b", "rank"] == 1 and fid.loc["b", "protocol"] == "rgb-shave4-patch64-stride64"
    kid = frame[frame["metric"] == "kid"].set_index("method")
    assert kid["spread"].to_dict() == KID_STD and kid["reliable"].all()
    psnr = frame[frame["metric"] == "psnr"]
    assert psnr["samples"].isna().all() and psnr["reliable"].all()


def test_set_metric_that_failed_is_noted_not_counted():
    frame = _perceptual()
    failed = (frame["metric"] == "fid") & (frame["method"] == "c")
    frame.loc[failed, ["value", "error"]] = [math.nan, "RuntimeError: images of c failed"]
    board = leaderboard(frame)
    assert board.methods["failed"].tolist() == [0, 0, 0]
    assert math.isnan(board.stats.loc[("c", "fid"), "rank"])
    assert "fid of c could not be computed: RuntimeError: images of c failed" in board.notes
    assert _cell(format_leaderboard(board, "md"), "c", 3) == "-"


def test_set_metrics_alone_and_in_wide_tables():
    frame = _perceptual()
    fid = frame[frame["metric"] == "fid"]
    alone = leaderboard(fid, expected_images=10)
    assert alone.metrics == ["fid"] and alone.methods["complete"].all()
    assert alone.methods["images"].tolist() == [10, 10, 10]
    assert alone.order() == ["b", "a", "c"]
    # with no per-image rows to count, a method is complete when its value was computed
    failed = fid.assign(error=np.where(fid["method"] == "c", "boom", None))
    assert leaderboard(failed, expected_images=10).methods["complete"].tolist() == [
        True,
        True,
        False,
    ]
    x2 = rows({"a": 30.0, "b": 31.0, "c": 28.0}, "fid", scale=2, samples=4096)
    table = wide(pd.concat([frame, x2]), "fid")
    assert table[("Set5", 4)].to_dict() == FID
    assert table[("Set5", 2)].to_dict() == {"a": 30.0, "b": 31.0, "c": 28.0}
    assert "| b | 31.00 | **15.00** |" in format_wide(table, "fid", "md")
    boards = leaderboards(frame)
    assert wide(boards, "kid")[("Set5", 4)].to_dict() == KID


def test_summary_puts_fidelity_and_rgb_metrics_in_one_row():
    timed = rows({m: [0.5] * 10 for m in "abc"}, "runtime", protocol="seconds@cpu,workers=1")
    table = summary(pd.concat([_perceptual(), timed]))
    assert len(table) == 3
    assert table.index.get_level_values("protocol").unique().tolist() == ["y-shave4"]
    row = table.xs("b", level="method").iloc[0]
    assert row["psnr"] == pytest.approx(BASE.mean() - 0.1)
    assert row["lpips"] == pytest.approx(LPIPS.mean() + 0.01)
    assert (row["fid"], row["kid"], row["runtime"]) == (15.0, 0.01, 0.5)
    assert table["images"].tolist() == [10, 10, 10]  # the set rows are not images
    assert table["failed"].tolist() == [0, 0, 0]
    only_rgb = summary(_perceptual().query("metric != 'psnr'"))
    assert len(only_rgb) == 3 and only_rgb["images"].tolist() == [10, 10, 10]


def test_importing_tables_and_checks_leaves_scipy_stats_and_matplotlib_unloaded():
    # A fresh interpreter: this one has long imported both. `srbench ls`, `check` and table
    # output must not pay for scipy.stats or matplotlib; the first paired test loads scipy.stats.
    code = (
        "import sys\n"
        "import srbench.leaderboard, srbench.check\n"
        "heavy = [m for m in ('scipy.stats', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from srbench.leaderboard import paired_test\n"
        "assert paired_test([1.0, 2.0, 3.5], [0.5, 1.0, 1.5]).p_value == 0.25\n"
        "assert 'scipy.stats' in sys.modules and 'matplotlib' not in sys.modules\n"
    )
    repo = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join([repo, *filter(None, [os.environ.get("PYTHONPATH")])])
    env = {**os.environ, "PYTHONPATH": path}
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, env=env)
