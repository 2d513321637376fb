"""The leaderboard: methods x metrics for one dataset, scale, degradation and seed.

:func:`leaderboard` builds one :class:`Leaderboard` from store rows chosen by the selection rules
(:mod:`srbench.leaderboard.selection`: latest run, one protocol and version per column), in
named steps: the rows of one table, its metric columns, what they were measured under, the
methods and whether they are complete, then each column's statistics
(:mod:`srbench.leaderboard.columns`) and the notes a reader needs. :func:`leaderboards` makes
one per table in a frame.

Metrics come at two levels. Image-level metrics (PSNR, SSIM, LPIPS, runtime) have one value per
image; a table shows their mean with a bootstrap interval and a paired test against the best.
Set-level metrics (FID, KID; ``MetricInfo.level == "set"``, or rows whose ``image`` is
``store.SET_IMAGE`` for a metric srbench does not know) have one value per method: a table
shows that value with its ``samples`` and ``spread``, ranks it, and neither resamples nor tests
it. Pure pandas and numpy (scipy only once a test runs): frames in, frames out, no file IO.

A table whose rows were measured differently (:class:`IncomparableError`: the same dataset name
from a folder and from the catalog, another degradation or metric version, another protocol)
cannot be made; :func:`leaderboards` leaves it out with a note naming the runs involved and how
to select one (:class:`SkippedTable`, also logged as a warning on the ``srbench.leaderboard``
logger) and makes every other table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from srbench.leaderboard.columns import (
    StatsOptions,
    image_metric_stats,
    metric_columns,
    set_metric_notes,
    set_metric_stats,
    undecidable_note,
)
from srbench.leaderboard.context import table_context
from srbench.leaderboard.selection import (
    TABLE_KEY,
    IncomparableError,
    MixedResultsError,
    is_set_metric,
    select,
)
from srbench.leaderboard.stats import PairedTest, Test
from srbench.store import SET_IMAGE

__all__ = ["Leaderboard", "Leaderboards", "SkippedTable", "leaderboard", "leaderboards"]

#: Tables left out (incomparable rows) are logged here as warnings; the CLI prints them.
logger = logging.getLogger("srbench.leaderboard")


def _title(dataset: object, scale: object, degradation: object, seed: object) -> str:
    return f"{dataset} x{scale}, {degradation}" + (f", seed {seed}" if seed else "")


@dataclass(frozen=True)
class Leaderboard:
    """One table: methods x metrics for one dataset, scale, degradation and seed.

    Attributes:
        stats: One row per (method, metric): ``mean``, ``images`` (values averaged),
            ``ci_low``, ``ci_high`` (bootstrap), ``rank`` (1 = best, following the metric's
            direction; NaN for incomplete methods), ``p_value`` of the paired test against the
            best method, ``differs`` (whether that difference is significant at ``alpha``),
            ``samples`` and ``spread`` (set-level metrics: the number of feature samples the
            value comes from and, for KID, its standard deviation over subsets; NaN for
            image-level metrics) and ``reliable`` (False when ``samples`` is below the metric's
            ``min_samples``). For a set-level metric ``mean`` is its one value, ``images`` the
            method's scored images, the interval and ``p_value`` are NaN and ``differs`` is
            False: there is no test, and tables mark nothing from it.
        methods: One row per method: ``images`` scored (set-level rows are not images),
            ``failed``, ``complete``, ``method_version``, ``run_id``.
        context: What every number was measured under: dataset, dataset_version, scale,
            degradation, degradation_version, seed, images (expected), per metric its
            protocol and version, ``set_metrics`` (the set-level ones); plus the test, alpha,
            confidence and bootstrap size.
        notes: Sentences a reader needs (incomplete methods, tests that cannot decide,
            unreliable set-level values).
        per_image: The values behind the means, per image-level metric (see :meth:`values`).
    """

    stats: pd.DataFrame
    methods: pd.DataFrame
    context: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    per_image: dict[str, pd.DataFrame] = field(default_factory=dict)

    def values(self, metric: str) -> pd.DataFrame:
        """Per-image values of one metric: images down, methods across (NaN where missing).

        Raises:
            MixedResultsError: ``metric`` is set-level (FID, KID: one value per method, in
                :attr:`stats`) or not a column of this table.
        """
        if metric in self.set_metrics:
            raise MixedResultsError(
                f"{metric} is a set-level metric: one value per method over the whole set "
                "(see the table's stats), no per-image values."
            )
        if metric not in self.per_image:
            raise MixedResultsError(
                f"no {metric} column in {self.title()}; it has {', '.join(self.metrics)}."
            )
        return self.per_image[metric]

    @property
    def metrics(self) -> list[str]:
        """The metric columns, in order."""
        return list(self.context["metrics"])

    @property
    def set_metrics(self) -> list[str]:
        """The set-level metric columns (FID, KID), in order."""
        return [m for m in self.metrics if m in self.context.get("set_metrics", ())]

    @property
    def image_metrics(self) -> list[str]:
        """The metric columns with per-image values (everything :meth:`values` accepts)."""
        return [m for m in self.metrics if m not in self.set_metrics]

    def table(self) -> pd.DataFrame:
        """A flat frame: one row per method (best first), ``<metric>``, ``<metric>_ci_low``,
        ``<metric>_ci_high``, ``<metric>_rank``, ``<metric>_p`` columns (set-level metrics add
        ``<metric>_samples``, ``<metric>_spread`` and ``<metric>_reliable``), then images,
        failed and complete."""
        wide_stats = self.stats.unstack("metric")
        columns: dict[str, pd.Series] = {}
        for metric in self.metrics:
            part = wide_stats.xs(metric, axis=1, level="metric")
            columns[metric] = part["mean"]
            columns[f"{metric}_ci_low"] = part["ci_low"]
            columns[f"{metric}_ci_high"] = part["ci_high"]
            columns[f"{metric}_rank"] = part["rank"]
            columns[f"{metric}_p"] = part["p_value"]
            if metric in self.set_metrics:
                for key in ("samples", "spread", "reliable"):
                    columns[f"{metric}_{key}"] = part[key]
        out = pd.DataFrame(columns).join(self.methods[["images", "failed", "complete"]])
        return out.loc[self.order()]

    def order(self, metric: str | None = None) -> list[str]:
        """Methods best first by ``metric`` (default: the first ranked one); incomplete last."""
        for name in [metric] if metric else self.metrics:
            ranks = self.stats.xs(name, level="metric")["rank"]
            if ranks.notna().any():
                return list(ranks.sort_values(na_position="last", kind="stable").index)
        return list(self.methods.index)

    def title(self) -> str:
        """``Set5 x4, bicubic`` (with the seed when it is not 0)."""
        c = self.context
        return _title(c["dataset"], c["scale"], c["degradation"], c["seed"])


@dataclass(frozen=True)
class SkippedTable:
    """A table :func:`leaderboards` could not make, and why.

    Attributes:
        key: Its (dataset, scale, degradation, seed).
        reason: What its rows mix, in which runs, and how to select one.
    """

    key: tuple[Any, ...]
    reason: str

    def title(self) -> str:
        """``Set5 x4, bicubic``, as the table would have been titled."""
        return _title(*self.key)

    def note(self) -> str:
        """One sentence for a reader: which table is missing and why."""
        return f"{self.title()} is not shown: {self.reason}"


class Leaderboards(list):  # type: ignore[type-arg]
    """The tables :func:`leaderboards` made (a list of :class:`Leaderboard`), and in
    :attr:`skipped` those it left out (:class:`SkippedTable`)."""

    def __init__(
        self, boards: Iterable[Leaderboard] = (), skipped: Iterable[SkippedTable] = ()
    ) -> None:
        super().__init__(boards)
        self.skipped: list[SkippedTable] = list(skipped)


def leaderboards(
    frame: pd.DataFrame,
    *,
    sizes: Mapping[str, int] | None = None,
    skip_incomparable: bool = True,
    **options: Any,
) -> Leaderboards:
    """One :class:`Leaderboard` per (dataset, scale, degradation, seed) in ``frame``.

    ``sizes`` maps a dataset to its number of images (``srbench.store.dataset_sizes`` reads it
    from the run manifests), so a method missing images everywhere is still flagged. The other
    options are those of :func:`leaderboard`; its filters narrow the set of tables.

    A table whose rows cannot be compared (:class:`IncomparableError`) is left out: it is
    listed in the result's ``skipped`` with the reason (the runs involved and how to select
    one) and logged as a warning, and the other tables are made. ``skip_incomparable=False``
    raises instead.
    """
    keys = ("dataset", "scale", "degradation", "seed", "method")
    filters = {k: options.pop(k) for k in keys if k in options}
    options.pop("expected_images", None)  # per dataset, from ``sizes``
    rows = select(frame, **filters, protocol=options.get("protocol"))
    boards = Leaderboards()
    for key, part in rows.groupby(TABLE_KEY, sort=True):
        try:
            boards.append(leaderboard(part, expected_images=(sizes or {}).get(key[0]), **options))
        except IncomparableError as exc:
            if not skip_incomparable:
                raise
            skipped = SkippedTable(tuple(key), str(exc))
            boards.skipped.append(skipped)
            logger.warning(skipped.note())
    return boards


def leaderboard(
    frame: pd.DataFrame,
    *,
    dataset: str | None = None,
    scale: int | None = None,
    degradation: str | None = None,
    seed: int | None = None,
    method: Sequence[str] | None = None,
    protocol: str | None = None,
    metrics: Sequence[str] | None = None,
    expected_images: int | None = None,
    confidence: float = 0.95,
    n_boot: int = 2000,
    test: Test = "wilcoxon",
    alpha: float = 0.05,
    random_state: int = 0,
) -> Leaderboard:
    """Mean of each metric per method for one dataset, scale, degradation and seed.

    Each mean comes with a seeded bootstrap interval over images and a rank that follows the
    metric's direction. Every method is compared with the best one on the images both have,
    with a paired test (``wilcoxon`` signed-rank or ``bootstrap``), so a table can mark the
    methods that are not significantly worse than the best. Methods with fewer images than
    ``expected_images`` (default: the most any method has) are flagged incomplete and left
    out of the ranking; their means are over the images they have.

    Set-level metrics (FID, KID) are one value per method: ranked among complete methods, with
    no interval and no test; a value from fewer samples than the metric's ``min_samples`` is
    flagged unreliable (``reliable`` False) and a note says so. A table of set-level metrics
    only (no per-image rows to count images from) takes a method as complete when its
    set-level values were computed.

    Raises:
        MixedResultsError: The rows span several tables (pass dataset, scale, degradation or
            seed, or use :func:`leaderboards`), or a column would mix protocols or versions.

    Example:
        >>> rows = pd.DataFrame({"run_id": "r", "dataset": "a", "dataset_version": "1",
        ...     "image": ["x", "y", "x", "y"], "scale": 4, "degradation": "bicubic",
        ...     "degradation_version": "1", "seed": 0, "method": ["m", "m", "n", "n"],
        ...     "method_version": "1", "metric": "psnr", "metric_version": "1",
        ...     "protocol": "y-shave4", "value": [30.0, 32.0, 29.0, 30.0], "error": None})
        >>> board = leaderboard(rows)
        >>> table = board.table()
        >>> table["psnr"].to_dict(), table["psnr_rank"].to_dict()
        ({'m': 31.0, 'n': 29.5}, {'m': 1.0, 'n': 2.0})
    """
    filters = dict(dataset=dataset, scale=scale, degradation=degradation, seed=seed)
    rows = _one_table(select(frame, **filters, method=method, protocol=protocol))
    options = StatsOptions(confidence, n_boot, test, alpha, random_state)
    metrics, notes = metric_columns(rows, metrics)
    set_metrics = [m for m in metrics if is_set_metric(m, rows)]
    image_metrics = [m for m in metrics if m not in set_metrics]
    context = table_context(rows, metrics, set_metrics)  # refuses mixed versions, protocols
    ok = rows[rows["error"].isna()]
    methods = _methods(rows, ok, image_metrics, set_metrics, expected_images)
    images = int(methods["images"].max() if expected_images is None else expected_images)
    context.update(images=images, test=test, alpha=alpha, confidence=confidence, n_boot=n_boot)
    per_image = {m: _per_image(ok, m, methods.index) for m in image_metrics}
    stats, undecidable = _stats(rows, per_image, metrics, methods, options)
    if undecidable:
        notes.append(undecidable_note(undecidable, test, alpha))
    for metric in set_metrics:
        notes += set_metric_notes(rows[rows["metric"] == metric], stats, metric)
    notes += _incomplete_notes(methods, context["images"])
    return Leaderboard(stats, methods, context, notes, per_image)


def _one_table(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` when they are one non-empty table; else the error saying how to choose one."""
    if rows.empty:
        raise MixedResultsError(
            "no results match the selection; `srbench ls runs` lists the runs in the store."
        )
    tables = rows[TABLE_KEY].drop_duplicates()
    if len(tables) > 1:
        found = "; ".join(f"{d} x{s} {g} seed {e}" for d, s, g, e in tables.itertuples(index=False))
        raise MixedResultsError(
            f"the rows span {len(tables)} tables ({found}); choose one with dataset, scale, "
            "degradation and seed, or make one table each (srbench.leaderboard.leaderboards)."
        )
    return rows


