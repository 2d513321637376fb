"""Tables from the results store: leaderboards with uncertainty, paired tests, paper-style pivots.

Pure pandas, numpy and scipy: frames in, frames out, no file IO. Every consumer (tables, plots,
reports, regression checks) selects rows through :func:`select`, so they agree on two rules:

* **The latest run wins.** For each (dataset, scale, degradation, seed, method) the rows of the
  most recent run that scored it are used (the store lists runs by start time), so re-running a
  method replaces its numbers instead of averaging old and new. Pass run ids to choose others.
* **Nothing incomparable shares a column.** A metric column has one protocol and one metric
  version; a table has one dataset version, degradation version and seed. Anything else raises
  :class:`MixedResultsError`, saying which values were found and how to choose one.

Metrics come at two levels. Image-level metrics (PSNR, SSIM, LPIPS, runtime) have one value per
image; a table shows their mean with a bootstrap interval and a paired test against the best.
Set-level metrics (FID, KID; ``MetricInfo.level == "set"``, or rows whose ``image`` is
``store.SET_IMAGE`` for a metric srbench does not know) have one value per method: a table
shows that value with its ``samples`` and ``spread``, ranks it, and neither resamples nor tests
it. Metrics defined on RGB (``MetricInfo.inputs == "rgb"``: LPIPS, FID, KID) are measured under
their own protocol whatever ``--protocol`` says, so a protocol filter never drops them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from srbench.errors import SrbenchError
from srbench.leaderboard.stats import PairedTest, Test, bootstrap_ci, paired_test
from srbench.metrics import METRICS
from srbench.store import SET_IMAGE

__all__ = [
    "Leaderboard",
    "MixedResultsError",
    "compare",
    "direction",
    "fixed_protocol",
    "is_set_metric",
    "leaderboard",
    "leaderboards",
    "select",
    "summary",
    "wide",
]

RUNTIME = "runtime"
#: A table is one (dataset, scale, degradation, seed).
TABLE_KEY = ["dataset", "scale", "degradation", "seed"]
_CELL = ["dataset", "scale", "degradation", "method"]
_GROUP = ["dataset", "scale", "degradation", "protocol", "method"]


class MixedResultsError(SrbenchError):
    """Rows that must not be averaged or compared together (protocols, versions, seeds)."""


def direction(metric: str) -> bool | None:
    """True when higher is better, False when lower is, None for a metric srbench does not know."""
    return METRICS.get(metric).higher_is_better if metric in METRICS else None


def fixed_protocol(metric: str) -> bool:
    """Whether ``metric`` is measured under its own protocol whatever ``--protocol`` says:
    ``runtime`` (timed on a device) and metrics defined on RGB (``MetricInfo.inputs``
    ``"rgb"``: LPIPS, FID, KID, no-reference metrics). Unknown metrics follow ``--protocol``.

    Example:
        >>> fixed_protocol("psnr"), fixed_protocol("lpips"), fixed_protocol("runtime")
        (False, True, True)
    """
    return metric == RUNTIME or (metric in METRICS and METRICS.get(metric).inputs != "protocol")


def is_set_metric(metric: str, rows: pd.DataFrame | None = None) -> bool:
    """Whether ``metric`` has one value per set (FID, KID) rather than one per image.

    A registered metric says so by its ``level``; for one srbench does not know, ``rows`` (store
    rows) decide: its rows all have ``image == store.SET_IMAGE``.

    Example:
        >>> is_set_metric("fid"), is_set_metric("psnr")
        (True, False)
    """
    if metric in METRICS:
        return METRICS.get(metric).level == "set"
    if rows is None:
        return False
    own = rows.loc[rows["metric"] == metric, "image"]
    return bool(len(own)) and bool((own == SET_IMAGE).all())


def _min_samples(metric: str) -> int | None:
    return METRICS.get(metric).min_samples if metric in METRICS else None


def _matches(protocol: pd.Series, wanted: str) -> pd.Series:
    # "y" selects y-shave4 at x4 and y-shave2 at x2; a full key selects exactly that
    return (protocol == wanted) | protocol.str.startswith(f"{wanted}-")


def select(
    frame: pd.DataFrame,
    *,
    dataset: str | Sequence[str] | None = None,
    scale: int | Sequence[int] | None = None,
    degradation: str | Sequence[str] | None = None,
    seed: int | None = None,
    method: str | Sequence[str] | None = None,
    protocol: str | None = None,
    metrics: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Filter store rows, then keep the latest run of each (dataset, scale, degradation, seed,
    method). ``protocol`` (``y``, ``rgb`` or a full key such as ``y-shave4``) filters the metrics
    that follow ``--protocol`` (PSNR, SSIM, unknown metrics), not those measured under their own
    protocol (:func:`fixed_protocol`: ``runtime``, timed on a device, and the RGB-defined
    LPIPS, FID, KID)."""
    rows = frame
    for column, wanted in (
        ("dataset", dataset),
        ("scale", scale),
        ("degradation", degradation),
        ("seed", seed),
        ("method", method),
        ("metric", metrics),
    ):
        if wanted is not None:
            values = [wanted] if np.ndim(wanted) == 0 else list(wanted)
            rows = rows[rows[column].isin(values)]
    if protocol is not None:
        fixed = rows["metric"].map(fixed_protocol).astype(bool)
        rows = rows[fixed | _matches(rows["protocol"], protocol)]
    if rows.empty:
        return rows.reset_index(drop=True)
    cells = [*TABLE_KEY, "method"]
    last = rows.drop_duplicates(cells, keep="last")[[*cells, "run_id"]]
    return rows.merge(last, on=[*cells, "run_id"]).reset_index(drop=True)


