"""Views across methods and tables: paper-style pivots, the per-cell summary, and a paired test
of two methods.

:func:`wide` puts one metric's means of many leaderboards side by side (methods down, dataset
and scale across); :func:`summary` averages every metric per (dataset, scale, degradation,
method) for a quick listing; :func:`compare` tests one method against another on the images
both scored. All three choose rows by the selection rules of
:mod:`srbench.leaderboard.selection`, so they show the numbers the leaderboards show.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from srbench.leaderboard.board import Leaderboard, leaderboard, leaderboards
from srbench.leaderboard.selection import (
    RUNTIME,
    TABLE_KEY,
    MixedResultsError,
    fixed_protocol,
    fold_samples,
    is_set_metric,
    select,
)
from srbench.leaderboard.stats import PairedTest, Test, paired_test
from srbench.store import SET_IMAGE

__all__ = ["compare", "summary", "wide"]

#: A summary row's cell, and the cell with its fidelity protocol (the summary's index).
_CELL = ["dataset", "scale", "degradation", "method"]
_GROUP = ["dataset", "scale", "degradation", "protocol", "method"]


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
    and version per column); incomplete cells are NaN rather than means over fewer images, and
    a table that cannot be compared (:func:`leaderboards`) has no column, with a warning.
    Degradations or seeds that vary become further column levels. ``frame`` may also be
    leaderboards already made (then ``protocol`` must be None: they were made under one).
    """
    if isinstance(frame, pd.DataFrame):
        rows = select(
            frame, metrics=[metric], protocol=protocol, degradation=degradation, seed=seed
        )
        boards = leaderboards(rows, metrics=[metric])  # incomparable cells: left out, logged
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
    scores = fold_samples(scores)  # a stochastic method: its mean and best-of-N rows
    ok = scores[scores["error"].isna()]
    metrics = list(dict.fromkeys(ok["metric"]))
    # set-level rows and metrics with their own protocol join the table by cell, not protocol
    own = {m for m in metrics if fixed_protocol(m) or is_set_metric(m, ok)}
    table = _means(ok, own)
    table = table.join(_image_counts(ok, own), on=_CELL)
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


def _means(ok: pd.DataFrame, own: set[str]) -> pd.DataFrame:
    """Mean per (cell, fidelity protocol) of the fidelity metrics, joined by cell with those
    measured under their own protocol (``own``; runtime is added later)."""
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
    return table


def _image_counts(ok: pd.DataFrame, own: set[str]) -> pd.Series:
    """Images per cell: those of the fidelity metrics, else of any per-image metric."""
    counted = ok[(ok["metric"] != RUNTIME) & (ok["image"] != SET_IMAGE) & ~ok["metric"].isin(own)]
    if counted.empty:  # no fidelity metric: count the images of the per-image ones
        counted = ok[(ok["metric"] != RUNTIME) & (ok["image"] != SET_IMAGE)]
        counted = counted[~counted["metric"].map(lambda m: is_set_metric(m, ok)).astype(bool)]
    return counted.groupby(_CELL)["image"].nunique().rename("images")


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