def _methods(
    rows: pd.DataFrame,
    ok: pd.DataFrame,
    metrics: list[str],
    set_metrics: list[str],
    expected: int | None,
) -> pd.DataFrame:
    """Images scored and failed per method; set-level rows are never counted as images."""
    by_method = rows.groupby("method", sort=False)
    per_image = ok[(ok["image"] != SET_IMAGE) & ~ok["metric"].isin(set_metrics)]
    shown = per_image[per_image["metric"].isin(metrics)]
    # a table of set-level metrics only: the images behind them are those the method scored
    scored = (shown if len(shown) else per_image).groupby("method")["image"].nunique()
    errors = rows[rows["error"].notna()]
    failed = errors[errors["image"] != SET_IMAGE].groupby("method")["image"].nunique()
    out = pd.DataFrame(
        {
            "images": scored.reindex(by_method.groups.keys()).fillna(0).astype(int),
            "failed": failed.reindex(by_method.groups.keys()).fillna(0).astype(int),
            "method_version": by_method["method_version"].first(),
            "run_id": by_method["run_id"].first(),
        }
    )
    out.index.name = "method"
    if per_image.empty and set_metrics:  # nothing to count: complete when every value exists
        computed = ok[ok["metric"].isin(set_metrics) & ok["value"].notna()]
        done = computed.groupby("method")["metric"].nunique() == len(set_metrics)
        out["complete"] = done.reindex(out.index).fillna(False).astype(bool)
        out.loc[out["complete"], "images"] = int(expected or 0)
        return out
    target = out["images"].max() if expected is None else expected
    out["complete"] = out["images"] >= target
    return out


