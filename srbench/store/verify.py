"""``srbench verify``: the health of a results folder, and the quarantine of what is damaged.

:func:`verify_store` lists every run with its state (``complete``, ``running`` while a process
holds its lock, ``interrupted``, ``killed`` when it stopped without saying so), every file a
reader cannot use and why (:mod:`srbench.store.damage`), and what readers would read
ambiguously: keys stored twice with different values, rows of another run id, manifests
without the settings a resume needs. :func:`quarantine` moves the damaged files under
``<results>/quarantine/<run_id>/`` (a run whose manifest is unusable moves whole), never
deleting anything, after which every reader is clean and ``srbench run --resume RUN_ID``
recomputes the cells of the files moved aside.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from srbench.errors import RunError
from srbench.store.damage import (
    QUARANTINE,
    Damage,
    DamagedFileError,
    parse_manifest,
    quarantine_path,
    read_rows_file,
)
from srbench.store.reader import rows_files
from srbench.store.schema import MANIFEST, ROW_KEY
from srbench.store.writer import try_lock

__all__ = [
    "Moved",
    "RunHealth",
    "StoreHealth",
    "check_run",
    "quarantine",
    "quarantine_lines",
    "verify_store",
]

_STATES = {"complete": "complete", "interrupted": "interrupted", "running": "killed"}


@dataclass
class RunHealth:
    """One run folder as :func:`verify_store` found it.

    Attributes:
        run_dir: The folder.
        state: ``complete``, ``running`` (a process holds its lock now), ``interrupted``,
            ``killed`` (stopped while running), ``no manifest`` or ``unreadable manifest``.
        rows: Readable rows, each key once (None when the manifest is unusable).
        damage: Files readers leave out; :func:`quarantine` moves them.
        problems: What readers read but a person should fix (reported, never moved).
        notes: Harmless findings (repeated identical rows, temporary files of a killed write).
    """

    run_dir: Path
    state: str
    rows: int | None = None
    damage: list[Damage] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        """The run's id (its folder's name)."""
        return self.run_dir.name

    @property
    def whole_run(self) -> bool:
        """Whether the manifest is unusable, so the whole run is left out (and moved)."""
        return any(d.kind == "manifest" for d in self.damage)

    @property
    def ok(self) -> bool:
        """No damaged file and no problem."""
        return not self.damage and not self.problems


@dataclass
class StoreHealth:
    """A results folder as :func:`verify_store` found it: its runs and store-wide notes."""

    results: Path
    runs: list[RunHealth]
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Whether every run is readable in full and unambiguous (exit status 0)."""
        return all(r.ok for r in self.runs)

    def lines(self, quarantining: bool = False) -> list[str]:
        """The report ``srbench verify`` prints: one line per run, one per finding, a verdict
        (which says how to move the damaged files aside, unless ``quarantining`` already)."""
        lines = [f"{self.results / 'runs'}: {len(self.runs)} run(s)"]
        width = max((len(r.run_id) for r in self.runs), default=0)
        states = max((len(r.state) for r in self.runs), default=0)
        for run in self.runs:
            rows = "-" if run.rows is None else str(run.rows)
            verdict = ", ".join(
                [
                    *([f"{len(run.damage)} damaged"] if run.damage else []),
                    *([_count(len(run.problems), "problem")] if run.problems else []),
                ]
            )
            lines.append(
                f"  {run.run_id:{width}}  {run.state:{states}}  {rows:>7} rows  {verdict or 'ok'}"
            )
            lines += [f"    damaged: {_describe(d)}" for d in run.damage]
            lines += [f"    problem: {p}" for p in run.problems]
            lines += [f"    note: {n}" for n in run.notes]
        lines += [f"note: {n}" for n in self.notes]
        damaged = sum(len(r.damage) for r in self.runs)
        problems = sum(len(r.problems) for r in self.runs)
        if self.clean:
            rows = sum(r.rows or 0 for r in self.runs)
            lines.append(f"clean: {_count(len(self.runs), 'run')}, {rows} rows, nothing damaged.")
            return lines
        where = shlex.quote(str(self.results))
        verdict = f"found {_count(damaged, 'damaged file')} and {_count(problems, 'problem')}."
        if damaged and not quarantining:
            verdict += (
                f" `srbench verify --results {where} --quarantine` moves the damaged files to "
                f"{self.results / QUARANTINE} (nothing is deleted); readers leave them out "
                "until then, each with a warning."
            )
        lines.append(verdict)
        return lines


