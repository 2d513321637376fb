"""The metric columns of a leaderboard: which there are, their statistics per method, and the
notes those call for.

An image-level metric (PSNR, SSIM, LPIPS, runtime) gets per method its mean over images, a
seeded bootstrap interval, a rank following the metric's direction, and a paired test against
the best complete method. A set-level metric (FID, KID) has one value per method: it is ranked,
never resampled or tested, and flagged unreliable when it comes from fewer samples than the
metric's ``min_samples``. Both give the same columns (``Leaderboard.stats``), so a table can
stack them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from srbench.leaderboard.selection import RUNTIME, MixedResultsError, direction
from srbench.leaderboard.stats import PairedTest, Test, bootstrap_ci, paired_test
from srbench.metrics import METRICS

__all__ = [
    "StatsOptions",
    "image_metric_stats",
    "metric_columns",
    "set_metric_notes",
    "set_metric_stats",
    "undecidable_note",
]

#: Why a set-level metric needs ``min_samples``, for the note under a table.
_MIN_SAMPLES_WHY = {
    "fid": "its {need} feature dimensions (fewer samples give a singular covariance)",
}


@dataclass(frozen=True)
class StatsOptions:
    """How a table measures uncertainty (the options of :func:`srbench.leaderboard.leaderboard`).

    Attributes:
        confidence: Level of the bootstrap intervals.
        n_boot: Bootstrap resamples (intervals and the ``bootstrap`` test).
        test: Paired test against the best method (``wilcoxon`` or ``bootstrap``).
        alpha: Significance level of that test.
        random_state: Seed of every resampling.
    """

    confidence: float = 0.95
    n_boot: int = 2000
    test: Test = "wilcoxon"
    alpha: float = 0.05
    random_state: int = 0


def _min_samples(metric: str) -> int | None:
    return METRICS.get(metric).min_samples if metric in METRICS else None


def _rank(complete: pd.Series, higher: bool | None) -> pd.Series | float:
    """Ranks of the complete methods' values (1 = best); NaN when the direction is unknown."""
    return complete.rank(method="min", ascending=not higher) if higher is not None else math.nan