def _single(rows: pd.DataFrame, column: str, what: str, hint: str) -> str:
    values = sorted(map(str, rows[column].dropna().unique()))
    if len(values) > 1:
        raise MixedResultsError(f"{what} mixes {column} {', '.join(values)}; {hint}")
    return values[0] if values else ""


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
        seed = f", seed {c['seed']}" if c["seed"] else ""
        return f"{c['dataset']} x{c['scale']}, {c['degradation']}{seed}"


def leaderboards(
    frame: pd.DataFrame, *, sizes: Mapping[str, int] | None = None, **options: Any
) -> list[Leaderboard]:
    """One :class:`Leaderboard` per (dataset, scale, degradation, seed) in ``frame``.

    ``sizes`` maps a dataset to its number of images (``srbench.store.dataset_sizes`` reads it
    from the run manifests), so a method missing images everywhere is still flagged. The other
    options are those of :func:`leaderboard`; its filters narrow the set of tables.
    """
    keys = ("dataset", "scale", "degradation", "seed", "method")
    filters = {k: options.pop(k) for k in keys if k in options}
    options.pop("expected_images", None)  # per dataset, from ``sizes``
    rows = select(frame, **filters, protocol=options.get("protocol"))
    return [
        leaderboard(part, expected_images=(sizes or {}).get(key[0]), **options)
        for key, part in rows.groupby(TABLE_KEY, sort=True)
    ]


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
    rows = select(
        frame,
        dataset=dataset,
        scale=scale,
        degradation=degradation,
        seed=seed,
        method=method,
        protocol=protocol,
    )
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
    notes: list[str] = []
    metrics = _metric_columns(rows, metrics, notes)
    set_metrics = [m for m in metrics if is_set_metric(m, rows)]
    image_metrics = [m for m in metrics if m not in set_metrics]
    context = _context(rows, metrics)
    context["set_metrics"] = set_metrics
    ok = rows[rows["error"].isna()]
    methods = _methods(rows, ok, image_metrics, set_metrics, expected_images)
    context.update(
        images=int(methods["images"].max() if expected_images is None else expected_images),
        test=test,
        alpha=alpha,
        confidence=confidence,
        n_boot=n_boot,
    )
    undecidable: dict[str, list[PairedTest]] = {}
    per_image = {
        m: ok[ok["metric"] == m]
        .drop_duplicates(["image", "method"])
        .set_index(["image", "method"])["value"]
        .unstack("method")
        .reindex(columns=methods.index)
        for m in image_metrics
    }
    stats = (
        pd.concat(
            [
                _set_stats(rows[rows["metric"] == m], m, methods)
                if m in set_metrics
                else _metric_stats(
                    per_image[m],
                    m,
                    methods,
                    confidence,
                    n_boot,
                    test,
                    alpha,
                    random_state,
                    undecidable,
                )
                for m in metrics
            ],
            keys=metrics,
            names=["metric", "method"],
        )
        .swaplevel()
        .sort_index(level="method", sort_remaining=False)
    )
    if undecidable:
        notes.append(_undecidable_note(undecidable, test, alpha))
    for metric in set_metrics:
        notes += _set_notes(rows[rows["metric"] == metric], stats, metric)
    incomplete = methods.index[~methods["complete"]]
    for name in incomplete:
        notes.append(
            f"{name} is incomplete: {methods.at[name, 'images']} of {context['images']} images "
            f"({methods.at[name, 'failed']} failed); its means are over those images and it is "
            "not ranked."
        )
    return Leaderboard(stats, methods, context, notes, per_image)


