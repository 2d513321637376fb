"""Regression checks: compare results with a committed baseline CSV.

A baseline (``srbench baseline``) is a small tidy CSV under ``results/``: per-image values (or
means with their image counts) with every version and the protocol on each row. ``srbench
check`` compares the latest results with it, per (dataset, scale, degradation, seed, method,
metric, protocol):

* a mean that moved in the metric's *worse* direction by more than its tolerance regresses,
  unless per-image values exist on both sides and a one-sided paired test says the move is
  within noise (the test is used only when it could decide with that many images);
* a cell the baseline has and the results lack is ``missing``; images that now fail are
  ``failed``; a different dataset or metric version is ``changed`` (the numbers are no longer
  comparable: re-baseline on purpose);
* moves in the better direction beyond tolerance are ``improved`` (a hint to re-baseline), and
  cells the baseline does not have are ``new``; neither fails a build.

Set-level metrics (FID, KID) have one row per cell (``image`` empty, ``images`` the method's
scored images, ``samples`` the feature samples behind the value): their value is compared with
the tolerance in the metric's direction, with no paired test; a different protocol (such as
another patch size) is ``changed``, and fewer images than the baseline's is ``missing``.
Baselines written before the ``samples`` column existed still load.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from srbench.errors import SrbenchError
from srbench.leaderboard.board import RUNTIME, direction, is_set_metric, select
from srbench.leaderboard.stats import Test, paired_test
from srbench.leaderboard.tables import md_escape
from srbench.store import IDENTITY, SET_IMAGE
from srbench.system.files import atomic_path

__all__ = [
    "BASELINE_COLUMNS",
    "DEFAULT_TOLERANCES",
    "FAILING",
    "BaselineError",
    "Tolerance",
    "check",
    "make_baseline",
    "parse_tolerances",
    "read_baseline",
    "render_findings",
    "write_baseline",
]

#: A baseline row; ``image`` is empty on a mean row, whose ``images`` says how many it averages,
#: and on a set-level row (FID, KID), whose ``images`` are the method's scored images.
BASELINE_COLUMNS = [*IDENTITY, "image", "images", "value"]
#: Columns written since the first baselines; a baseline without them reads them as empty.
OPTIONAL_COLUMNS = ["samples"]
#: What a cell is; every baseline comparison is one cell.
CELL = ["dataset", "scale", "degradation", "seed", "method", "metric", "protocol"]
FAILING = ("regressed", "missing", "failed", "changed")
_TEXT = {c: str for c in BASELINE_COLUMNS if c not in ("scale", "seed", "images", "value")}
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
_OTHER = Tolerance(1e-3, relative=True)


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
    rows = select(frame, metrics=metrics)
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
    set_level = _set_rows(rows)
    sets = rows[set_level]
    if len(sets):
        sets = sets.assign(
            image=SET_IMAGE,
            images=_set_images(sets, frame),
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


def _set_rows(rows: pd.DataFrame) -> pd.Series:
    """Which store rows are set-level values (FID, KID)."""
    kinds = {m: is_set_metric(m, rows) for m in rows["metric"].unique()}
    return rows["metric"].map(kinds).astype(bool)


def _set_images(sets: pd.DataFrame, frame: pd.DataFrame) -> pd.Series:
    """Images scored in the run and table cell of each set-level row (0 when none are stored)."""
    ok = frame[frame["error"].isna() & (frame["image"] != SET_IMAGE)]
    ok = ok[~_set_rows(ok)] if len(ok) else ok
    counts = ok.groupby(_SET_CELL)["image"].nunique().rename("_images")
    found = sets[_SET_CELL].join(counts, on=_SET_CELL)["_images"]
    return found.fillna(0).astype(int)


def write_baseline(baseline: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a baseline CSV atomically (values in full precision, so a rerun compares equal)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        baseline.to_csv(tmp, index=False, float_format="%.17g")
    return path


def read_baseline(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and validate a baseline CSV."""
    path = Path(path)
    if not path.is_file():
        raise BaselineError(
            f"no baseline at {path}; make one with `srbench baseline --out {path}` from a run "
            "you trust, and commit it."
        )
    try:
        frame = pd.read_csv(
            path,
            dtype=_TEXT,
            keep_default_na=False,
            na_values={"value": [""], "samples": [""]},
        )
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path} is not a baseline CSV: {exc}") from None
    missing = [c for c in BASELINE_COLUMNS if c not in frame.columns]
    if missing:
        raise BaselineError(
            f"{path} lacks the column(s) {', '.join(missing)}; regenerate it with "
            "`srbench baseline`."
        )
    if "samples" not in frame.columns:  # written before set-level metrics existed
        frame["samples"] = pd.NA
    try:
        frame["samples"] = pd.to_numeric(frame["samples"]).astype("Int64")
    except (ValueError, TypeError):
        raise BaselineError(f"{path}: the samples column must hold integers.") from None
    return frame


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
    """Compare store rows with a baseline; one :class:`Finding` per cell of either."""
    tolerances = {**DEFAULT_TOLERANCES, **(tolerances or {})}
    rows = select(current, metrics=sorted(set(baseline["metric"])))
    set_level = _set_rows(rows) if len(rows) else pd.Series(False, index=rows.index)
    if set_level.any():
        rows = rows.assign(images=0)
        rows.loc[set_level, "images"] = _set_images(rows[set_level], current).to_numpy()
    cur_cells = dict(tuple(rows.groupby(CELL, sort=False)))
    findings = []
    for cell, base in baseline.groupby(CELL, sort=True):
        tol = tolerances.get(str(cell[5]), _OTHER)
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
    def finding(
        status: str, current: float = math.nan, p: float = math.nan, note: str = ""
    ) -> Finding:
        return Finding(cell, status, float(base["value"].mean()), current, str(tol), p, note)

    if now is None:
        return finding("missing", note="no results for this cell")
    changed = [
        f"{col.replace('_', ' ')} {b} → {n}"
        for col in ("dataset_version", "metric_version", "degradation_version")
        for b, n in [(str(base[col].iloc[0]), str(now[col].iloc[0]))]
        if b != n
    ]
    if changed:
        return finding("changed", note="; ".join(changed) + ": not comparable, re-baseline")
    errors = now[now["error"].notna()]
    if len(errors):
        return finding("failed", note=f"{len(errors)} image(s) failed: {errors['error'].iloc[0]}")
    values = now.set_index("image")["value"]
    per_image = (base["image"] != "").all()
    if per_image:
        base_values = base.set_index("image")["value"]
        lost = base_values.index.difference(values.index)
        if len(lost):
            return finding(
                "missing", note=f"{len(lost)} image(s) not scored: {', '.join(lost[:3])}"
            )
        values = values.loc[base_values.index]
    elif len(values) != int(base["images"].iloc[0]):
        return finding(
            "missing",
            values.mean(),
            note=f"{len(values)} images, baseline {base['images'].iloc[0]}",
        )
    base_mean, cur_mean = float(base["value"].mean()), float(values.mean())
    higher = direction(str(cell[5]))
    worse = (base_mean - cur_mean) if higher is not False else (cur_mean - base_mean)
    limit = tol.limit(base_mean)
    version = ""
    if str(base["method_version"].iloc[0]) != str(now["method_version"].iloc[0]):
        version = (
            f"method version {base['method_version'].iloc[0]} -> {now['method_version'].iloc[0]}"
        )
    if worse > limit:
        if per_image:
            result = paired_test(
                values.to_numpy(),
                base_values.to_numpy(),
                test,
                "less" if higher is not False else "greater",
            )
            if result.decidable(alpha) and not result.significant(alpha):
                return finding("ok", cur_mean, result.p_value, _join(version, "within noise"))
            return finding("regressed", cur_mean, result.p_value, version)
        return finding("regressed", cur_mean, note=version)
    if -worse > limit:
        return finding("improved", cur_mean, note=_join(version, "re-baseline to lock it in"))
    return finding("ok", cur_mean, note=version)


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
    first = now.iloc[0]
    changed = [
        f"{col.replace('_', ' ')} {b} → {n}"
        for col in ("dataset_version", "metric_version", "degradation_version", "protocol")
        for b, n in [(str(base[col].iloc[0]), str(first[col]))]
        if b != n
    ]
    if changed:
        return finding("changed", note="; ".join(changed) + ": not comparable, re-baseline")
    if pd.notna(first["error"]):
        return finding("failed", note=f"not computed: {first['error']}")
    current = float(first["value"])
    images, base_images = int(first.get("images", 0)), int(base["images"].iloc[0])
    if base_images and images and images < base_images:
        return finding("missing", current, note=f"{images} images, baseline {base_images}")
    notes = []
    if str(base["method_version"].iloc[0]) != str(first["method_version"]):
        notes.append(
            f"method version {base['method_version'].iloc[0]} -> {first['method_version']}"
        )
    base_samples = base["samples"].iloc[0] if "samples" in base else pd.NA
    samples = pd.to_numeric(pd.Series([first.get("samples")]), errors="coerce").iloc[0]
    if pd.notna(base_samples) and pd.notna(samples) and int(base_samples) != int(samples):
        notes.append(f"samples {int(base_samples)} → {int(samples)}")
    if not math.isfinite(current):
        return finding("failed", current, _join(*notes, "no value"))
    higher = direction(str(cell[5]))
    worse = (base_value - current) if higher is not False else (current - base_value)
    limit = tol.limit(base_value)
    if worse > limit:
        return finding("regressed", current, _join(*notes))
    if -worse > limit:
        return finding("improved", current, _join(*notes, "re-baseline to lock it in"))
    return finding("ok", current, _join(*notes))


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _fmt(value: float) -> str:
    return "" if value is None or not np.isfinite(value) else f"{value:.6g}"


def render_findings(findings: Sequence[Finding], show_all: bool = False) -> str:
    """A Markdown table (for a terminal or ``$GITHUB_STEP_SUMMARY``) and a one-line verdict."""
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
    if shown:
        header = [
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
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
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
