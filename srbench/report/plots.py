"""Figures from the results store: bars, the perception-distortion plane, per-image distributions,
degradation sweeps, and zoomed visual comparisons.

Every figure is a :class:`matplotlib.figure.Figure` built directly, never through ``pyplot``: no
global state, so figures can be made from threads and servers without a display, and nothing is
shown or leaked. The figure functions read nothing from disk; :func:`save_figure` writes one,
and :mod:`srbench.report.visuals` loads the images :func:`comparison_grid` shows.

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
import os
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from srbench.degradations import DEGRADATIONS
from srbench.errors import SizeMismatchError, SpecError, SrbenchError
from srbench.imageio import rgb2y
from srbench.leaderboard.board import (
    Leaderboard,
    MixedResultsError,
    direction,
    leaderboards,
    select,
)
from srbench.metrics import METRICS
from srbench.specs import split_spec
from srbench.system.files import atomic_path

__all__ = [
    "bars",
    "comparison_grid",
    "distributions",
    "interesting_box",
    "method_colours",
    "perception_distortion",
    "save_figure",
    "sweep",
]

_FILTERS = ("dataset", "scale", "degradation", "seed", "method", "protocol")
_TABLE = ("dataset", "scale", "degradation", "seed")
_PANEL = (4.8, 3.6)  # inches per subplot
_MAX_COLUMNS = 3
# tab10 first (distinct hues), then its lighter twins, so up to 20 methods never share a colour
_PALETTE = [*colormaps["tab20"].colors[0::2], *colormaps["tab20"].colors[1::2]]


# --- shared pieces ------------------------------------------------------------------------------


def method_colours(methods: Sequence[str]) -> dict[str, tuple[float, ...]]:
    """A colour per method, picked from its name so a method keeps its colour across figures.

    The name's CRC picks a slot of the palette (Python's ``hash`` is salted per process); a slot
    already taken moves to the next free one, so methods of one figure never share a colour
    (up to 20).

    Example:
        >>> colours = method_colours(["bicubic", "nearest"])
        >>> colours["bicubic"] != colours["nearest"]
        True
    """
    out: dict[str, tuple[float, ...]] = {}
    used: set[int] = set()
    for name in sorted(set(methods)):
        slot = zlib.crc32(name.encode()) % 10
        for step in range(len(_PALETTE)):
            if (slot + step) % len(_PALETTE) not in used:
                slot = (slot + step) % len(_PALETTE)
                break
        used.add(slot)
        out[name] = tuple(_PALETTE[slot])
    return out


def _axis_label(metric: str) -> str:
    """``PSNR (dB) ↑``, ``LPIPS ↓``: the name, its unit, and which way is better."""
    name = metric.upper() if len(metric) <= 5 else metric.capitalize()
    unit = METRICS.get(metric).unit if metric in METRICS else ""
    arrow = {True: " ↑", False: " ↓"}.get(direction(metric), "")  # type: ignore[arg-type]
    return f"{name}{f' ({unit})' if unit else ''}{arrow}"


def _select(
    frame: pd.DataFrame, metrics: Sequence[str], filters: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The selected rows of ``metrics`` and the leaderboard options left in ``filters``.

    A metric the selection lacks is an error naming the ones it has, rather than an empty plot.
    """
    options = {k: v for k, v in filters.items() if k not in _FILTERS}
    rows = select(frame, **{k: v for k, v in filters.items() if k in _FILTERS})
    present = list(dict.fromkeys(rows["metric"]))
    missing = [m for m in dict.fromkeys(metrics) if m not in present]
    if rows.empty or missing:
        has = f"it has {', '.join(present)}" if present else "it is empty"
        raise MixedResultsError(
            f"no {', '.join(missing or metrics)} values in the selection; {has}."
        )
    return rows[rows["metric"].isin(metrics)].reset_index(drop=True), options


Results = pd.DataFrame | Sequence[Leaderboard]


