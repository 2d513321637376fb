"""The results store: one tidy long table per run, and the loader every consumer reads through.

Layout under a results folder (``--results``, default ``results/``)::

    runs/<run_id>/manifest.json     config, versions, device, dates, datasets, failures, status
    runs/<run_id>/scores.parquet    every row of a finished run
    runs/<run_id>/parts/*.parquet   rows written while the run is going (merged at the end)
    runs/<run_id>/images/...        SR PNGs with --save-images

Every file is written to a temporary name and renamed, so a killed run leaves complete parts;
the reader takes the union of ``scores.parquet`` and the parts and drops repeated keys, so a kill
between the merge and the removal of the parts duplicates nothing. Each run writes only in its
own folder (created exclusively, and locked while a process writes it), so runs sharing a
results folder cannot corrupt each other.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from srbench.errors import RunError
from srbench.fsutil import atomic_path, write_json

__all__ = [
    "CELL_KEY",
    "COLUMNS",
    "IDENTITY",
    "ROW_KEY",
    "SET_IMAGE",
    "RunWriter",
    "dataset_sizes",
    "load_manifests",
    "load_results",
    "read_manifest",
    "run_dirs",
]

SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("dataset", pa.string()),
        ("dataset_version", pa.string()),
        ("image", pa.string()),
        ("scale", pa.int16()),
        ("degradation", pa.string()),
        ("degradation_version", pa.string()),
        ("seed", pa.int64()),
        ("method", pa.string()),
        ("method_version", pa.string()),
        ("metric", pa.string()),
        ("metric_version", pa.string()),
        ("protocol", pa.string()),
        ("value", pa.float64()),
        ("samples", pa.int64()),
        ("spread", pa.float64()),
        ("error", pa.string()),
    ]
)
COLUMNS = tuple(SCHEMA.names)
#: What a value is and how it was measured: every column but the run, image, value and error.
IDENTITY = (
    "dataset",
    "dataset_version",
    "scale",
    "degradation",
    "degradation_version",
    "seed",
    "method",
    "method_version",
    "metric",
    "metric_version",
    "protocol",
)
#: The ``image`` of a set-level row (FID, KID): one value for the whole set.
SET_IMAGE = ""
#: One (image, method) cell of the grid: the unit a resumed run skips or redoes.
CELL_KEY = ("run_id", "dataset", "image", "scale", "degradation", "seed", "method")
#: One row: a cell's value for one metric under one protocol.
ROW_KEY = (*CELL_KEY, "metric", "protocol")
MANIFEST = "manifest.json"


def new_run_id() -> str:
    """A sortable, collision-safe id: ``20261125-143000-1a2b3c``."""
    return f"{dt.datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def read_manifest(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a run folder."""
    path = Path(run_dir) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunError(f"{run_dir} is not an srbench run (no {MANIFEST}).") from None


def _frame(rows: Sequence[dict[str, Any]] | pd.DataFrame) -> pa.Table:
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return pa.Table.from_pandas(frame, schema=SCHEMA, preserve_index=False)


def _write_table(path: Path, table: pa.Table) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _conform(table: pa.Table) -> pa.Table:
    """A table in the current schema: columns added since it was written become nulls, so
    runs stored by earlier versions stay readable."""
    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in SCHEMA
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMA)