@dataclass(frozen=True)
class Moved:
    """A file (or a whole run) :func:`quarantine` moved, or could not move and why."""

    damage: Damage
    target: Path | None
    why_not: str = ""


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _describe(damage: Damage) -> str:
    if damage.path == damage.run_dir:
        return f"the run folder {damage.reason}"
    return f"{damage.name} {damage.reason}"


def verify_store(
    results: str | os.PathLike[str] = "results", runs: Sequence[str] | None = None
) -> StoreHealth:
    """Check every run of ``results`` (or the given run ids); reads, never writes.

    Raises:
        RunError: A given run id has no folder.
    """
    results = Path(results)
    root = results / "runs"
    if runs:
        dirs = [root / r for r in runs]
        missing = [d.name for d in dirs if not d.is_dir()]
        if missing:
            raise RunError(f"no run {', '.join(missing)} in {root}.")
    else:
        dirs = sorted(p for p in root.glob("*") if p.is_dir() and not p.name.startswith("."))
    health = StoreHealth(results, [check_run(d) for d in dirs])
    if not runs:
        stray = sorted(p.name for p in root.glob("*") if not p.is_dir())
        if stray:
            health.notes.append(
                f"{root} holds files that are not runs (ignored): {', '.join(stray)}"
            )
    held = [
        p for p in (results / QUARANTINE).rglob("*") if p.is_file() and not p.name.startswith(".")
    ]
    if held:
        health.notes.append(
            f"{results / QUARANTINE} holds {_count(len(held), 'file')} moved aside earlier "
            "(never read; delete them once you no longer need them)."
        )
    return health


def check_run(run_dir: Path) -> RunHealth:
    """One run folder's state, damaged files, problems and notes."""
    lock = try_lock(run_dir, create=False)
    if lock is not None:
        lock.close()
    try:
        manifest = parse_manifest(run_dir)
    except DamagedFileError as exc:
        if lock is None and exc.damage.path == run_dir:  # being created right now
            return RunHealth(run_dir, "running", notes=["its manifest is being written"])
        state = "no manifest" if exc.damage.path == run_dir else "unreadable manifest"
        return RunHealth(run_dir, state, damage=[exc.damage])
    state = "running" if lock is None else _STATES.get(str(manifest.get("status")), "unknown")
    health = RunHealth(run_dir, state, problems=_manifest_problems(manifest, run_dir))
    frames = []
    for path in rows_files(run_dir):
        try:
            table = read_rows_file(path, run_dir)
        except FileNotFoundError:  # merged and removed while we looked
            continue
        except DamagedFileError as exc:
            health.damage.append(exc.damage)
            continue
        frames.append(table.to_pandas().assign(_file=path.relative_to(run_dir).as_posix()))
    rows = pd.concat(frames, ignore_index=True) if frames else None
    health.rows = 0 if rows is None else int((~rows.duplicated(list(ROW_KEY))).sum())
    if rows is not None:
        _check_rows(rows, health)
    if state in ("killed", "interrupted"):
        health.notes.append(
            f"it stopped before the end: `srbench run --resume {run_dir.name} --results "
            f"{shlex.quote(str(run_dir.parent.parent))}` computes its missing cells."
        )
    scores = run_dir / "scores.parquet"
    if state == "complete" and not scores.exists():
        health.problems.append(
            f"the run is complete but its scores.parquet is missing (moved to the quarantine?): "
            f"`srbench run --resume {run_dir.name} --results "
            f"{shlex.quote(str(run_dir.parent.parent))}` recomputes its cells."
        )
    leftovers = [p for d in (run_dir, run_dir / "parts") for p in d.glob(".*.tmp")]
    if leftovers:
        health.notes.append(
            f"{_count(len(leftovers), 'temporary file')} of a killed write (never read; harmless)."
        )
    return health


