"""``srbench check``: compare the latest results with a baseline, cell by cell.

Per (dataset, scale, degradation, seed, method, metric, protocol) cell
(:mod:`srbench.check.baseline`):

* a mean that moved in the metric's *worse* direction by more than its tolerance regresses,
  unless per-image values exist on both sides and a one-sided paired test says the move is
  within noise (the test is used only when it could decide with that many images);
* a cell the baseline has and the results lack is ``missing``; images that now fail are
  ``failed``; a different dataset or metric version is ``changed`` (the numbers are no longer
  comparable: re-baseline on purpose);
* moves in the better direction beyond tolerance are ``improved`` (a hint to re-baseline), and
  cells the baseline does not have are ``new``; neither fails a build.

Set-level metrics (FID, KID) have one value per cell: it is compared with the tolerance in the
metric's direction, with no paired test; a different protocol (such as another patch size) is
``changed``, and fewer images than the baseline's is ``missing``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from srbench.check.baseline import (
    CELL,
    DEFAULT_TOLERANCES,
    OTHER_TOLERANCE,
    Tolerance,
    set_level_images,
    set_level_rows,
)
from srbench.leaderboard.selection import direction, is_set_metric, select
from srbench.leaderboard.stats import Test, paired_test
from srbench.leaderboard.tables import md_escape

__all__ = ["FAILING", "Finding", "check", "render_findings"]

#: The statuses that fail a build.
FAILING = ("regressed", "missing", "failed", "changed")
#: Versions that must match for two values to be compared at all.
_VERSIONS = ("dataset_version", "metric_version", "degradation_version")
_HEADER = [
    "status",
    "dataset",
    "scale",
    "degradation",
    "seed",
    "method",
    "metric",
    "protocol",
    "baseline",
    "current",
    "delta",
    "tolerance",
    "p",
    "note",
]


@dataclass(frozen=True)
class Finding:
    """The comparison of one cell."""

    cell: tuple
    status: str
    baseline: float
    current: float
    tolerance: str
    p_value: float
    note: str

    @property
    def delta(self) -> float:
        """Current minus baseline mean."""
        return self.current - self.baseline


def check(
    current: pd.DataFrame,
    baseline: pd.DataFrame,
    tolerances: Mapping[str, Tolerance] | None = None,
    *,
    alpha: float = 0.05,
    test: Test = "wilcoxon",
) -> list[Finding]:
    """Compare store rows with a baseline; one :class:`Finding` per cell of either.

    Args:
        current: Store rows (the latest run of each cell is compared).
        baseline: Rows of :func:`srbench.check.read_baseline`.
        tolerances: Per metric, how far a mean may move in the worse direction (on top of
            ``DEFAULT_TOLERANCES``; other metrics get ``OTHER_TOLERANCE``).
        alpha: Level of the paired test that can excuse a move as noise.
        test: That test (``wilcoxon`` or ``bootstrap``).

    Returns:
        The baseline's cells in order, then the cells only the results have (``new``).
    """
    tolerances = {**DEFAULT_TOLERANCES, **(tolerances or {})}
    rows = select(current, metrics=sorted(set(baseline["metric"])), samples="mean")
    set_level = set_level_rows(rows) if len(rows) else pd.Series(False, index=rows.index)
    if set_level.any():
        rows = rows.assign(images=0)
        rows.loc[set_level, "images"] = set_level_images(rows[set_level], current).to_numpy()
    cur_cells = dict(tuple(rows.groupby(CELL, sort=False)))
    findings = []
    for cell, base in baseline.groupby(CELL, sort=True):
        tol = tolerances.get(str(cell[5]), OTHER_TOLERANCE)
        now = cur_cells.pop(cell, None)
        if now is not None and _is_set_cell(now):
            findings.append(_compare_set_cell(cell, base, now, tol))
        elif now is None and is_set_metric(str(cell[5])):
            findings.append(_compare_set_cell(cell, base, _other_protocol(cell, cur_cells), tol))
        else:
            findings.append(_compare_cell(cell, base, now, tol, alpha, test))
    for cell, now in cur_cells.items():
        ok = now[now["error"].isna()]["value"]
        findings.append(
            Finding(cell, "new", math.nan, ok.mean(), "", math.nan, "not in the baseline")
        )
    return findings


def _compare_cell(
    cell: tuple,
    base: pd.DataFrame,
    now: pd.DataFrame | None,
    tol: Tolerance,
    alpha: float,
    test: Test,
) -> Finding:
    """One cell of per-image values (or means): comparable at all, complete, then how far it
    moved; a move past the tolerance on per-image values is checked against noise."""

    def finding(
        status: str, current: float = math.nan, p: float = math.nan, note: str = ""
    ) -> Finding:
        return Finding(cell, status, float(base["value"].mean()), current, str(tol), p, note)

    if now is None:
        return finding("missing", note="no results for this cell")
    changed = _changed(base, now, _VERSIONS)
    if changed:
        return finding("changed", note=changed)
    errors = now[now["error"].notna()]
    if len(errors):
        return finding("failed", note=f"{len(errors)} image(s) failed: {errors['error'].iloc[0]}")
    values, base_values, missing = _aligned(base, now)
    if missing:  # a mean row still shows its mean; with images lost none is comparable
        current = values.mean() if base_values is None else math.nan
        return finding("missing", current, note=missing)
    base_mean, cur_mean = float(base["value"].mean()), float(values.mean())
    version = _method_version(base, now)
    move = _move(str(cell[5]), base_mean, cur_mean, tol)
    if move == "worse" and base_values is not None:
        higher = direction(str(cell[5]))
        side = "less" if higher is not False else "greater"
        result = paired_test(values.to_numpy(), base_values.to_numpy(), test, side)
        if result.decidable(alpha) and not result.significant(alpha):
            return finding("ok", cur_mean, result.p_value, _join(version, "within noise"))
        return finding("regressed", cur_mean, result.p_value, version)
    if move == "worse":
        return finding("regressed", cur_mean, note=version)
    if move == "better":
        return finding("improved", cur_mean, note=_join(version, "re-baseline to lock it in"))
    return finding("ok", cur_mean, note=version)


def _aligned(base: pd.DataFrame, now: pd.DataFrame) -> tuple[pd.Series, pd.Series | None, str]:
    """The current values in the baseline's image order, the baseline's per-image values (None
    for a mean row), and why the cell is incomplete ("" when it is not)."""
    values = now.set_index("image")["value"]
    if not (base["image"] != "").all():  # a mean row: only the image count can be checked
        expected = int(base["images"].iloc[0])
        if len(values) != expected:
            return values, None, f"{len(values)} images, baseline {base['images'].iloc[0]}"
        return values, None, ""
    base_values = base.set_index("image")["value"]
    lost = base_values.index.difference(values.index)
    if len(lost):
        return values, base_values, f"{len(lost)} image(s) not scored: {', '.join(lost[:3])}"
    return values.loc[base_values.index], base_values, ""


def _changed(base: pd.DataFrame, now: pd.DataFrame, columns: Sequence[str]) -> str:
    """The note for versions (or a protocol) that differ, making the values incomparable."""
    changed = [
        f"{col.replace('_', ' ')} {b} → {n}"
        for col in columns
        for b, n in [(str(base[col].iloc[0]), str(now[col].iloc[0]))]
        if b != n
    ]
    return "; ".join(changed) + ": not comparable, re-baseline" if changed else ""


def _method_version(base: pd.DataFrame, now: pd.DataFrame) -> str:
    """A note when the method's version changed (its values are still compared)."""
    before, after = base["method_version"].iloc[0], now["method_version"].iloc[0]
    return f"method version {before} -> {after}" if str(before) != str(after) else ""