def _metric_columns(
    rows: pd.DataFrame, wanted: Sequence[str] | None, notes: list[str]
) -> list[str]:
    present = list(dict.fromkeys(rows["metric"]))
    if wanted is not None:
        missing = [m for m in wanted if m not in present]
        if missing:
            raise MixedResultsError(
                f"no {', '.join(missing)} values in the selection; it has {', '.join(present)}."
            )
        return list(wanted)
    metrics = [m for m in present if m != RUNTIME]
    if RUNTIME in present:
        timed = rows[rows["metric"] == RUNTIME]
        if timed["protocol"].nunique() == 1:
            metrics.append(RUNTIME)
        else:
            notes.append(
                "runtime is left out: the methods were timed on different devices or worker "
                f"counts ({', '.join(sorted(timed['protocol'].unique()))}); ask for it "
                "explicitly after selecting runs timed alike."
            )
    return metrics


def _context(rows: pd.DataFrame, metrics: list[str]) -> dict[str, Any]:
    first = rows.iloc[0]
    hint = "select runs (--runs) that were measured alike."
    context: dict[str, Any] = {
        "dataset": first["dataset"],
        "scale": int(first["scale"]),
        "degradation": first["degradation"],
        "seed": int(first["seed"]),
        "dataset_version": _single(rows, "dataset_version", f"{first['dataset']}", hint),
        "degradation_version": _single(rows, "degradation_version", "the degradation", hint),
        "metrics": metrics,
        "protocols": {},
        "metric_versions": {},
        "runs": sorted(rows["run_id"].unique()),
    }
    for metric in metrics:
        of_metric = rows[rows["metric"] == metric]
        context["protocols"][metric] = _single(
            of_metric,
            "protocol",
            f"the {metric} column",
            "choose one with --protocol (y or rgb)." if metric != RUNTIME else hint,
        )
        context["metric_versions"][metric] = _single(
            of_metric, "metric_version", f"the {metric} column", "re-run the older methods."
        )
    return context


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


def _metric_stats(
    values: pd.DataFrame,
    metric: str,
    methods: pd.DataFrame,
    confidence: float,
    n_boot: int,
    test: Test,
    alpha: float,
    random_state: int,
    undecidable: dict[str, list[PairedTest]],
) -> pd.DataFrame:
    higher = direction(metric)
    out = pd.DataFrame(index=methods.index)
    out["mean"] = values.mean()
    out["images"] = values.count()
    out["ci_low"], out["ci_high"] = math.nan, math.nan
    full = values.columns[values.notna().all()]
    if len(full):  # methods with every image share one resampling (see bootstrap_ci)
        lo, hi = bootstrap_ci(values[full].to_numpy(), confidence, n_boot, random_state)
        out.loc[full, "ci_low"], out.loc[full, "ci_high"] = lo, hi
    for name in values.columns.difference(full):
        lo, hi = bootstrap_ci(values[name].dropna().to_numpy(), confidence, n_boot, random_state)
        out.loc[name, "ci_low"], out.loc[name, "ci_high"] = lo, hi
    complete = out["mean"].where(methods["complete"])
    out["rank"] = (
        complete.rank(method="min", ascending=not higher) if higher is not None else math.nan
    )
    out["p_value"], out["differs"] = math.nan, False
    out["samples"], out["spread"], out["reliable"] = math.nan, math.nan, True
    if higher is None or complete.isna().all():
        return out
    best = complete.idxmax() if higher else complete.idxmin()
    matrix = values.to_numpy()
    best_values = matrix[:, values.columns.get_loc(best)]
    results = {
        name: paired_test(column, best_values, test, "two-sided", n_boot, random_state)
        for name, column in zip(values.columns, matrix.T, strict=True)
        if name != best
    }
    out["p_value"] = pd.Series({k: r.p_value for k, r in results.items()}, dtype=float)
    out["differs"] = pd.Series({k: r.significant(alpha) for k, r in results.items()}, dtype=bool)
    out["differs"] = out["differs"].fillna(False).astype(bool)
    # only comparisons a table shows (complete methods) need the caveat
    weak = [
        r for name, r in results.items() if methods.at[name, "complete"] and not r.decidable(alpha)
    ]
    if weak:
        undecidable[metric] = weak
    return out