def _manifest_problems(manifest: dict[str, Any], run_dir: Path) -> list[str]:
    """What a readable manifest lacks for the readers and ``--resume``."""
    problems = []
    if manifest.get("run_id") != run_dir.name:
        problems.append(
            f"{MANIFEST} names run {manifest.get('run_id')!r}, not the folder's {run_dir.name!r} "
            "(renamed or copied?)."
        )
    if not isinstance(manifest.get("config"), dict):
        problems.append(f"{MANIFEST} has no config: the run cannot be resumed.")
    datasets = manifest.get("datasets", [])
    if not isinstance(datasets, list) or not all(
        isinstance(d, dict) and isinstance(d.get("name"), str) for d in datasets
    ):
        problems.append(
            f"{MANIFEST} lists its datasets in another shape: tables cannot tell complete "
            "methods from incomplete ones by the dataset's size."
        )
    return problems


def _check_rows(rows: pd.DataFrame, health: RunHealth) -> None:
    """Repeated keys (harmless when identical, a problem when they differ) and rows of
    another run."""
    columns = [c for c in rows.columns if c != "_file"]
    repeated = rows.duplicated(list(ROW_KEY))
    if repeated.any():
        distinct = rows.drop_duplicates(columns)
        clash = distinct[distinct.duplicated(list(ROW_KEY), keep=False)]
        same = len(rows) - len(distinct)
        if same:
            health.notes.append(
                f"{same} row(s) stored twice with the same values (a merge not cleaned up; "
                "readers count each once)."
            )
        if len(clash):
            first = clash.iloc[0]
            where = ", ".join(clash.loc[_same_key(clash, first), "_file"].astype(str))
            health.problems.append(
                f"{clash.drop_duplicates(list(ROW_KEY)).shape[0]} key(s) stored with different "
                f"values, e.g. {first['method']} on {first['dataset']}/{first['image']} "
                f"x{first['scale']} {first['metric']} (in {where}); readers take the first "
                "(scores.parquet, then parts by name). Re-run those cells in a new run."
            )
    foreign = rows.loc[rows["run_id"] != health.run_id, "run_id"]
    if len(foreign):
        health.problems.append(
            f"{len(foreign)} row(s) carry run id {', '.join(sorted(set(foreign)))}, not "
            f"{health.run_id!r} (copied from another run?)."
        )


def _same_key(frame: pd.DataFrame, row: pd.Series) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for key in ROW_KEY:
        mask &= (frame[key] == row[key]) | (frame[key].isna() & pd.isna(row[key]))
    return mask


def quarantine(health: StoreHealth) -> list[Moved]:
    """Move every damaged file of ``health`` under ``<results>/quarantine/<run_id>/`` (a run
    whose manifest is unusable moves whole); runs being written now are left alone.

    Returns:
        One entry per damaged file: where it went, or why it stayed.
    """
    moved = []
    for run in health.runs:
        if not run.damage:
            continue
        lock = try_lock(run.run_dir, create=False)
        if lock is None:
            moved += [Moved(d, None, "the run is being written now") for d in run.damage]
            continue
        try:
            if run.whole_run:
                target = quarantine_path(run.run_dir, run.run_dir)
                moved += [Moved(d, target) for d in run.damage]
            else:
                moved += [Moved(d, quarantine_path(d.path, run.run_dir)) for d in run.damage]
        finally:
            lock.close()
    return moved


def quarantine_lines(moved: Sequence[Moved], results: Path) -> list[str]:
    """What :func:`quarantine` did, and what to run next."""
    lines = []
    where = shlex.quote(str(results))
    resume: dict[str, None] = {}
    again: dict[str, None] = {}
    for item in moved:
        d = item.damage
        if item.target is None:
            lines.append(f"not moved: {d.path} ({item.why_not}; verify again once it ends)")
        elif d.kind == "manifest":
            if d.run_id not in again:
                lines.append(f"moved {d.run_dir} -> {item.target} (the whole run: {_describe(d)})")
            again[d.run_id] = None
        else:
            lines.append(f"moved {d.path} -> {item.target}")
            resume[d.run_id] = None
    lines += [
        f"next: `srbench run --resume {run_id} --results {where}` recomputes the cells of the "
        "files moved aside."
        for run_id in resume
    ]
    lines += [
        f"next: run {run_id} moved whole, since without its manifest its settings and place in "
        "time are unknown; run its grid again to replace it."
        for run_id in again
    ]
    return lines