def _boards(results: Results, metrics: Sequence[str], filters: dict[str, Any]) -> list[Leaderboard]:
    """The tables to draw: computed from store rows, or picked from leaderboards already made
    (a report draws many figures of the same tables and computes each table once)."""
    if isinstance(results, pd.DataFrame):
        rows, options = _select(results, metrics, filters)
        return leaderboards(rows, metrics=list(metrics), **options)
    unsupported = set(filters) - set(_TABLE)
    if unsupported:
        raise MixedResultsError(
            f"{', '.join(sorted(unsupported))} cannot narrow leaderboards already made; "
            "pass store rows instead."
        )
    boards = [
        b
        for b in results
        if all(m in b.metrics for m in metrics)
        and all(b.context[k] in np.atleast_1d(v) for k, v in filters.items())
    ]
    if not boards:
        raise MixedResultsError(f"no table of the selection has {', '.join(metrics)}.")
    return boards


def _grid(count: int, panel: tuple[float, float] = _PANEL) -> tuple[Figure, list[Axes]]:
    columns = min(count, _MAX_COLUMNS)
    rows = math.ceil(count / columns)
    fig = Figure(figsize=(panel[0] * columns, panel[1] * rows), layout="constrained")
    return fig, [fig.add_subplot(rows, columns, i + 1) for i in range(count)]


def _metric_stats(board: Leaderboard, metric: str, order: Sequence[str]) -> pd.DataFrame:
    """Mean and interval of ``metric`` per method in ``order``, with the whisker lengths.

    A set-level metric has no interval: its whiskers are its ``spread`` (KID's standard
    deviation over subsets) or NaN (none drawn).
    """
    stats = board.stats.xs(metric, level="metric").reindex(order)
    mean = stats["mean"].where(np.isfinite(stats["mean"]))  # an infinite PSNR cannot be drawn
    if metric in board.set_metrics:
        spread = stats["spread"].where(np.isfinite(stats["spread"]))
        return pd.DataFrame({"mean": mean, "below": spread, "above": spread})
    # clipped: a percentile interval can miss a skewed mean, and negative whiskers are invalid
    below = (mean - stats["ci_low"]).clip(lower=0)
    above = (stats["ci_high"] - mean).clip(lower=0)
    return pd.DataFrame({"mean": mean, "below": below, "above": above})


def _whiskers(stats: pd.DataFrame, name: str) -> list[list[float]] | None:
    """``[[below], [above]]`` for matplotlib, or None where there is no interval to draw."""
    below, above = stats.at[name, "below"], stats.at[name, "above"]
    return None if np.isnan(below) or np.isnan(above) else [[below], [above]]


def _value_label(boards: Sequence[Leaderboard], metric: str) -> str:
    """The axis label, saying what the whiskers of a set-level metric are."""
    label = _axis_label(metric)
    for board in boards:
        if metric in board.set_metrics:
            spread = board.stats.xs(metric, level="metric")["spread"]
            return label + ("\n(± std over subsets)" if np.isfinite(spread).any() else "")
    return label


def _all_methods(boards: Sequence[Leaderboard]) -> list[str]:
    return [m for board in boards for m in board.methods.index]