def metric_columns(rows: pd.DataFrame, wanted: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """The metric columns of a table, and the notes their choice calls for.

    Args:
        rows: The table's store rows.
        wanted: The metrics asked for, in order; None for every metric present (runtime last,
            and left out with a note when the methods were timed on different devices).

    Returns:
        The metric names, in column order, and the notes (at most one, on runtime).

    Raises:
        MixedResultsError: A wanted metric has no rows.
    """
    present = list(dict.fromkeys(rows["metric"]))
    if wanted is not None:
        missing = [m for m in wanted if m not in present]
        if missing:
            raise MixedResultsError(
                f"no {', '.join(missing)} values in the selection; it has {', '.join(present)}."
            )
        return list(wanted), []
    metrics = [m for m in present if m != RUNTIME]
    if RUNTIME not in present:
        return metrics, []
    timed = rows[rows["metric"] == RUNTIME]
    if timed["protocol"].nunique() == 1:
        return [*metrics, RUNTIME], []
    note = (
        "runtime is left out: the methods were timed on different devices or worker "
        f"counts ({', '.join(sorted(timed['protocol'].unique()))}); ask for it "
        "explicitly after selecting runs timed alike."
    )
    return metrics, [note]


def image_metric_stats(
    values: pd.DataFrame, metric: str, methods: pd.DataFrame, options: StatsOptions
) -> tuple[pd.DataFrame, list[PairedTest]]:
    """Statistics of one image-level metric per method, and the tests that could not decide.

    Args:
        values: Per-image values, images down and methods (``methods.index``) across.
        metric: The metric's name (its direction orders the ranks).
        methods: The table's methods, with their ``complete`` flag.
        options: Interval and test settings.

    Returns:
        The statistics (one row per method), and the paired tests of complete methods whose
        smallest possible p-value is not below ``alpha`` (for :func:`undecidable_note`).
    """
    out = pd.DataFrame(index=methods.index)
    out["mean"] = values.mean()
    out["images"] = values.count()
    _add_intervals(out, values, options)
    complete = out["mean"].where(methods["complete"])
    higher = direction(metric)
    out["rank"] = _rank(complete, higher)
    out["p_value"], out["differs"] = math.nan, False
    out["samples"], out["spread"], out["reliable"] = math.nan, math.nan, True
    if higher is None or complete.isna().all():
        return out, []
    best = complete.idxmax() if higher else complete.idxmin()
    results = _tests_against(values, best, options)
    out["p_value"] = pd.Series({k: r.p_value for k, r in results.items()}, dtype=float)
    out["differs"] = pd.Series(
        {k: r.significant(options.alpha) for k, r in results.items()}, dtype=bool
    )
    out["differs"] = out["differs"].fillna(False).astype(bool)
    # only comparisons a table shows (complete methods) need the caveat
    weak = [
        r
        for name, r in results.items()
        if methods.at[name, "complete"] and not r.decidable(options.alpha)
    ]
    return out, weak


def _add_intervals(out: pd.DataFrame, values: pd.DataFrame, options: StatsOptions) -> None:
    """Fill ``ci_low`` and ``ci_high`` of ``out`` with each method's bootstrap interval."""
    out["ci_low"], out["ci_high"] = math.nan, math.nan
    full = values.columns[values.notna().all()]
    args = (options.confidence, options.n_boot, options.random_state)
    if len(full):  # methods with every image share one resampling (see bootstrap_ci)
        lo, hi = bootstrap_ci(values[full].to_numpy(), *args)
        out.loc[full, "ci_low"], out.loc[full, "ci_high"] = lo, hi
    for name in values.columns.difference(full):
        lo, hi = bootstrap_ci(values[name].dropna().to_numpy(), *args)
        out.loc[name, "ci_low"], out.loc[name, "ci_high"] = lo, hi


def _tests_against(values: pd.DataFrame, best: str, options: StatsOptions) -> dict[str, PairedTest]:
    """A two-sided paired test of every other method against ``best`` on the shared images."""
    matrix = values.to_numpy()
    best_values = matrix[:, values.columns.get_loc(best)]
    return {
        name: paired_test(
            column, best_values, options.test, "two-sided", options.n_boot, options.random_state
        )
        for name, column in zip(values.columns, matrix.T, strict=True)
        if name != best
    }


def set_metric_stats(rows: pd.DataFrame, metric: str, methods: pd.DataFrame) -> pd.DataFrame:
    """A set-level metric's one value per method: ranked by direction, not resampled or tested.

    Args:
        rows: The store rows of ``metric`` in this table.
        metric: The metric's name.
        methods: The table's methods, with their ``images`` and ``complete`` flag.

    Returns:
        One row per method, with the columns of :func:`image_metric_stats`.
    """
    ok = rows[rows["error"].isna()].drop_duplicates("method").set_index("method")
    out = pd.DataFrame(index=methods.index)
    out["mean"] = ok["value"].reindex(methods.index).astype(float)
    out["images"] = methods["images"]
    out["ci_low"], out["ci_high"] = math.nan, math.nan
    out["rank"] = _rank(out["mean"].where(methods["complete"]), direction(metric))
    out["p_value"], out["differs"] = math.nan, False
    for column in ("samples", "spread"):  # frames built by hand may lack the columns
        found = ok[column] if column in ok else pd.Series(math.nan, index=ok.index)
        out[column] = pd.to_numeric(found, errors="coerce").reindex(methods.index)
    need = _min_samples(metric)
    out["reliable"] = ~(out["samples"] < need) if need is not None else True
    out["reliable"] = out["reliable"].astype(bool)
    return out


def set_metric_notes(rows: pd.DataFrame, stats: pd.DataFrame, metric: str) -> list[str]:
    """Set-level values that could not be computed, or are unreliable (too few samples).

    Args:
        rows: The store rows of ``metric`` in this table.
        stats: The table's statistics (``(method, metric)`` index).
        metric: The set-level metric.

    Returns:
        One sentence per failed method, then one on the unreliable values (if any).
    """
    notes = []
    failed = rows[rows["error"].notna()].drop_duplicates("method")
    for r in failed.itertuples():
        notes.append(f"{metric} of {r.method} could not be computed: {r.error}")
    of_metric = stats.xs(metric, level="metric")
    weak = of_metric[~of_metric["reliable"] & of_metric["mean"].notna()]
    need = _min_samples(metric)
    if len(weak) and need is not None:
        counts: dict[int, list[str]] = {}
        for name, samples in weak["samples"].items():
            counts.setdefault(int(samples), []).append(str(name))
        where = "; ".join(
            f"{n} patches ({', '.join(names)})" for n, names in sorted(counts.items())
        )
        why = _MIN_SAMPLES_WHY.get(metric, "the {need} samples it needs").format(need=need)
        notes.append(
            f"{metric}: computed from {where}, fewer than {why}; such values are unreliable "
            "(‡) and should not be compared across datasets or protocols."
        )
    return notes


def undecidable_note(undecidable: dict[str, list[PairedTest]], test: str, alpha: float) -> str:
    """The sentence for metrics whose tests cannot call anything significant (too few images).

    Args:
        undecidable: Per metric, the tests of :func:`image_metric_stats` that cannot decide.
        test: The test's name.
        alpha: The significance level.

    Returns:
        One sentence naming the metrics, the image count and the smallest possible p-value.
    """
    tests = [t for ts in undecidable.values() for t in ts]
    n = min(t.n for t in tests)
    return (
        f"{', '.join(undecidable)}: with {n} images the {test} test's smallest possible p-value "
        f"is {max(t.min_p for t in tests):.3g} >= {alpha}, so no difference from the best can "
        "be called significant; more images are needed."
    )
