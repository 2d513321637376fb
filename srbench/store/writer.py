"""Writing the store: each run writes only in its own folder, atomically and under a lock.

Every file is written to a temporary name and renamed, so a killed run leaves complete parts,
and carries parquet page checksums, so a file garbled later is recognised rather than misread.
Each run folder is created exclusively and locked while a process writes it, so runs sharing a
results folder cannot corrupt each other. A run id is the run folder's name: :func:`check_run_id`
refuses ids that are paths (``../x``, ``/abs``), hidden, empty or hold control characters, in
:meth:`RunWriter.create` and :meth:`RunWriter.resume`, so nothing is written outside
``results/runs/``. A resumed run first moves any damaged rows file of its own to the quarantine
(``srbench.store.damage``), so their cells are recomputed, not lost.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srbench.errors import RunError
from srbench.store.damage import (
    Damage,
    DamagedFileError,
    logger,
    parse_manifest,
    quarantine_path,
)
from srbench.store.reader import read_run, scan_run
from srbench.store.schema import CELL_KEY, MANIFEST, to_table
from srbench.system.files import atomic_path, write_json
from srbench.system.names import check_name

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["RunWriter", "cell_keys", "check_run_id", "new_run_id", "try_lock"]


def check_run_id(run_id: str, what: str = "--run-id") -> str:
    """``run_id`` if it can name a run folder, else raise
    :class:`~srbench.system.names.UnsafeNameError` (exit status 2) naming ``what`` and the rule.

    Call it before any work; :class:`RunWriter` calls it again where the folder is made.

    Example:
        >>> check_run_id("baseline-2026")
        'baseline-2026'
    """
    return check_name(run_id, what, hint="A run id names the folder results/runs/<run id>.")


def new_run_id() -> str:
    """A sortable, collision-safe id: ``20261125-143000-1a2b3c``."""
    return f"{dt.datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _write_table(path: Path, table: pa.Table) -> None:
    import pyarrow.parquet as pq  # pyarrow and pandas load with the first rows, not the run

    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, write_page_checksum=True)


class RunWriter:
    """Writes one run's rows and manifest; holds the run's lock while open.

    Rows are buffered and written as a new part file at most every ``flush_seconds`` (and on
    :meth:`flush`), so a kill loses at most that much work and never a written row.
    """

    def __init__(self, run_dir: Path, manifest: dict[str, Any], lock: Any = None) -> None:
        self.path, self.manifest = run_dir, manifest
        self._lock = lock or _lock(run_dir)
        self._buffer: list[dict[str, Any]] = []
        self._parts = len(list((run_dir / "parts").glob("*.parquet")))

    @classmethod
    def create(cls, results: str | os.PathLike[str], manifest: dict[str, Any]) -> RunWriter:
        """Start a new run folder under ``results/runs``; the id goes into the manifest."""
        run_id = manifest.get("run_id")
        run_id = new_run_id() if run_id is None else check_run_id(run_id)
        runs = Path(results) / "runs"
        runs.mkdir(parents=True, exist_ok=True)
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
        """Reopen an existing run to add the rows it is missing.

        A rows file of the run that cannot be read is moved to the quarantine first (with a
        warning), so :meth:`done_cells` does not count its cells and they are recomputed.

        Raises:
            RunError: No such run, another process is writing it, or its manifest (which holds
                its settings) is missing or unreadable.
        """
        run_dir = Path(results) / "runs" / check_run_id(run_id, "--resume")
        if not run_dir.is_dir():
            known = sorted(p.name for p in run_dir.parent.glob("*") if p.is_dir())[-5:]
            raise RunError(
                f"no run {run_id!r} in {run_dir.parent}"
                + (f"; latest: {', '.join(known)}." if known else ".")
            )
        lock = _lock(run_dir)
        try:
            manifest = parse_manifest(run_dir)
        except DamagedFileError as exc:
            lock.close()
            where = shlex.quote(str(results))
            what = (
                f"{run_dir} has no {MANIFEST}, which holds its settings"
                if exc.damage.path == run_dir
                else f"its settings are in {exc.damage.path}, which {exc.damage.reason}"
            )
            raise RunError(
                f"cannot resume run {run_id}: {what}. Start a new run with the same options; "
                f"`srbench verify --results {where} --quarantine` moves the damaged run aside "
                "(nothing is deleted)."
            ) from None
        writer = cls(run_dir, manifest, lock)
        writer.quarantine_damaged()
        return writer

    def quarantine_damaged(self) -> list[Path]:
        """Move this run's unreadable rows files to the quarantine, each with a warning.

        Returns:
            Where they were moved.
        """
        _, damage = scan_run(self.path)
        moved = self._quarantine(damage, "and its cells are computed again")
        self._parts = len(list((self.path / "parts").glob("*.parquet")))
        return moved

    def _quarantine(self, damage: list[Damage], then: str) -> list[Path]:
        moved = []
        for item in damage:
            target = quarantine_path(item.path, self.path)
            moved.append(target)
            logger.warning(f"{item.path} {item.reason}; moved it to {target}, {then}.")
        return moved

    @property
    def run_id(self) -> str:
        """The run's id."""
        return str(self.manifest["run_id"])

    def done_cells(self) -> set[tuple[Any, ...]]:
        """Keys (``CELL_KEY`` without ``run_id``) of every cell already recorded; ``sample`` is
        ``None`` (deterministic methods, aggregates) or the draw's index as an ``int``."""
        return cell_keys(read_run(self.path))

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        """Queue rows; they reach disk at the next flush."""
        self._buffer.extend({**row, "run_id": self.run_id} for row in rows)

    def flush(self) -> None:
        """Write the queued rows as one new part file (atomically)."""
        if not self._buffer:
            return
        part = self.path / "parts" / f"{os.getpid()}-{self._parts:06d}.parquet"
        while part.exists():  # a name left by another process (or freed by the quarantine)
            self._parts += 1
            part = self.path / "parts" / f"{os.getpid()}-{self._parts:06d}.parquet"
        _write_table(part, to_table(self._buffer))
        self._parts += 1
        self._buffer.clear()

    def save_manifest(self) -> None:
        """Write the manifest atomically."""
        write_json(self.path / MANIFEST, self.manifest)

    def finish(self) -> pd.DataFrame:
        """Merge the parts into ``scores.parquet`` and return every row of the run (a rows
        file that cannot be read is moved to the quarantine with a warning, never deleted)."""
        self.flush()
        frame, damage = scan_run(self.path)
        results = shlex.quote(str(self.path.parent.parent))
        self._quarantine(  # damaged while the run went on: kept aside, never merged or deleted
            damage,
            f"and its cells are missing from the run: `srbench run --resume {self.run_id} "
            f"--results {results}` computes them",
        )
        _write_table(self.path / "scores.parquet", to_table(frame))
        for part in (self.path / "parts").glob("*.parquet"):
            part.unlink()
        self.save_manifest()
        return frame

    def close(self) -> None:
        """Release the run's lock."""
        self._lock.close()


