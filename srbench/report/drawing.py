"""What every results figure shares: which tables to draw, a colour per method, axis labels,
subplot grids, means with their whiskers, and writing a figure to disk.

The tables come from :func:`srbench.leaderboard.select` and
:func:`srbench.leaderboard.leaderboards` (or are leaderboards already made), so a figure shows
exactly the numbers of the tables beside it. Figures are :class:`matplotlib.figure.Figure`
objects built without ``pyplot`` (see :mod:`srbench.report.plots`).
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from srbench.leaderboard.board import Leaderboard, leaderboards
from srbench.leaderboard.selection import MixedResultsError, direction, select
from srbench.metrics import METRICS
from srbench.system.files import atomic_path

__all__ = [
    "FILTERS",
    "TABLE_FILTERS",
    "Results",
    "all_methods",
    "axis_label",
    "method_colours",
    "save_figure",
    "select_rows",
    "subplot_grid",
    "tables_to_draw",
    "value_label",
    "whisker_stats",
    "whiskers",
]

#: The filters that narrow store rows; the others are leaderboard options.
FILTERS = ("dataset", "scale", "degradation", "seed", "method", "protocol")
#: The filters that can pick among leaderboards already made.
TABLE_FILTERS = ("dataset", "scale", "degradation", "seed")
#: What a figure draws: store rows, or leaderboards already made.
Results = pd.DataFrame | Sequence[Leaderboard]
_PANEL = (4.8, 3.6)  # inches per subplot
_MAX_COLUMNS = 3
# tab10 first (distinct hues), then its lighter twins, so up to 20 methods never share a colour
_PALETTE = [*colormaps["tab20"].colors[0::2], *colormaps["tab20"].colors[1::2]]


def method_colours(methods: Sequence[str]) -> dict[str, tuple[float, ...]]:
    """A colour per method, picked from its name so a method keeps its colour across figures.

    The name's CRC picks a slot of the palette (Python's ``hash`` is salted per process); a slot
    already taken moves to the next free one, so methods of one figure never share a colour
    (up to 20).

    Args:
        methods: The figure's method names (repeats are fine).

    Returns:
        An RGB(A) tuple per method name.

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


def axis_label(metric: str) -> str:
    """``PSNR (dB) ↑``, ``LPIPS ↓``: the name, its unit, and which way is better.

    Args:
        metric: The metric's name (an unknown one gets no unit and no arrow).

    Returns:
        The axis label.
    """
    name = metric.upper() if len(metric) <= 5 else metric.capitalize()
    unit = METRICS.get(metric).unit if metric in METRICS else ""
    arrow = {True: " ↑", False: " ↓"}.get(direction(metric), "")  # type: ignore[arg-type]
    return f"{name}{f' ({unit})' if unit else ''}{arrow}"


def select_rows(
    frame: pd.DataFrame, metrics: Sequence[str], filters: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The selected rows of ``metrics`` and the leaderboard options left in ``filters``.

    Args:
        frame: Store rows.
        metrics: The metrics the figure draws.
        filters: A figure's keyword arguments: :data:`FILTERS` and leaderboard options.

    Returns:
        The rows of ``metrics`` chosen by :func:`srbench.leaderboard.select`, and the options.

    Raises:
        MixedResultsError: A metric the selection lacks (the message names the ones it has),
            rather than an empty plot.
    """
    options = {k: v for k, v in filters.items() if k not in FILTERS}
    rows = select(frame, **{k: v for k, v in filters.items() if k in FILTERS})
    present = list(dict.fromkeys(rows["metric"]))
    missing = [m for m in dict.fromkeys(metrics) if m not in present]
    if rows.empty or missing:
        has = f"it has {', '.join(present)}" if present else "it is empty"
        raise MixedResultsError(
            f"no {', '.join(missing or metrics)} values in the selection; {has}."
        )
    return rows[rows["metric"].isin(metrics)].reset_index(drop=True), options


def tables_to_draw(
    results: Results, metrics: Sequence[str], filters: dict[str, Any]
) -> list[Leaderboard]:
    """The tables to draw: computed from store rows, or picked from leaderboards already made
    (a report draws many figures of the same tables and computes each table once).

    Args:
        results: Store rows, or leaderboards.
        metrics: The metrics every table must have.
        filters: The figure's filters and leaderboard options; for leaderboards only
            :data:`TABLE_FILTERS`.

    Returns:
        The leaderboards, one per (dataset, scale, degradation, seed); a table whose rows
        cannot be compared is left out with a warning (``srbench.leaderboard`` logger).

    Raises:
        MixedResultsError: Nothing to draw (the notes say why), or a filter leaderboards
            cannot apply.
    """
    if isinstance(results, pd.DataFrame):
        rows, options = select_rows(results, metrics, filters)
        boards = leaderboards(rows, metrics=list(metrics), **options)  # incomparable: left out
        if not boards:
            raise MixedResultsError(" ".join(s.note() for s in boards.skipped))
        return boards
    unsupported = set(filters) - set(TABLE_FILTERS)
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


def subplot_grid(count: int, panel: tuple[float, float] = _PANEL) -> tuple[Figure, list[Axes]]:
    """A figure of ``count`` subplots, at most three a row.

    Args:
        count: Subplots (one per table or group).
        panel: Inches per subplot (width, height).

    Returns:
        The figure and its axes, row by row.
    """
    columns = min(count, _MAX_COLUMNS)
    rows = math.ceil(count / columns)
    fig = Figure(figsize=(panel[0] * columns, panel[1] * rows), layout="constrained")
    return fig, [fig.add_subplot(rows, columns, i + 1) for i in range(count)]


def whisker_stats(board: Leaderboard, metric: str, order: Sequence[str]) -> pd.DataFrame:
    """Mean of ``metric`` per method in ``order``, with the whisker lengths of its interval.

    A set-level metric has no interval: its whiskers are its ``spread`` (KID's standard
    deviation over subsets) or NaN (none drawn).

    Args:
        board: The table.
        metric: One of its metrics.
        order: Methods, in drawing order.

    Returns:
        ``mean``, ``below`` and ``above`` per method (NaN where nothing can be drawn).
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


def whiskers(stats: pd.DataFrame, name: str) -> list[list[float]] | None:
    """``[[below], [above]]`` for matplotlib, or None where there is no interval to draw.

    Args:
        stats: Rows of :func:`whisker_stats`.
        name: The method.

    Returns:
        The ``xerr``/``yerr`` argument of one point or bar.
    """
    below, above = stats.at[name, "below"], stats.at[name, "above"]
    return None if np.isnan(below) or np.isnan(above) else [[below], [above]]


def value_label(boards: Sequence[Leaderboard], metric: str) -> str:
    """The axis label, saying what the whiskers of a set-level metric are.

    Args:
        boards: The tables on that axis.
        metric: The metric.

    Returns:
        :func:`axis_label`, with a second line when the whiskers are KID's spread.
    """
    label = axis_label(metric)
    for board in boards:
        if metric in board.set_metrics:
            spread = board.stats.xs(metric, level="metric")["spread"]
            return label + ("\n(± std over subsets)" if np.isfinite(spread).any() else "")
    return label


def all_methods(boards: Sequence[Leaderboard]) -> list[str]:
    """Every method of ``boards`` (repeats included), for :func:`method_colours`."""
    return [m for board in boards for m in board.methods.index]


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG atomically (a reader never sees half a file).

    Args:
        fig: The figure.
        path: Where to write it.
        dpi: Resolution.

    Returns:
        ``path``.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return path