def _move(metric: str, base: float, current: float, tol: Tolerance) -> str:
    """``worse`` or ``better`` when ``current`` moved past the tolerance, else ``""``."""
    worse = (base - current) if direction(metric) is not False else (current - base)
    limit = tol.limit(base)
    if worse > limit:
        return "worse"
    return "better" if -worse > limit else ""


def _is_set_cell(now: pd.DataFrame) -> bool:
    return is_set_metric(str(now["metric"].iloc[0]), now)


def _other_protocol(cell: tuple, cur_cells: dict[tuple, pd.DataFrame]) -> pd.DataFrame | None:
    """The current rows of a set-level cell measured under another protocol (another patch
    size, say), taken out of ``cur_cells``: the baseline's value is not comparable with them."""
    same = [k for k in cur_cells if k[:6] == cell[:6]]
    return cur_cells.pop(same[0]) if len(same) == 1 else None


def _compare_set_cell(
    cell: tuple, base: pd.DataFrame, now: pd.DataFrame | None, tol: Tolerance
) -> Finding:
    """One set-level value against the baseline's: tolerance and direction, no paired test."""
    base_value = float(base["value"].iloc[0])

    def finding(status: str, current: float = math.nan, note: str = "") -> Finding:
        return Finding(cell, status, base_value, current, str(tol), math.nan, note)

    if now is None:
        return finding("missing", note="no results for this cell")
    changed = _changed(base, now, (*_VERSIONS, "protocol"))
    if changed:
        return finding("changed", note=changed)
    first = now.iloc[0]
    if pd.notna(first["error"]):
        return finding("failed", note=f"not computed: {first['error']}")
    current = float(first["value"])
    images, base_images = int(first.get("images", 0)), int(base["images"].iloc[0])
    if base_images and images and images < base_images:
        return finding("missing", current, note=f"{images} images, baseline {base_images}")
    notes = [_method_version(base, now), _samples_note(base, first)]
    if not math.isfinite(current):
        return finding("failed", current, _join(*notes, "no value"))
    move = _move(str(cell[5]), base_value, current, tol)
    if move == "worse":
        return finding("regressed", current, _join(*notes))
    if move == "better":
        return finding("improved", current, _join(*notes, "re-baseline to lock it in"))
    return finding("ok", current, _join(*notes))