def _set_stats(rows: pd.DataFrame, metric: str, methods: pd.DataFrame) -> pd.DataFrame:
    """A set-level metric's one value per method: ranked by direction, not resampled or tested."""
    higher = direction(metric)
    ok = rows[rows["error"].isna()].drop_duplicates("method").set_index("method")
    out = pd.DataFrame(index=methods.index)
    out["mean"] = ok["value"].reindex(methods.index).astype(float)
    out["images"] = methods["images"]
    out["ci_low"], out["ci_high"] = math.nan, math.nan
    complete = out["mean"].where(methods["complete"])
    out["rank"] = (
        complete.rank(method="min", ascending=not higher) if higher is not None else math.nan
    )
    out["p_value"], out["differs"] = math.nan, False
    for column in ("samples", "spread"):  # frames built by hand may lack the columns
        found = ok[column] if column in ok else pd.Series(math.nan, index=ok.index)
        out[column] = pd.to_numeric(found, errors="coerce").reindex(methods.index)
    need = _min_samples(metric)
    out["reliable"] = ~(out["samples"] < need) if need is not None else True
    out["reliable"] = out["reliable"].astype(bool)
    return out


#: Why a set-level metric needs ``min_samples``, for the note under a table.
_MIN_SAMPLES_WHY = {
    "fid": "its {need} feature dimensions (fewer samples give a singular covariance)",
}


def _set_notes(rows: pd.DataFrame, stats: pd.DataFrame, metric: str) -> list[str]:
    """Set-level values that could not be computed, or are unreliable (too few samples)."""
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


def _undecidable_note(undecidable: dict[str, list[PairedTest]], test: str, alpha: float) -> str:
    tests = [t for ts in undecidable.values() for t in ts]
    n = min(t.n for t in tests)
    return (
        f"{', '.join(undecidable)}: with {n} images the {test} test's smallest possible p-value "
        f"is {max(t.min_p for t in tests):.3g} >= {alpha}, so no difference from the best can "
        "be called significant; more images are needed."
    )


def compare(
    frame: pd.DataFrame,
    a: str,
    b: str,
    metric: str,
    *,
    test: Test = "wilcoxon",
    alternative: str = "two-sided",
    n_boot: int = 2000,
    random_state: int = 0,
    **filters: Any,
) -> PairedTest:
    """Paired test of method ``a`` against ``b`` on one metric over the images both scored.

    ``filters`` (dataset, scale, degradation, seed, protocol) must narrow the rows to one table.
    """
    # a leaderboard of the two refuses mixed protocols, versions or tables, and pairs the images
    board = leaderboard(frame, method=[a, b], metrics=[metric], n_boot=n_boot, **filters)
    values = board.values(metric)
    for name in (a, b):
        if name not in values or values[name].isna().all():
            raise MixedResultsError(f"no {metric} values for {name!r} in the selection.")
    return paired_test(values[a], values[b], test, alternative, n_boot, random_state)  # type: ignore[arg-type]