def _per_image(ok: pd.DataFrame, metric: str, methods: pd.Index) -> pd.DataFrame:
    """One metric's values: images down, the table's methods across (NaN where missing)."""
    return (
        ok[ok["metric"] == metric]
        .drop_duplicates(["image", "method"])
        .set_index(["image", "method"])["value"]
        .unstack("method")
        .reindex(columns=methods)
    )


def _stats(
    rows: pd.DataFrame,
    per_image: dict[str, pd.DataFrame],
    metrics: list[str],
    methods: pd.DataFrame,
    options: StatsOptions,
) -> tuple[pd.DataFrame, dict[str, list[PairedTest]]]:
    """Every column's statistics, indexed by (method, metric) in method order, and per metric
    the tests that could not decide (too few images)."""
    parts = []
    undecidable: dict[str, list[PairedTest]] = {}
    for metric in metrics:
        if metric not in per_image:  # set-level: one value per method
            parts.append(set_metric_stats(rows[rows["metric"] == metric], metric, methods))
            continue
        part, weak = image_metric_stats(per_image[metric], metric, methods, options)
        parts.append(part)
        if weak:
            undecidable[metric] = weak
    stats = pd.concat(parts, keys=metrics, names=["metric", "method"])
    return stats.swaplevel().sort_index(level="method", sort_remaining=False), undecidable


def _incomplete_notes(methods: pd.DataFrame, images: int) -> list[str]:
    """One sentence per method with fewer images than the table expects."""
    return [
        f"{name} is incomplete: {methods.at[name, 'images']} of {images} images "
        f"({methods.at[name, 'failed']} failed); its means are over those images and it is "
        "not ranked."
        for name in methods.index[~methods["complete"]]
    ]