def _samples_note(base: pd.DataFrame, first: pd.Series) -> str:
    """A note when a set-level value now comes from another number of feature samples."""
    base_samples = base["samples"].iloc[0] if "samples" in base else pd.NA
    samples = pd.to_numeric(pd.Series([first.get("samples")]), errors="coerce").iloc[0]
    if pd.notna(base_samples) and pd.notna(samples) and int(base_samples) != int(samples):
        return f"samples {int(base_samples)} → {int(samples)}"
    return ""


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _fmt(value: float) -> str:
    return "" if value is None or not np.isfinite(value) else f"{value:.6g}"


def render_findings(findings: Sequence[Finding], show_all: bool = False) -> str:
    """A Markdown table (for a terminal or ``$GITHUB_STEP_SUMMARY``) and a one-line verdict.

    Args:
        findings: The result of :func:`check`.
        show_all: Also list the cells that are ``ok``.

    Returns:
        The verdict line (with a tally per status), then the table of the cells shown,
        failing ones first.
    """
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.status] = counts.get(f.status, 0) + 1
    failing = sum(counts.get(s, 0) for s in FAILING)
    verdict = (
        f"**srbench check: {failing} of {len(findings)} cells regressed**"
        if failing
        else f"**srbench check: no regression in {len(findings)} cells**"
    )
    tally = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    shown = [f for f in findings if show_all or f.status != "ok"]
    lines = [f"{verdict} ({tally})", ""]
    if not shown:
        return "\n".join(lines)
    lines += ["| " + " | ".join(_HEADER) + " |", "|" + "---|" * len(_HEADER)]
    order = {s: i for i, s in enumerate((*FAILING, "improved", "new", "ok"))}
    for f in sorted(shown, key=lambda f: order.get(f.status, 99)):
        cells = [
            f.status.upper() if f.status in FAILING else f.status,
            *(md_escape(c) for c in f.cell[:4]),
            *(md_escape(c) for c in f.cell[4:]),
            _fmt(f.baseline),
            _fmt(f.current),
            _fmt(f.delta),
            f.tolerance,
            _fmt(f.p_value),
            md_escape(f.note),
        ]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)
