"""Figures from the results store: bars, the perception-distortion plane, per-image distributions
and degradation sweeps (zoomed visual comparisons are in :mod:`srbench.report.comparison`).

Every figure is a :class:`matplotlib.figure.Figure` built directly, never through ``pyplot``: no
global state, so figures can be made from threads and servers without a display, and nothing is
shown or leaked. The figure functions read nothing from disk; :func:`save_figure` writes one.

Rows are chosen through :func:`srbench.leaderboard.select` and summarised by
:func:`srbench.leaderboard.leaderboards`, so a figure shows exactly the numbers (latest run,
bootstrap intervals, completeness) of the tables beside it. Instead of store rows, ``frame`` may
be the leaderboards themselves (a report computes each table once for all its figures); then only
the table filters (dataset, scale, degradation, seed) apply. The filters ``dataset``, ``scale``,
``degradation``, ``seed``, ``method`` and ``protocol`` narrow the rows; the leaderboard options
(``confidence``, ``n_boot``, ``expected_images``, ...) pass through. Each method keeps one colour
(:func:`method_colours`) in every subplot, and every series carries the method's name as its
``label``.

Set-level metrics (FID, KID: one value per method) are drawn without intervals; KID's error bars
are its standard deviation over subsets, and the axis label says so. They have no per-image
values, so :func:`distributions` refuses them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from srbench.degradations import DEGRADATIONS
from srbench.errors import SpecError
from srbench.leaderboard.board import Leaderboard
from srbench.leaderboard.selection import TABLE_KEY, MixedResultsError, select

# comparison_grid, interesting_box and save_figure are re-exported: ``srbench.cli`` draws
# through ``plots.<name>``, and the old module path ``srbench.plots`` served them.
from srbench.report.comparison import comparison_grid, interesting_box
from srbench.report.drawing import (
    FILTERS,
    Results,
    all_methods,
    axis_label,
    method_colours,
    save_figure,
    select_rows,
    subplot_grid,
    tables_to_draw,
    value_label,
    whisker_stats,
    whiskers,
)
from srbench.specs import split_spec

__all__ = [
    "bars",
    "fidelity_diversity",
    "comparison_grid",
    "distributions",
    "interesting_box",
    "method_colours",
    "perception_distortion",
    "save_figure",
    "sweep",
]


def bars(frame: Results, metric: str, **filters: Any) -> Figure:
    """One bar per method (best first) per table, with the bootstrap interval as error bars.

    Incomplete methods (fewer images than the others, not ranked) are hatched and say so in
    their tick label. A set-level metric (FID, KID) has no interval: its bars carry KID's
    standard deviation over subsets, or nothing; an unreliable value (too few samples) is
    marked ``‡`` in its tick label. The value axis starts just below the lowest interval,
    because PSNR differences of tenths of a dB vanish on bars drawn from zero: compare heights,
    not areas.

    Raises:
        MixedResultsError: ``metric`` is not in the selection (the message lists those that
            are), or rows that must not be compared would share a table.
    """
    boards = tables_to_draw(frame, [metric], filters)
    colours = method_colours(all_methods(boards))
    fig, axes = subplot_grid(len(boards))
    for ax, board in zip(axes, boards, strict=True):
        order = board.order(metric)
        stats = whisker_stats(board, metric, order)
        ticks = []
        for x, name in enumerate(order):
            complete = bool(board.methods.at[name, "complete"])
            ax.bar(
                x,
                stats.at[name, "mean"],
                yerr=whiskers(stats, name),
                color=colours[name],
                edgecolor="black" if not complete else colours[name],
                hatch=None if complete else "//",
                capsize=4,
                label=name,
            )
            images = int(board.methods.at[name, "images"])
            expected = board.context["images"]
            tick = name if complete else f"{name}\n(incomplete: {images}/{expected})"
            if not board.stats.at[(name, metric), "reliable"]:
                tick += " ‡"
            ticks.append(tick)
        ax.set_xticks(range(len(order)), ticks, rotation=30 if len(order) > 4 else 0, ha="center")
        low = (stats["mean"] - stats["below"].fillna(0)).min()
        high = (stats["mean"] + stats["above"].fillna(0)).max()
        if np.isfinite(low) and np.isfinite(high) and low > 0:
            ax.set_ylim(bottom=max(0.0, low - 0.5 * max(high - low, 0.02 * high)))
        ax.set_ylabel(value_label([board], metric))
        ax.set_title(board.title())
        ax.grid(axis="y", alpha=0.3)
    return fig


def perception_distortion(
    frame: Results, x: str = "psnr", y: str = "lpips", **filters: Any
) -> Figure:
    """The perception-distortion plane: one point per method per table, with interval whiskers
    on both axes and the method's name beside it. Incomplete methods are hollow.

    Either axis may be a set-level metric (``y="fid"``): it has no interval, so no whiskers
    (KID's are its standard deviation over subsets).

    Raises:
        MixedResultsError: ``x`` or ``y`` is not in the selection (the message lists the metrics
            that are), or rows that must not be compared would share a table.
    """
    if x == y:
        raise MixedResultsError(f"the two axes need two different metrics, got {x} twice.")
    boards = tables_to_draw(frame, [x, y], filters)
    colours = method_colours(all_methods(boards))
    fig, axes = subplot_grid(len(boards), (5.2, 4.2))
    for ax, board in zip(axes, boards, strict=True):
        order = board.order(x)
        xs, ys = whisker_stats(board, x, order), whisker_stats(board, y, order)
        for name in order:
            complete = bool(board.methods.at[name, "complete"])
            px, py = xs.at[name, "mean"], ys.at[name, "mean"]
            ax.errorbar(
                px,
                py,
                xerr=whiskers(xs, name),
                yerr=whiskers(ys, name),
                fmt="o",
                color=colours[name],
                markerfacecolor=colours[name] if complete else "white",
                capsize=3,
                label=name,
            )
            if np.isfinite(px) and np.isfinite(py):
                ax.annotate(
                    name if complete else f"{name} (incomplete)",
                    (px, py),
                    xytext=(5, 5),
                    textcoords="offset points",
                    fontsize="small",
                )
        ax.set_xlabel(value_label([board], x))
        ax.set_ylabel(value_label([board], y))
        ax.set_title(board.title())
        ax.grid(alpha=0.3)
    return fig


def distributions(frame: Results, metric: str, **filters: Any) -> Figure:
    """Per-image values of ``metric``: a box per method (best first; the marker is the mean the
    tables show) over the image values as jittered points, one subplot per table.

    Raises:
        MixedResultsError: ``metric`` is not in the selection, is set-level (FID, KID: one
            value per method, nothing to distribute; draw :func:`bars`), or the rows mix
            tables that must not be compared.
    """
    boards = tables_to_draw(frame, [metric], filters)
    if any(metric in b.set_metrics for b in boards):
        raise MixedResultsError(
            f"{metric} is a set-level metric (one value per method, no per-image values); "
            "plot it with bars."
        )
    colours = method_colours(all_methods(boards))
    # seeded per figure: the same results always draw the same picture
    rng = np.random.default_rng(0)
    fig, axes = subplot_grid(len(boards))
    for ax, board in zip(axes, boards, strict=True):
        order = board.order(metric)
        per_image = board.values(metric)
        values = [v[np.isfinite(v)] for v in (per_image[m].to_numpy() for m in order)]
        boxes = ax.boxplot(
            [v if len(v) else [np.nan] for v in values],
            positions=range(len(order)),
            widths=0.5,
            patch_artist=True,
            showfliers=False,  # every point is drawn below; fliers would draw outliers twice
            showmeans=True,
            meanprops={"marker": "D", "markerfacecolor": "white", "markeredgecolor": "black"},
            medianprops={"color": "black"},
        )
        for box, name in zip(boxes["boxes"], order, strict=True):
            box.set(facecolor=(*colours[name][:3], 0.25), edgecolor=colours[name], label=name)
        for x, (name, v) in enumerate(zip(order, values, strict=True)):
            ax.scatter(
                x + rng.uniform(-0.18, 0.18, len(v)),
                v,
                s=12,
                color=colours[name],
                alpha=0.8,
                zorder=3,
                label=name,
            )
        ax.set_xticks(range(len(order)), order, rotation=30 if len(order) > 4 else 0)
        ax.set_ylabel(axis_label(metric))
        ax.set_title(board.title())
        ax.grid(axis="y", alpha=0.3)
    return fig


def _strength(spec: str, name: str, parameter: str) -> float:
    """The value of ``parameter`` in a canonical spec of degradation ``name``, else NaN."""
    try:
        found, params = split_spec(spec, "degradation")
        return float(params[parameter]) if found.lower() == name else math.nan
    except (KeyError, ValueError, SpecError):
        return math.nan


def sweep(
    frame: Results,
    metric: str,
    degradation: str = "noise",
    parameter: str = "sigma",
    **filters: Any,
) -> Figure:
    """``metric`` against the strength of a degradation: one line per method with its interval
    as a band, one subplot per (dataset, scale).

    The x values are ``parameter`` read from the stored canonical specs of ``degradation``
    (``noise:sigma=10.0`` gives 10.0). Hollow markers are means over an incomplete set of
    images.

    Raises:
        MixedResultsError: ``metric`` is missing, fewer than two strengths exist, or two specs
            share a strength (their other parameters differ; select rows of one kind first).
    """
    name = DEGRADATIONS.canonical(degradation) if degradation in DEGRADATIONS else degradation
    groups = _sweep_groups(frame, metric, name, parameter, filters)
    colours = method_colours(
        [
            m
            for per_strength in groups.values()
            for b in per_strength.values()
            for m in b.methods.index
        ]
    )
    fig, axes = subplot_grid(len(groups))
    for ax, ((dataset, scale, seed), per_strength) in zip(axes, groups.items(), strict=True):
        xs = sorted(per_strength)
        # legend best first, as ranked at the mildest strength
        order = list(dict.fromkeys(m for x in xs for m in per_strength[x].order(metric)))
        for method in order:
            _sweep_line(ax, per_strength, metric, method, colours[method])
        ax.set_xticks(xs)
        ax.set_xlabel(f"{name} {parameter}")
        ax.set_ylabel(axis_label(metric))
        ax.set_title(f"{dataset} x{scale}" + (f", seed {seed}" if seed else ""))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return fig


def _sweep_groups(
    frame: Results, metric: str, name: str, parameter: str, filters: dict[str, Any]
) -> dict[tuple[Any, ...], dict[float, Leaderboard]]:
    """The sweep's tables by (dataset, scale, seed), each keyed by its strength.

    Raises:
        MixedResultsError: Fewer than two strengths, or two specs with the same strength.
    """
    if isinstance(frame, pd.DataFrame):
        rows, _ = select_rows(frame, [metric], {k: v for k, v in filters.items() if k in FILTERS})
        specs = sorted(rows["degradation"].unique())
    else:
        specs = sorted({b.context["degradation"] for b in frame})
    strengths = {s: _strength(s, name.lower(), parameter) for s in specs}
    if isinstance(frame, pd.DataFrame):  # only the sweep's rows: other degradations may not mix
        frame = rows[rows["degradation"].map(strengths).notna()]
    found = sorted({v for v in strengths.values() if not math.isnan(v)})
    if len(found) < 2:
        raise MixedResultsError(
            f"a sweep needs {name} at 2 or more {parameter} values; the selection has "
            f"{', '.join(specs) or 'no degradations'}."
        )
    groups: dict[tuple[Any, ...], dict[float, Leaderboard]] = {}
    for board in tables_to_draw(frame, [metric], filters):
        c = board.context
        value = strengths.get(c["degradation"], math.nan)
        if math.isnan(value):
            continue
        per_strength = groups.setdefault((c["dataset"], c["scale"], c["seed"]), {})
        if value in per_strength:
            twins = f"{per_strength[value].context['degradation']} and {c['degradation']}"
            raise MixedResultsError(
                f"{twins} both have {parameter}={value:g}; keep one of them in the frame."
            )
        per_strength[value] = board
    return groups


def _sweep_line(
    ax: Axes,
    per_strength: dict[float, Leaderboard],
    metric: str,
    method: str,
    colour: tuple[float, ...],
) -> None:
    """One method's means over the strengths it has, its intervals as a band; hollow markers
    where it is incomplete."""
    points = [
        (whisker_stats(per_strength[x], metric, [method]).loc[method], x)
        for x in sorted(per_strength)
        if method in per_strength[x].methods.index
    ]
    px = np.array([x for _, x in points])
    mean = np.array([s["mean"] for s, _ in points], dtype=float)
    low = mean - np.array([s["below"] for s, _ in points], dtype=float)
    high = mean + np.array([s["above"] for s, _ in points], dtype=float)
    ax.plot(px, mean, marker="o", color=colour, label=method)
    ax.fill_between(px, low, high, color=colour, alpha=0.2, linewidth=0)
    partial = np.array([not per_strength[x].methods.at[method, "complete"] for _, x in points])
    if partial.any():
        ax.plot(
            px[partial],
            mean[partial],
            "o",
            color=colour,
            markerfacecolor="white",
            label="_incomplete",  # underscore: kept out of the legend
        )


def fidelity_diversity(
    frame: pd.DataFrame, fidelity: str = "psnr", diversity: str = "pixel_std", **filters: Any
) -> Figure:
    """Stochastic methods' fidelity against the diversity of their draws: per table, one point
    per method at (mean ``diversity`` over images, mean of its ``mean`` rows) and a triangle at
    the mean of its ``best`` rows, joined by a line (what best-of-N gains). ``frame`` is store
    rows (the aggregates :mod:`srbench.run.samples` writes); the latest run of each method counts.

    Raises:
        MixedResultsError: The selection has no ``diversity`` rows of ``diversity`` and
            ``fidelity`` aggregates of one method.
    """
    rows = select(frame, **filters, samples="all")
    rows = rows[rows["aggregate"].notna() & rows["error"].isna()]
    means = (
        rows.groupby([*TABLE_KEY, "method", "aggregate", "metric"], sort=False)["value"]
        .mean()
        .unstack("aggregate")
    )
    tables = []
    for key, table in means.groupby(level=list(range(len(TABLE_KEY))), sort=False):
        table = table.droplevel(list(range(len(TABLE_KEY))))
        methods = [
            m
            for m in table.index.get_level_values("method").unique()
            if (m, diversity) in table.index and (m, fidelity) in table.index
        ]
        if methods:
            tables.append((key, table, methods))
    if not tables:
        raise MixedResultsError(
            f"no stochastic method has {fidelity} and {diversity} aggregates in the selection "
            "(run one with --samples 2 or more)."
        )
    colours = method_colours([m for _, _, methods in tables for m in methods])
    fig, axes = subplot_grid(len(tables), (5.2, 4.2))
    for ax, (key, table, methods) in zip(axes, tables, strict=True):
        for name in methods:
            x = table.at[(name, diversity), "diversity"]
            mean, best = table.at[(name, fidelity), "mean"], table.at[(name, fidelity), "best"]
            ax.plot([x, x], [mean, best], color=colours[name], alpha=0.5)
            ax.plot(x, mean, "o", color=colours[name], label=f"{name} (mean)")
            ax.plot(x, best, "^", color=colours[name], label=f"{name} (best of N)")
            ax.annotate(
                name, (x, mean), xytext=(5, 5), textcoords="offset points", fontsize="small"
            )
        dataset, scale, degradation, _seed = key
        ax.set_xlabel(
            "per-pixel std across the draws (0..255)"
            if diversity == "pixel_std"
            else f"{axis_label(diversity)} between the draws"
        )
        ax.set_ylabel(axis_label(fidelity))
        ax.set_title(f"{dataset} x{scale}, {degradation}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small")
    return fig