def read_run(run_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Every row a run has written so far (finished or not), each key once."""
    run_dir = Path(run_dir)
    files = [run_dir / "scores.parquet", *sorted((run_dir / "parts").glob("*.parquet"))]
    tables = [_conform(pq.read_table(f)) for f in files if f.is_file()]
    if not tables:
        return _frame([]).to_pandas()
    frame = pa.concat_tables(tables).to_pandas()
    return frame.drop_duplicates(subset=list(ROW_KEY), keep="first", ignore_index=True)


class RunWriter:
    """Writes one run's rows and manifest; holds the run's lock while open.

    Rows are buffered and written as a new part file at most every ``flush_seconds`` (and on
    :meth:`flush`), so a kill loses at most that much work and never a written row.
    """

    def __init__(self, run_dir: Path, manifest: dict[str, Any]) -> None:
        self.path, self.manifest = run_dir, manifest
        self._lock = _lock(run_dir)
        self._buffer: list[dict[str, Any]] = []
        self._parts = len(list((run_dir / "parts").glob("*.parquet")))

    @classmethod
    def create(cls, results: str | os.PathLike[str], manifest: dict[str, Any]) -> RunWriter:
        """Start a new run folder under ``results/runs``; the id goes into the manifest."""
        runs = Path(results) / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        run_id = manifest.get("run_id") or new_run_id()
        try:
            (runs / run_id).mkdir()
        except FileExistsError:
            raise RunError(
                f"run {run_id} already exists in {runs}; resume it or pick another."
            ) from None
        writer = cls(runs / run_id, {**manifest, "run_id": run_id})
        writer.save_manifest()
        return writer

    @classmethod
    def resume(cls, results: str | os.PathLike[str], run_id: str) -> RunWriter:
        """Reopen an existing run to add the rows it is missing."""
        run_dir = Path(results) / "runs" / run_id
        if not run_dir.is_dir():
            known = sorted(p.name for p in run_dir.parent.glob("*") if p.is_dir())[-5:]
            raise RunError(
                f"no run {run_id!r} in {run_dir.parent}"
                + (f"; latest: {', '.join(known)}." if known else ".")
            )
        return cls(run_dir, read_manifest(run_dir))

    @property
    def run_id(self) -> str:
        """The run's id."""
        return str(self.manifest["run_id"])

    def done_cells(self) -> set[tuple[Any, ...]]:
        """Keys (``CELL_KEY`` without ``run_id``) of every cell already recorded."""
        frame = read_run(self.path)
        return set(frame[list(CELL_KEY[1:])].itertuples(index=False, name=None))

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        """Queue rows; they reach disk at the next flush."""
        self._buffer.extend({**row, "run_id": self.run_id} for row in rows)

    def flush(self) -> None:
        """Write the queued rows as one new part file (atomically)."""
        if not self._buffer:
            return
        part = self.path / "parts" / f"{os.getpid()}-{self._parts:06d}.parquet"
        _write_table(part, _frame(self._buffer))
        self._parts += 1
        self._buffer.clear()

    def save_manifest(self) -> None:
        """Write the manifest atomically."""
        write_json(self.path / MANIFEST, self.manifest)

    def finish(self) -> pd.DataFrame:
        """Merge the parts into ``scores.parquet`` and return every row of the run."""
        self.flush()
        frame = read_run(self.path)
        _write_table(self.path / "scores.parquet", _frame(frame))
        for part in (self.path / "parts").glob("*.parquet"):
            part.unlink()
        self.save_manifest()
        return frame

    def close(self) -> None:
        """Release the run's lock."""
        self._lock.close()


def _lock(run_dir: Path):  # noqa: ANN202
    handle = open(run_dir / ".lock", "a")  # noqa: SIM115 (held for the writer's lifetime)
    try:
        import fcntl

        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # no advisory locks (Windows): exclusive run folders still hold
        pass
    except OSError:
        handle.close()
        raise RunError(
            f"run {run_dir.name} is being written by another srbench process; wait for it."
        ) from None
    return handle


def run_dirs(
    results: str | os.PathLike[str] = "results", runs: Sequence[str] | None = None
) -> list[Path]:
    """Run folders under ``results/runs`` (or the given ids), oldest first by start time.

    Readers treat later runs as newer numbers ("the latest run wins"), so the order is the
    manifests' start time, not the folder name (``--run-id`` names need not sort by time).
    """
    root = Path(results) / "runs"
    if runs:
        dirs = [root / r for r in runs]
        missing = [d.name for d in dirs if not (d / MANIFEST).is_file()]
        if missing:
            raise RunError(
                f"no run {', '.join(missing)} in {root}; `srbench ls runs --results {results}` "
                "lists them."
            )
    else:
        dirs = [p for p in root.glob("*") if (p / MANIFEST).is_file()]
    return sorted(dirs, key=lambda d: (str(read_manifest(d).get("started") or ""), d.name))


def load_manifests(
    results: str | os.PathLike[str] = "results", runs: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The manifests of :func:`run_dirs`, in the same order."""
    return [read_manifest(d) for d in run_dirs(results, runs)]


def dataset_sizes(manifests: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Images per dataset name, as the runs found them (the count a complete method has)."""
    return {
        d["name"]: int(d["images"])
        for m in manifests
        for d in m.get("datasets", [])
        if "images" in d
    }


def load_results(
    results: str | os.PathLike[str] = "results", runs: Sequence[str] | None = None
) -> pd.DataFrame:
    """One frame over many runs (all under ``results/runs``, or the given run ids), oldest
    run first.

    Example:
        >>> load_results("/nonexistent").shape[0]
        0
    """
    frames = [read_run(d) for d in run_dirs(results, runs)]
    if not frames:
        return _frame([]).to_pandas()
    return pd.concat(frames, ignore_index=True)
