"""Reading the store: a run's rows, run folders in time order, and :func:`load_results`, the
one loader every consumer (leaderboards, plots, reports, checks) reads through.

The reader takes the union of ``scores.parquet`` and the parts and drops repeated keys, so a kill
between the merge and the removal of the parts duplicates nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from srbench.errors import RunError
from srbench.store.schema import MANIFEST, ROW_KEY, conform, empty_frame

__all__ = [
    "dataset_sizes",
    "load_manifests",
    "load_results",
    "read_manifest",
    "read_run",
    "run_dirs",
]


def read_manifest(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a run folder."""
    path = Path(run_dir) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunError(f"{run_dir} is not an srbench run (no {MANIFEST}).") from None


def read_run(run_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Every row a run has written so far (finished or not), each key once."""
    run_dir = Path(run_dir)
    files = [run_dir / "scores.parquet", *sorted((run_dir / "parts").glob("*.parquet"))]
    tables = [conform(pq.read_table(f)) for f in files if f.is_file()]
    if not tables:
        return empty_frame()
    frame = pa.concat_tables(tables).to_pandas()
    return frame.drop_duplicates(subset=list(ROW_KEY), keep="first", ignore_index=True)


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
        return empty_frame()
    return pd.concat(frames, ignore_index=True)
