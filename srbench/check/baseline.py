"""Regression baselines: the committed CSV that ``srbench check`` compares results with.

A baseline (``srbench baseline``) is a small tidy CSV under ``results/``: per-image values (or
means with their image counts) with every version and the protocol on each row, one cell per
(dataset, scale, degradation, seed, method, metric, protocol). Set-level metrics (FID, KID)
have one row per cell (``image`` empty, ``images`` the method's scored images, ``samples`` the
feature samples behind the value). Baselines written before the ``samples`` column existed
still load. The tolerances say how far a mean may move in the worse direction before
:func:`srbench.check.check` calls it a regression. The file itself is written and read
(validated) by :mod:`srbench.check.csvfile`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from srbench.errors import SrbenchError
from srbench.leaderboard.selection import RUNTIME, is_set_metric, select
from srbench.store import IDENTITY, SET_IMAGE

__all__ = [
    "BASELINE_COLUMNS",
    "CELL",
    "DEFAULT_TOLERANCES",
    "OTHER_TOLERANCE",
    "BaselineError",
    "Tolerance",
    "make_baseline",
    "parse_tolerances",
    "set_level_images",
    "set_level_rows",
]

#: A baseline row; ``image`` is empty on a mean row, whose ``images`` says how many it averages,
#: and on a set-level row (FID, KID), whose ``images`` are the method's scored images.
BASELINE_COLUMNS = [*IDENTITY, "image", "images", "value"]
#: Columns written since the first baselines; a baseline without them reads them as empty.
OPTIONAL_COLUMNS = ["samples"]
#: What a cell is; every baseline comparison is one cell.
CELL = ["dataset", "scale", "degradation", "seed", "method", "metric", "protocol"]
#: The run and table cell a set-level value belongs to (its images are that cell's images).
_SET_CELL = ["run_id", "dataset", "scale", "degradation", "seed", "method"]


class BaselineError(SrbenchError):
    """A baseline file is missing, malformed, or cannot be made from the given results."""


@dataclass(frozen=True)
class Tolerance:
    """How far a mean may move in the worse direction: absolute, or relative to the baseline."""

    amount: float
    relative: bool = False

    def limit(self, baseline: float) -> float:
        """The allowed move for a baseline mean."""
        return self.amount * abs(baseline) if self.relative else self.amount

    def __str__(self) -> str:
        return f"{self.amount:.3g}" if not self.relative else f"{self.amount * 100:.3g}%"


#: PSNR to a hundredth of a dB and SSIM to 1e-4 (beyond the digits papers print, above float
#: noise across platforms); timings vary by machine load, so runtime gets half its value.
DEFAULT_TOLERANCES = {
    "psnr": Tolerance(0.01),
    "ssim": Tolerance(1e-4),
    RUNTIME: Tolerance(0.5, relative=True),
}
#: Any other metric may move by a thousandth of its baseline value.
OTHER_TOLERANCE = Tolerance(1e-3, relative=True)


def parse_tolerances(text: str) -> dict[str, Tolerance]:
    """``psnr=0.02,ssim=5e-4,lpips=1%`` -> tolerances (a trailing ``%`` makes one relative).

    Example:
        >>> parse_tolerances("psnr=0.02, runtime=25%")["runtime"]
        Tolerance(amount=0.25, relative=True)
    """
    out: dict[str, Tolerance] = {}
    for item in (t.strip() for t in text.split(",") if t.strip()):
        name, sep, value = item.partition("=")
        try:
            relative = value.strip().endswith("%")
            amount = float(value.strip().rstrip("%")) / (100 if relative else 1)
        except ValueError:
            amount, relative = math.nan, False
        if not sep or not name.strip() or not math.isfinite(amount) or amount < 0:
            raise BaselineError(
                f"bad tolerance {item!r}; write METRIC=AMOUNT or METRIC=PERCENT%, "
                "e.g. psnr=0.02,ssim=5e-4,runtime=25%."
            )
        out[name.strip().lower()] = Tolerance(amount, relative)
    return out


def make_baseline(
    frame: pd.DataFrame, metrics: Sequence[str] | None = None, per_image: bool = True
) -> pd.DataFrame:
    """Baseline rows from store rows (latest run of each cell; runtime left out unless asked).

    Set-level rows (FID, KID) are kept as they are in both modes, with ``images`` the number
    of images their method scored and their ``samples``.

    Raises:
        BaselineError: Nothing to record, or the results have failed cells (a baseline records
            what works; fix or drop the failing method first).
    """
    metrics = metrics or sorted(set(frame["metric"]) - {RUNTIME})
    rows = select(frame, metrics=metrics, samples="mean")
    if rows.empty:
        raise BaselineError("no results to make a baseline from; run `srbench run` first.")
    failed = rows[rows["error"].notna()]
    if len(failed):
        first = failed.iloc[0]
        raise BaselineError(
            f"{failed[CELL[:5] + ['image']].drop_duplicates().shape[0]} cell(s) failed (e.g. "
            f"{first['method']} on {first['dataset']}/{first['image']}: {first['error']}); "
            "a baseline records working results."
        )
    rows = rows.assign(images=1)
    set_level = set_level_rows(rows)
    sets = rows[set_level]
    if len(sets):
        sets = sets.assign(
            image=SET_IMAGE,
            images=set_level_images(sets, frame),
            samples=pd.to_numeric(sets["samples"], errors="coerce"),
        )
    rows = rows[~set_level].assign(samples=pd.NA)
    if not per_image and len(rows):
        keys = [c for c in BASELINE_COLUMNS if c not in ("image", "images", "value")]
        rows = (
            rows.groupby(keys, sort=False, dropna=False)
            .agg(value=("value", "mean"), images=("image", "nunique"))
            .reset_index()
            .assign(image="", samples=pd.NA)
        )
    out = pd.concat([rows, sets]) if len(sets) else rows
    out = out[[*BASELINE_COLUMNS, *OPTIONAL_COLUMNS]].astype({"samples": "Int64"})
    return out.sort_values([*CELL, "image"], ignore_index=True)


def set_level_rows(rows: pd.DataFrame) -> pd.Series:
    """Which store rows are set-level values (FID, KID).

    Args:
        rows: Store rows.

    Returns:
        A boolean mask aligned with ``rows``.
    """
    kinds = {m: is_set_metric(m, rows) for m in rows["metric"].unique()}
    return rows["metric"].map(kinds).astype(bool)


def set_level_images(sets: pd.DataFrame, frame: pd.DataFrame) -> pd.Series:
    """Images scored in the run and table cell of each set-level row (0 when none are stored).

    Args:
        sets: Set-level store rows (FID, KID).
        frame: The store rows they came with (the per-image rows are counted).

    Returns:
        The image counts, aligned with ``sets``.
    """
    ok = frame[frame["error"].isna() & (frame["image"] != SET_IMAGE)]
    ok = ok[~set_level_rows(ok)] if len(ok) else ok
    counts = ok.groupby(_SET_CELL)["image"].nunique().rename("_images")
    found = sets[_SET_CELL].join(counts, on=_SET_CELL)["_images"]
    return found.fillna(0).astype(int)
