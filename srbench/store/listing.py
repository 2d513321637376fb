"""``srbench ls runs``: one line per run in a results store."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["run_lines"]


def run_lines(results: str | os.PathLike[str] = "results") -> list[str]:
    """One line per run folder under ``results/runs``, sorted by run id: its id, status, start
    time, stored rows and failed cells; a single line saying so when there is none.

    A run whose manifest is missing or unreadable, and a rows file that cannot be read, are
    left out with a warning (``srbench.store`` logger) naming the file and the repair.

    Example:
        >>> run_lines("no/such/store")
        ['no runs in no/such/store/runs']
    """
    root = Path(results) / "runs"
    if not any(p.is_dir() and not p.name.startswith(".") for p in root.glob("*")):
        return [f"no runs in {root}"]  # without the reader, which imports pandas and pyarrow
    from srbench.store.reader import read_run, runs_with_manifests

    lines = []
    for run_dir, m in sorted(runs_with_manifests(results), key=lambda item: item[0].name):
        lines.append(
            f"{m.get('run_id', run_dir.name)}  {str(m.get('status', '?')):9} "
            f"{str(m.get('started') or ''):26}"
            f"{len(read_run(run_dir)):7} rows  {m.get('failures', 0)} failed cells"
        )
    return lines or [f"no runs in {root}"]