def wide(
    frame: pd.DataFrame | Sequence[Leaderboard],
    metric: str,
    *,
    columns: Sequence[str] = ("dataset", "scale"),
    protocol: str | None = None,
    degradation: str | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """A paper-style pivot of one metric's means: methods down, (dataset, scale) across.

    Each cell follows the same selection rules as :func:`leaderboard` (latest run, one protocol
    and version per column); incomplete cells are NaN rather than means over fewer images.
    Degradations or seeds that vary become further column levels. ``frame`` may also be
    leaderboards already made (then ``protocol`` must be None: they were made under one).
    """
    if isinstance(frame, pd.DataFrame):
        rows = select(
            frame, metrics=[metric], protocol=protocol, degradation=degradation, seed=seed
        )
        boards = [leaderboard(part, metrics=[metric]) for _, part in rows.groupby(TABLE_KEY)]
    else:
        if protocol is not None:
            raise MixedResultsError("leaderboards already made cannot be filtered by protocol.")
        boards = [
            b
            for b in frame
            if metric in b.metrics
            and degradation in (None, b.context["degradation"])
            and seed in (None, b.context["seed"])
        ]
    cells = {}
    for board in sorted(boards, key=lambda b: tuple(b.context[k] for k in TABLE_KEY)):
        means = board.stats.xs(metric, level="metric")["mean"]
        cells[tuple(board.context[k] for k in TABLE_KEY)] = means.where(board.methods["complete"])
    if not cells:
        raise MixedResultsError(f"no {metric} values in the selection.")
    out = pd.DataFrame(cells)
    out.columns = pd.MultiIndex.from_tuples(list(cells), names=TABLE_KEY)
    # keys the caller did not ask for stay as column levels when they vary (never averaged)
    constant = [
        k for k in TABLE_KEY if k not in columns and out.columns.get_level_values(k).nunique() == 1
    ]
    out.columns = out.columns.droplevel(constant)
    out = out.dropna(how="all")  # methods complete nowhere have no cell to show
    out.index.name = "method"
    return out


def summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean per (dataset, scale, degradation, method) of each metric, with image counts.

    Failed cells are not averaged; ``failed`` counts them. The fidelity protocol (such as
    ``y-shave4``, the one ``--protocol`` chose) is part of the index, so numbers under different
    protocols never share a row; metrics measured under their own protocol (LPIPS, FID, KID on
    RGB; ``runtime`` on a device) join the row of their (dataset, scale, degradation, method),
    and the index shows ``-`` when a cell has none of the first kind. A set-level metric's
    column holds its one value; ``images`` counts per-image rows only.

    Example:
        >>> rows = pd.DataFrame({"dataset": ["a"] * 3, "scale": [4] * 3, "image": ["x", "y", ""],
        ...     "degradation": ["bicubic"] * 3, "method": ["m"] * 3,
        ...     "metric": ["psnr", "psnr", "fid"],
        ...     "protocol": ["y-shave4", "y-shave4", "rgb-shave4-patch64-stride64"],
        ...     "value": [30.0, 32.0, 41.5], "error": [None, None, None]})
        >>> table = summary(rows)
        >>> float(table["psnr"].iloc[0]), float(table["fid"].iloc[0]), int(table["images"].iloc[0])
        (31.0, 41.5, 2)
    """
    if scores.empty:
        return pd.DataFrame()
    ok = scores[scores["error"].isna()]
    metrics = list(dict.fromkeys(ok["metric"]))
    # set-level rows and metrics with their own protocol join the table by cell, not protocol
    own = {m for m in metrics if fixed_protocol(m) or is_set_metric(m, ok)}
    fidelity = ok[~ok["metric"].isin(own)]
    table = (
        fidelity.pivot_table(index=_GROUP, columns="metric", values="value", aggfunc="mean")
        .rename_axis(columns=None)
        .reset_index()
        if len(fidelity)
        else pd.DataFrame(columns=_GROUP)
    )
    joined = ok[ok["metric"].isin(own - {RUNTIME})]
    if len(joined):
        extra = joined.pivot_table(index=_CELL, columns="metric", values="value", aggfunc="mean")
        extra.columns.name = None
        table = table.merge(extra.reset_index(), on=_CELL, how="outer")
    table["protocol"] = table["protocol"].fillna("-") if "protocol" in table else "-"
    counted = ok[(ok["metric"] != RUNTIME) & (ok["image"] != SET_IMAGE) & ~ok["metric"].isin(own)]
    if counted.empty:  # no fidelity metric: count the images of the per-image ones
        counted = ok[(ok["metric"] != RUNTIME) & (ok["image"] != SET_IMAGE)]
        counted = counted[~counted["metric"].map(lambda m: is_set_metric(m, ok)).astype(bool)]
    images = counted.groupby(_CELL)["image"].nunique().rename("images")
    table = table.join(images, on=_CELL)
    table["images"] = table["images"].fillna(0).astype(int)
    runtime = ok[ok["metric"] == RUNTIME].groupby(_CELL)["value"].mean().rename("runtime")
    table = table.join(runtime, on=_CELL)
    table = table.set_index(_GROUP).sort_index()
    errors = scores[scores["error"].notna()]
    failed = errors[errors["image"] != SET_IMAGE].groupby(_CELL)["image"].nunique()
    failed = failed.rename("failed")
    table = table.join(failed, on=_CELL, how="outer") if len(table) else failed.to_frame()
    table["failed"] = table["failed"].fillna(0).astype(int)
    table.columns.name = None
    return table
