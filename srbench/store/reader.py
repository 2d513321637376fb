"""Reading the store: a run's rows, run folders in time order, and :func:`load_results`, the
one loader every consumer (leaderboards, plots, reports, checks) reads through.

The reader takes the union of ``scores.parquet`` and the parts and drops repeated keys, so a kill
between the merge and the removal of the parts duplicates nothing.

A damaged file never stops a reader (:mod:`srbench.store.damage`): an unreadable rows file is
left out, a run whose manifest is missing or unreadable is left out, each with one warning
through the ``srbench.store`` logger naming the file and the repair, and every other row is read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srbench.errors import RunError
from srbench.store.damage import (
    Damage,
    DamagedFileError,
    logger,
    parse_manifest,
    read_rows_file,
)
from srbench.store.schema import MANIFEST, ROW_KEY, empty_frame, to_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "dataset_sizes",
    "load_manifests",
    "load_results",
    "load_store",
    "read_manifest",
    "read_run",
    "rows_files",
    "run_dirs",
    "runs_with_manifests",
    "scan_run",
]


def read_manifest(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a run folder.

    Raises:
        RunError: The folder has no manifest (it is not an srbench run).
        DamagedFileError: The manifest is unreadable or not a JSON object (a ``RunError`` too).
    """
    run_dir = Path(run_dir)
    if not (run_dir / MANIFEST).exists():
        raise RunError(f"{run_dir} is not an srbench run (no {MANIFEST}).")
    return parse_manifest(run_dir)


def rows_files(run_dir: str | os.PathLike[str]) -> list[Path]:
    """The rows files of a run, in reading order: ``scores.parquet``, then the parts by name."""
    run_dir = Path(run_dir)
    scores = run_dir / "scores.parquet"
    return [*([scores] if scores.is_file() else []), *sorted((run_dir / "parts").glob("*.parquet"))]


def scan_run(run_dir: str | os.PathLike[str]) -> tuple[pd.DataFrame, list[Damage]]:
    """Every readable row of a run, each key once, and the files that could not be read.

    Unlike :func:`read_run` this warns about nothing: the caller decides (a resumed run moves
    the damaged files aside and recomputes their cells).
    """
    run_dir = Path(run_dir)
    for _ in range(3):  # a part merged and removed while we read: list the files again
        tables, damage, vanished = [], [], False
        for path in rows_files(run_dir):
            try:
                tables.append(read_rows_file(path, run_dir))
            except FileNotFoundError:
                vanished = True
            except DamagedFileError as exc:
                damage.append(exc.damage)
        if not vanished:
            break
    if not tables:
        return empty_frame(), damage
    import pyarrow as pa

    frame = to_frame(pa.concat_tables(tables))
    return frame.drop_duplicates(subset=list(ROW_KEY), keep="first", ignore_index=True), damage


def read_run(run_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Every row a run has written so far (finished or not), each key once.

    An unreadable rows file is left out with a warning (``srbench.store`` logger).
    """
    frame, damage = scan_run(run_dir)
    _warn(damage)
    return frame


def _warn(damage: Iterable[Damage]) -> None:
    for item in damage:
        logger.warning(item.warning())


def runs_with_manifests(
    results: str | os.PathLike[str] = "results", runs: Sequence[str] | None = None
) -> list[tuple[Path, dict[str, Any]]]:
    """The run folders and their manifests (each read once), oldest first by start time; a
    folder whose manifest is missing or unreadable is left out with a warning."""
    root = Path(results) / "runs"
    if runs:
        dirs = [root / r for r in runs]
        missing = [d.name for d in dirs if not d.is_dir()]
        if missing:
            raise RunError(
                f"no run {', '.join(missing)} in {root}; `srbench ls runs --results {results}` "
                "lists them."
            )
    else:
        dirs = sorted(p for p in root.glob("*") if p.is_dir() and not p.name.startswith("."))
    found = []
    for run_dir in dirs:
        try:
            found.append((run_dir, parse_manifest(run_dir)))
        except DamagedFileError as exc:
            _warn([exc.damage])
    return sorted(found, key=lambda item: (str(item[1].get("started") or ""), item[0].name))


def run_dirs(
    results: str | os.PathLike[str] = "results", runs: Sequence[str] | None = None
) -> list[Path]:
    """Run folders under ``results/runs`` (or the given ids), oldest first by start time.

    Readers treat later runs as newer numbers ("the latest run wins"), so the order is the
    manifests' start time, not the folder name (``--run-id`` names need not sort by time). A
    folder whose manifest is missing or unreadable is left out with a warning.
    """
    return [run_dir for run_dir, _ in runs_with_manifests(results, runs)]


def load_manifests(
    results: str | os.PathLike[str] = "results", runs: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The manifests of :func:`run_dirs`, in the same order."""
    return [manifest for _, manifest in runs_with_manifests(results, runs)]


def dataset_sizes(manifests: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Images per dataset name, as the runs found them (the count a complete method has).

    Entries a manifest holds in another shape (hand-edited, damaged) are passed over.
    """
    sizes = {}
    for m in manifests:
        datasets = m.get("datasets") if isinstance(m, dict) else None
        for d in datasets if isinstance(datasets, list) else []:
            if isinstance(d, dict) and isinstance(d.get("name"), str):
                try:
                    sizes[d["name"]] = int(d["images"])
                except (KeyError, TypeError, ValueError):
                    continue
    return sizes


def load_store(
    results: str | os.PathLike[str] = "results", runs: Sequence[str] | None = None
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """:func:`load_results` and :func:`load_manifests` in one pass: each file read (and each
    damaged one reported) once."""
    found = runs_with_manifests(results, runs)
    frames = [read_run(run_dir) for run_dir, _ in found]
    import pandas as pd

    frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
    return frame, [manifest for _, manifest in found]


def load_results(
    results: str | os.PathLike[str] = "results", runs: Sequence[str] | None = None
) -> pd.DataFrame:
    """One frame over many runs (all under ``results/runs``, or the given run ids), oldest
    run first. Damaged files and runs are left out, each with a warning.

    Example:
        >>> load_results("/nonexistent").shape[0]
        0
    """
    return load_store(results, runs)[0]
