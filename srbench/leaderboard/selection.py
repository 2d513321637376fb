"""Which store rows count, and what kind of metric each one is.

Every consumer (tables, plots, reports, regression checks) selects rows through :func:`select`,
so they agree on two rules:

* **The latest run wins.** For each (dataset, scale, degradation, seed, method) the rows of the
  most recent run that scored it are used (the store lists runs by start time), so re-running a
  method replaces its numbers instead of averaging old and new. Pass run ids to choose others.
* **Nothing incomparable shares a column.** A metric column has one protocol and one metric
  version; a table has one dataset version, degradation version and seed. Anything else raises
  :class:`IncomparableError` (a :class:`MixedResultsError`), saying which values were found, in
  which runs, and how to choose one; :func:`srbench.leaderboard.leaderboards` leaves such a
  table out with that note and makes the others.

* **A stochastic method counts by its aggregates.** Its per-draw rows are summarised
  (:func:`fold_samples`): tables show its ``mean`` and ``best`` rows as two methods labelled
  ``<label> (mean of N)`` and ``<label> (best of N)``; regression checks (``samples="mean"``)
  see the mean under the method's own label. Draws of a run made with ``--samples 1`` (no
  aggregates) count as the method itself; ``diversity`` rows are for plots only.

Metrics defined on RGB (``MetricInfo.inputs == "rgb"``: LPIPS, FID, KID) and ``runtime`` are
measured under their own protocol whatever ``--protocol`` says (:func:`fixed_protocol`), so a
protocol filter never drops them. Pure pandas and numpy, no file IO.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from srbench.errors import SrbenchError
from srbench.metrics import METRICS
from srbench.store import SET_IMAGE

__all__ = [
    "RUNTIME",
    "TABLE_KEY",
    "IncomparableError",
    "MixedResultsError",
    "direction",
    "fixed_protocol",
    "fold_samples",
    "is_set_metric",
    "select",
]

RUNTIME = "runtime"
#: A table is one (dataset, scale, degradation, seed).
TABLE_KEY = ["dataset", "scale", "degradation", "seed"]


class MixedResultsError(SrbenchError):
    """Rows that must not be averaged or compared together (protocols, versions, seeds)."""


class IncomparableError(MixedResultsError):
    """One table's rows were measured differently (dataset, degradation or metric version, or
    protocol): the table cannot be made, though the store's other tables can."""


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


#: How a stochastic method's rows are shown (:func:`fold_samples`; ``all``: as stored).
SAMPLE_VIEWS = ("board", "mean", "all")
_FOLDED = re.compile(r" \((mean|best) of \d+\)$")


def fold_samples(frame: pd.DataFrame, view: str = "board") -> pd.DataFrame:
    """Store rows with each stochastic method's draws replaced by its aggregates.

    For a (run, method) with aggregate rows its per-draw rows and ``diversity`` rows are left
    out; ``view="board"`` relabels the ``mean`` and ``best`` rows ``<label> (mean of N)`` and
    ``<label> (best of N)``, ``view="mean"`` keeps the ``mean`` rows under ``<label>`` and drops
    the ``best`` ones; ``view="all"`` changes nothing. The kept aggregates lose their
    ``aggregate`` and ``samples`` marks, so they read like any per-image row. Rows of
    deterministic methods (and frames without the columns) pass unchanged.

    Example:
        >>> rows = pd.DataFrame({"run_id": "r", "method": "m", "value": [1.0, 3.0, 2.0, 3.0],
        ...     "sample": [0, 1, None, None], "aggregate": [None, None, "mean", "best"],
        ...     "samples": [None, None, 2, 2]})
        >>> fold_samples(rows)[["method", "value"]].values.tolist()
        [['m (mean of 2)', 2.0], ['m (best of 2)', 3.0]]
    """
    if view not in SAMPLE_VIEWS:
        raise ValueError(f"view must be one of {SAMPLE_VIEWS}, got {view!r}")
    if view == "all" or "aggregate" not in frame.columns or frame["aggregate"].isna().all():
        return frame
    kind = frame["aggregate"]
    owners = frame.loc[kind.notna(), ["run_id", "method"]].drop_duplicates()
    summarised = pd.MultiIndex.from_frame(frame[["run_id", "method"]]).isin(
        pd.MultiIndex.from_frame(owners)
    )
    drawn = frame["sample"].notna() & kind.isna() & summarised
    keep = kind.isin(["mean", "best"] if view == "board" else ["mean"]) | (kind.isna() & ~drawn)
    out = frame[keep].copy()
    marked = out["aggregate"].notna()
    if view == "board":
        counts = out.loc[marked, "samples"].astype("int64").astype(str)
        out.loc[marked, "method"] = (
            out.loc[marked, "method"] + " (" + out.loc[marked, "aggregate"] + " of " + counts + ")"
        )
    out.loc[marked, ["aggregate", "samples"]] = None
    return out.reset_index(drop=True)


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
    samples: str = "board",
) -> pd.DataFrame:
    """Filter store rows, then keep the latest run of each (dataset, scale, degradation, seed,
    method). ``protocol`` (``y``, ``rgb`` or a full key such as ``y-shave4``) filters the metrics
    that follow ``--protocol`` (PSNR, SSIM, unknown metrics), not those measured under their own
    protocol (:func:`fixed_protocol`: ``runtime``, timed on a device, and the RGB-defined
    LPIPS, FID, KID). A stochastic method's draws are folded into its aggregates first
    (:func:`fold_samples`, ``samples`` its view); ``method`` matches both its own label and
    the folded ones (``<label> (mean of N)``)."""
    rows = fold_samples(frame, samples)
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
            found = rows[column].isin(values)
            if column == "method":
                found |= rows[column].str.replace(_FOLDED, "", regex=True).isin(values)
            rows = rows[found]
    if protocol is not None:
        fixed = rows["metric"].map(fixed_protocol).astype(bool)
        rows = rows[fixed | _matches(rows["protocol"], protocol)]
    if rows.empty:
        return rows.reset_index(drop=True)
    cells = [*TABLE_KEY, "method"]
    last = rows.drop_duplicates(cells, keep="last")[[*cells, "run_id"]]
    return rows.merge(last, on=[*cells, "run_id"]).reset_index(drop=True)