# --- figures from the results store ---------------------------------------------------------------


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
    boards = _boards(frame, [metric], filters)
    colours = method_colours(_all_methods(boards))
    fig, axes = _grid(len(boards))
    for ax, board in zip(axes, boards, strict=True):
        order = board.order(metric)
        stats = _metric_stats(board, metric, order)
        ticks = []
        for x, name in enumerate(order):
            complete = bool(board.methods.at[name, "complete"])
            ax.bar(
                x,
                stats.at[name, "mean"],
                yerr=_whiskers(stats, name),
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
        ax.set_ylabel(_value_label([board], metric))
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
    boards = _boards(frame, [x, y], filters)
    colours = method_colours(_all_methods(boards))
    fig, axes = _grid(len(boards), (5.2, 4.2))
    for ax, board in zip(axes, boards, strict=True):
        order = board.order(x)
        xs, ys = _metric_stats(board, x, order), _metric_stats(board, y, order)
        for name in order:
            complete = bool(board.methods.at[name, "complete"])
            px, py = xs.at[name, "mean"], ys.at[name, "mean"]
            ax.errorbar(
                px,
                py,
                xerr=_whiskers(xs, name),
                yerr=_whiskers(ys, name),
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
        ax.set_xlabel(_value_label([board], x))
        ax.set_ylabel(_value_label([board], y))
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
    boards = _boards(frame, [metric], filters)
    if any(metric in b.set_metrics for b in boards):
        raise MixedResultsError(
            f"{metric} is a set-level metric (one value per method, no per-image values); "
            "plot it with bars."
        )
    colours = method_colours(_all_methods(boards))
    # seeded per figure: the same results always draw the same picture
    rng = np.random.default_rng(0)
    fig, axes = _grid(len(boards))
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
        ax.set_ylabel(_axis_label(metric))
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
    if isinstance(frame, pd.DataFrame):
        rows, _ = _select(frame, [metric], {k: v for k, v in filters.items() if k in _FILTERS})
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
    boards = [
        b
        for b in _boards(frame, [metric], filters)
        if not math.isnan(strengths.get(b.context["degradation"], math.nan))
    ]
    groups: dict[tuple[Any, ...], dict[float, Leaderboard]] = {}
    for board in boards:
        c = board.context
        per_strength = groups.setdefault((c["dataset"], c["scale"], c["seed"]), {})
        value = strengths[c["degradation"]]
        if value in per_strength:
            twins = f"{per_strength[value].context['degradation']} and {c['degradation']}"
            raise MixedResultsError(
                f"{twins} both have {parameter}={value:g}; keep one of them in the frame."
            )
        per_strength[value] = board
    colours = method_colours(_all_methods(boards))
    fig, axes = _grid(len(groups))
    for ax, ((dataset, scale, seed), per_strength) in zip(axes, groups.items(), strict=True):
        xs = sorted(per_strength)
        # legend best first, as ranked at the mildest strength
        order = list(dict.fromkeys(m for x in xs for m in per_strength[x].order(metric)))
        for method in order:
            points = [
                (_metric_stats(per_strength[x], metric, [method]).loc[method], x)
                for x in xs
                if method in per_strength[x].methods.index
            ]
            px = np.array([x for _, x in points])
            mean = np.array([s["mean"] for s, _ in points], dtype=float)
            low = mean - np.array([s["below"] for s, _ in points], dtype=float)
            high = mean + np.array([s["above"] for s, _ in points], dtype=float)
            ax.plot(px, mean, marker="o", color=colours[method], label=method)
            ax.fill_between(px, low, high, color=colours[method], alpha=0.2, linewidth=0)
            partial = np.array(
                [not per_strength[x].methods.at[method, "complete"] for _, x in points]
            )
            if partial.any():
                ax.plot(
                    px[partial],
                    mean[partial],
                    "o",
                    color=colours[method],
                    markerfacecolor="white",
                    label="_incomplete",  # underscore: kept out of the legend
                )
        ax.set_xticks(xs)
        ax.set_xlabel(f"{name} {parameter}")
        ax.set_ylabel(_axis_label(metric))
        ax.set_title(f"{dataset} x{scale}" + (f", seed {seed}" if seed else ""))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return fig


# --- visual comparison --------------------------------------------------------------------------


def interesting_box(hr: np.ndarray, size: int, border: int = 0) -> tuple[int, int, int, int]:
    """``(top, left, size, size)``: the square window with the most texture (the highest
    gradient energy of luma), at least ``border`` pixels from the image's edges when it fits.

    Gradient energy rather than variance: variance favours one strong edge (a helmet's rim),
    while SR methods differ most on fine detail (text, fabric, hair).

    Window sums come from an integral image, so every position is scored at once and exactly
    (a centred box filter is ambiguous for even sizes). Ties go to the topmost, then leftmost.

    Example:
        >>> img = np.zeros((64, 64), np.uint8)
        >>> img[40:48, 8:16] = np.indices((8, 8)).sum(axis=0) % 2 * 255
        >>> interesting_box(img, 8)
        (40, 8, 8, 8)
    """
    height, width = hr.shape[:2]
    if not 1 <= size <= min(height, width):
        raise SrbenchError(f"a {size}-pixel box does not fit a {width}x{height} image.")
    if size + 2 * border > min(height, width):
        border = 0
    luma = (rgb2y(hr) if hr.ndim == 3 else hr).astype(np.float64)
    energy = np.zeros((height, width))
    energy[1:, :] += np.diff(luma, axis=0) ** 2
    energy[:, 1:] += np.diff(luma, axis=1) ** 2
    total = np.zeros((height + 1, width + 1))
    total[1:, 1:] = energy.cumsum(0).cumsum(1)
    windows = (
        total[size:, size:] - total[:-size, size:] - total[size:, :-size] + total[:-size, :-size]
    )
    inside = windows[border : height - size - border + 1, border : width - size - border + 1]
    top, left = np.unravel_index(np.argmax(inside), inside.shape)
    return int(top) + border, int(left) + border, size, size


def _format_scores(scores: Mapping[str, float]) -> str:
    parts = []
    for metric, value in scores.items():
        unit = METRICS.get(metric).unit if metric in METRICS else ""
        parts.append(f"{value:.2f} dB" if unit == "dB" else f"{value:.4g} {unit}".strip())
    return " / ".join(parts)


def _show(ax: Axes, image: np.ndarray, caption: str) -> None:
    gray = {"cmap": "gray", "vmin": 0, "vmax": 255} if image.ndim == 2 else {}
    # nearest: a zoomed crop must show the method's pixels, not the viewer's interpolation
    ax.imshow(image, interpolation="nearest", **gray)
    ax.set_title(caption, fontsize="small")
    ax.set_axis_off()


def comparison_grid(
    hr: np.ndarray,
    outputs: Mapping[str, np.ndarray],
    box: tuple[int, int, int, int],
    *,
    title: str = "",
    scores: Mapping[str, Mapping[str, float]] | None = None,
) -> Figure:
    """The whole HR image with ``box`` drawn on it, then the same zoomed crop of HR and of each
    output (in ``outputs`` order), captioned with its label and its ``scores``.

    ``box`` is ``(top, left, height, width)`` in HR pixels (see :func:`interesting_box`);
    ``scores`` maps a label to ``{metric: value}`` (such as ``28.43 dB / 0.8111``).

    Raises:
        SizeMismatchError: An output is not the size of ``hr``.
        SrbenchError: ``box`` is not inside the image.
    """
    height, width = hr.shape[:2]
    top, left, box_h, box_w = box
    if min(box_h, box_w) < 1 or min(top, left) < 0 or top + box_h > height or left + box_w > width:
        raise SrbenchError(f"box {tuple(box)} is not inside the {width}x{height} image.")
    for label, image in outputs.items():
        if image.shape[:2] != (height, width):
            raise SizeMismatchError(
                f"{label} is {image.shape[1]}x{image.shape[0]}, HR is {width}x{height}."
            )
    crops = {"HR": hr, **outputs}
    # at most 4 crops a row, rows filled evenly (5 crops: 3 + 2, not 4 + 1)
    rows = math.ceil(len(crops) / 4)
    columns = math.ceil(len(crops) / rows)
    aspect = box_h / box_w
    # the whole image spans every row of crops; its width follows from its aspect ratio
    whole = float(np.clip(rows * aspect * width / height, 0.6, 4.0))
    unit = 2.6  # inches per crop panel
    fig = Figure(
        figsize=(unit * (whole + columns), unit * rows * aspect + 0.6 * rows + 0.4 * bool(title)),
        layout="constrained",
    )
    grid = fig.add_gridspec(rows, columns + 1, width_ratios=[whole] + [1] * columns)
    overview = fig.add_subplot(grid[:, 0])
    _show(overview, hr, f"HR ({width}x{height})")
    overview.add_patch(
        Rectangle((left - 0.5, top - 0.5), box_w, box_h, fill=False, edgecolor="red", linewidth=1.5)
    )
    window = (slice(top, top + box_h), slice(left, left + box_w))
    for i, (label, image) in enumerate(crops.items()):
        ax = fig.add_subplot(grid[i // columns, 1 + i % columns])
        values = (scores or {}).get(label)
        _show(ax, image[window], f"{label}\n{_format_scores(values)}" if values else label)
    if title:
        fig.suptitle(title)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG atomically (a reader never sees half a file); returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return path
