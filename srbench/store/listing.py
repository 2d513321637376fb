"""``srbench ls runs``: one line per run in a results store."""

from __future__ import annotations

import os
from pathlib import Path

from srbench.store import MANIFEST, read_manifest, read_run

__all__ = ["run_lines"]


def run_lines(results: str | os.PathLike[str] = "results") -> list[str]:
    """One line per run folder under ``results/runs``, sorted by run id: its id, status, start
    time, stored rows and failed cells; a single line saying so when there is none.

    Example:
        >>> run_lines("no/such/store")
        ['no runs in no/such/store/runs']
    """
    lines = []
    for run_dir in sorted((Path(results) / "runs").glob("*")):
        if (run_dir / MANIFEST).is_file():
            m = read_manifest(run_dir)
            lines.append(
                f"{m['run_id']}  {m.get('status', '?'):9} {m.get('started') or '':26}"
                f"{len(read_run(run_dir)):7} rows  {m.get('failures', 0)} failed cells"
            )
    return lines or [f"no runs in {Path(results) / 'runs'}"]
