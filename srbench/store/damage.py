"""Damage in a results store: files a reader cannot use, how each is recognised, described,
reported and moved aside.

A results folder lives on disks, in synced folders and in archives; a file in it can be cut
short, garbled or replaced. Readers never stop at one: they leave it out, say so once through
the ``srbench.store`` logger (a warning naming the file, why, and how to repair it) and read
everything else. The command line prints these warnings as ``warning: ...`` lines; a library
user sees them through :mod:`logging` (on stderr when logging is not configured).

What counts as damage:

* a rows file (``scores.parquet``, ``parts/*.parquet``) that pyarrow cannot decode (truncated,
  garbled, page checksum mismatch, not parquet at all), that lacks a column every stored table
  has, whose column cannot be read as the store's type, or whose rows have empty keys;
* a ``manifest.json`` that is missing, empty, not UTF-8, not JSON, or JSON but not an object.
  Without it a run's place in time (which run is latest) and its settings are unknown, so the
  whole run is left out.

:func:`quarantine_path` moves a damaged file or run under ``<results>/quarantine/<run_id>/``;
nothing is ever deleted.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srbench.errors import RunError
from srbench.store.schema import COLUMNS, MANIFEST, NULLABLE_KEY, ROW_KEY, conform

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "OPTIONAL_COLUMNS",
    "QUARANTINE",
    "REQUIRED_COLUMNS",
    "Damage",
    "DamagedFileError",
    "logger",
    "parse_manifest",
    "quarantine_path",
    "read_rows_file",
]

#: Where damaged files are moved, under the results folder.
QUARANTINE = "quarantine"
#: Columns added to the schema after the first runs were stored; older tables read them as nulls.
OPTIONAL_COLUMNS = ("samples", "spread", "sample", "sample_seed", "aggregate")
#: Columns every stored table has: a table without one of them is not a table of the store.
REQUIRED_COLUMNS = tuple(c for c in COLUMNS if c not in OPTIONAL_COLUMNS)
#: The logger every reader of the store warns through (one record per damaged file).
logger = logging.getLogger("srbench.store")
_MAX_REASON = 200


@dataclass(frozen=True)
class Damage:
    """One damaged file (or a run folder without its manifest).

    Attributes:
        path: The file; the run folder itself when its manifest is missing.
        run_dir: The run folder it belongs to (``<results>/runs/<run_id>``).
        reason: What is wrong, in a few words (``not valid JSON: ... at line 3, column 5``).
        kind: ``rows`` (a parquet file: its rows are left out) or ``manifest`` (the run is).
    """

    path: Path
    run_dir: Path
    reason: str
    kind: str

    @property
    def run_id(self) -> str:
        """The id of the run the file belongs to (its folder's name)."""
        return self.run_dir.name

    @property
    def results(self) -> Path:
        """The results folder (``--results``) the run is stored in."""
        return self.run_dir.parent.parent

    @property
    def name(self) -> str:
        """The file's path inside its run folder (``parts/123-000001.parquet``)."""
        return self.path.relative_to(self.run_dir).as_posix() if self.path != self.run_dir else "."

    def repair(self) -> str:
        """What to run to repair it."""
        results = shlex.quote(str(self.results))
        verify = f"`srbench verify --results {results} --quarantine`"
        if self.kind == "rows":
            return (
                f"{verify} moves it aside, then `srbench run --resume {self.run_id} "
                f"--results {results}` recomputes its cells"
            )
        return (
            f"{verify} moves the run aside (nothing is deleted); run its grid again to replace it"
        )

    def warning(self) -> str:
        """The one line a reader logs when it leaves this file out."""
        if self.kind == "rows":
            left_out = "its rows are left out"
        else:
            left_out = f"run {self.run_id} is left out"
        return f"{self.path} {self.reason}; {left_out}. Repair: {self.repair()}."


class DamagedFileError(RunError):
    """A file of the results store cannot be used (truncated, garbled, not what it should be).

    The message names the file, what is wrong and how to repair it; :attr:`damage` has the
    details.
    """

    def __init__(self, damage: Damage) -> None:
        super().__init__(damage.warning())
        self.damage = damage


def _reason(exc: BaseException) -> str:
    """A decoder's complaint in a few words (pyarrow's messages start with boilerplate)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = text.split("': ", 1)[-1] if text.startswith("Could not open Parquet input") else text
    text = text.split(". ", 1)[0].rstrip(".")  # the first sentence says it
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


def read_rows_file(path: Path, run_dir: Path) -> pa.Table:
    """A rows file (``scores.parquet`` or a part) as a table in the store's schema.

    Page checksums are verified (files written since they exist carry them), every column
    every stored table has must be present and readable as its type, and no row may have an
    empty key.

    Raises:
        DamagedFileError: The file cannot be used; the message says why and how to repair it.
    """
    import pyarrow as pa  # here: reading a rows file is the first use of pyarrow
    import pyarrow.parquet as pq

    def damaged(reason: str) -> DamagedFileError:
        return DamagedFileError(Damage(path, run_dir, reason, "rows"))

    try:
        table = pq.read_table(path, page_checksum_verification=True)
        table.validate(full=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 (a decoder fed damaged bytes may raise anything)
        raise damaged(f"is unreadable ({_reason(exc)})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in table.column_names]
    if missing:
        raise damaged(f"is not a table of results (no {', '.join(missing)} column)")
    try:
        table = conform(table)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise damaged(f"has a column of the wrong type ({_reason(exc)})") from None
    empty = [c for c in ROW_KEY if c not in NULLABLE_KEY and table.column(c).null_count]
    if empty:
        raise damaged(f"has rows without a {', '.join(empty)} (a key column)")
    return table


def parse_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest of ``run_dir``, a JSON object.

    Raises:
        DamagedFileError: It is missing, empty, not UTF-8, not JSON or not a JSON object.
    """
    path = run_dir / MANIFEST

    def damaged(reason: str, where: Path = path) -> DamagedFileError:
        return DamagedFileError(Damage(where, run_dir, reason, "manifest"))

    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise damaged(f"has no {MANIFEST}", run_dir) from None
    except UnicodeDecodeError as exc:
        raise damaged(f"is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise damaged(f"cannot be read ({exc.strerror or exc})") from None
    if not text.strip():
        raise damaged("is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise damaged(
            f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise damaged(f"is not valid JSON ({_reason(exc)})") from None
    if not isinstance(data, dict):
        raise damaged(f"holds a JSON {type(data).__name__}, not an object")
    return data


def quarantine_path(path: Path, run_dir: Path) -> Path:
    """Move ``path`` (a file of ``run_dir``, or ``run_dir`` itself) under
    ``<results>/quarantine/<run_id>/``, keeping its path inside the run; never overwrites.

    Returns:
        Where it now is.
    """
    root = run_dir.parent.parent / QUARANTINE / run_dir.name
    target = root if path == run_dir else root / path.relative_to(run_dir)
    target = _free(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(os.fspath(path), os.fspath(target))
    return target


def _free(target: Path) -> Path:
    """``target``, or ``target.1``, ``target.2``... the first name not taken."""
    if not target.exists():
        return target
    n = 1
    while (candidate := target.with_name(f"{target.name}.{n}")).exists():
        n += 1
    return candidate