def cell_keys(frame: pd.DataFrame) -> set[tuple[Any, ...]]:
    """The ``CELL_KEY`` (without ``run_id``) of each row of ``frame``, with a null ``sample`` as
    ``None`` (a NaN would never compare equal) and the others as ``int``."""
    import pandas as pd

    samples = [None if pd.isna(s) else int(s) for s in frame["sample"]]
    keys = frame[list(CELL_KEY[1:-1])].itertuples(index=False, name=None)
    return {(*key, s) for key, s in zip(keys, samples, strict=True)}


def try_lock(run_dir: Path, create: bool = True):  # noqa: ANN201
    """The run's lock, held until the returned handle is closed; None when another process
    holds it. With ``create=False`` a run folder without a lock file counts as unlocked and
    none is created (verifying a store writes nothing into it)."""
    path = run_dir / ".lock"
    if not create and not path.exists():
        return _NoLock()
    handle = open(path, "a")  # noqa: SIM115 (held for the lock's lifetime)
    try:
        import fcntl

        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # no advisory locks (Windows): exclusive run folders still hold
        pass
    except OSError:
        handle.close()
        return None
    return handle


class _NoLock:
    """Stands for the lock of a run folder that has no lock file (nobody can hold it)."""

    def close(self) -> None:
        """Nothing to release."""


def _lock(run_dir: Path):  # noqa: ANN202
    handle = try_lock(run_dir)
    if handle is None:
        raise RunError(
            f"run {run_dir.name} is being written by another srbench process; wait for it."
        )
    return handle
