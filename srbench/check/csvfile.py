"""The baseline CSV on disk: written for people and spreadsheets, read back validated.

:func:`write_baseline` writes values in full precision and passes every text cell through
:func:`srbench.leaderboard.spreadsheet_escape` (a name starting with ``=``, ``+``, ``-``, ``@``,
a tab, a carriage return or a quote gets a leading quote, so a spreadsheet never runs it as a
formula; numbers are never touched). :func:`read_baseline` undoes exactly that escape, so a
baseline round-trips, and refuses a file that is not one (exit status 2 on the command line)
with one message naming the file, the line and column, and the fix: empty, not UTF-8, not CSV,
a last line cut short (every line srbench writes ends with a line end), missing, repeated or
unknown columns, a field count that differs from the header's, a value of the wrong type, a key
stored twice, or a cell with both a mean row and per-image rows.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pandas as pd

from srbench.check.baseline import (
    BASELINE_COLUMNS,
    CELL,
    OPTIONAL_COLUMNS,
    BaselineError,
)
from srbench.leaderboard.tables import csv_text, spreadsheet_unescape
from srbench.system.files import atomic_path

__all__ = ["read_baseline", "write_baseline"]

_INTEGER = r"[+-]?\d+"
_FLOAT = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?inf|nan"
#: Column -> (pattern of its cells, what it must be, whether it may be empty).
_NUMBERS = {
    "scale": (_INTEGER, "a positive integer", False),
    "seed": (_INTEGER, "an integer", False),
    "images": (_INTEGER, "an integer of at least 0", False),
    "value": (_FLOAT, "a number", True),
    "samples": (_INTEGER, "an integer", True),
}
#: Text columns that name what a value is: never empty (``image`` is empty on mean rows).
_NAMES = [c for c in BASELINE_COLUMNS if c not in _NUMBERS and c != "image"]


def write_baseline(baseline: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a baseline CSV atomically (values in full precision, so a rerun compares equal;
    text cells escaped for spreadsheets, which :func:`read_baseline` undoes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = csv_text(baseline, float_format="%.17g")
    with atomic_path(path) as tmp:
        tmp.write_bytes(text.encode("utf-8"))
    return path


def read_baseline(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and validate a baseline CSV.

    Raises:
        BaselineError: There is no file, or it is not a valid baseline; the message names the
            line and column and says how to rewrite it.
    """
    path = Path(path)
    if not path.is_file():
        raise BaselineError(
            f"no baseline at {path}; make one with `srbench baseline --out {path}` from a run "
            "you trust, and commit it."
        )

    def error(problem: str, line: int | None = None, column: str | None = None) -> BaselineError:
        where = "".join([f", line {line}" if line else "", f", column {column}" if column else ""])
        return BaselineError(
            f"{path}{where}: {problem}. Rewrite it with `srbench baseline --out {path}` from a "
            "run you trust (or restore it from version control)."
        )

    header, lines, records = _records(path.read_bytes(), error)
    frame = pd.DataFrame(records, columns=header, dtype=object)
    line_of = pd.Series(lines, index=frame.index)
    if frame.empty:
        raise error("the file has a header but no rows (`srbench baseline` never writes one)", 2)
    for column in header:
        if column not in _NUMBERS:
            frame[column] = frame[column].map(spreadsheet_unescape).astype(str)
    for column in _NAMES:
        empty = frame[column] == ""
        if empty.any():
            raise error("is empty (it names what the value is)", line_of[empty].iloc[0], column)
    for column, (pattern, what, optional) in _NUMBERS.items():
        if column in frame:
            frame[column] = _number(frame[column], column, pattern, what, optional, line_of, error)
    if "samples" not in frame.columns:  # written before set-level metrics existed
        frame["samples"] = pd.NA
    frame["samples"] = frame["samples"].astype("Int64")
    _check_keys(frame, line_of, error)
    return frame[[*BASELINE_COLUMNS, *OPTIONAL_COLUMNS]]


def _records(data: bytes, error):  # noqa: ANN001, ANN202
    """The header, the line of each record and the records, once the file is known to be
    UTF-8 CSV with the baseline's columns and a field per column on every line."""
    if not data.strip():
        raise error("the file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(f"byte {exc.start} is not UTF-8 text (a baseline is UTF-8 CSV)", line) from None
    if "\x00" in text:
        raise error(
            "it holds NUL bytes (not a CSV text file)", text[: text.index("\x00")].count("\n") + 1
        )
    if not text.endswith("\n"):
        raise error(
            "the last line has no line end, so the file looks cut short (every line srbench "
            "writes ends with one)",
            text.count("\n") + 1,
        )
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    lines, records = [], []
    try:
        header = next(reader)
        _check_header(header, error)
        for record in reader:
            if not record:  # a blank line
                continue
            if len(record) != len(header):
                raise error(
                    f"{len(record)} fields where the header has {len(header)}", reader.line_num
                )
            lines.append(reader.line_num)
            records.append(record)
    except csv.Error as exc:
        raise error(f"not valid CSV ({exc})", reader.line_num) from None
    return header, lines, records


def _check_header(header: list[str], error) -> None:  # noqa: ANN001
    """The first line names each baseline column once, and nothing else."""
    allowed = [*BASELINE_COLUMNS, *OPTIONAL_COLUMNS]
    if not set(header) & set(BASELINE_COLUMNS):
        raise error(
            "this is not a baseline CSV: its first line is not the header "
            f"({','.join(BASELINE_COLUMNS)})",
            1,
        )
    repeated = sorted({c for c in header if header.count(c) > 1})
    missing = [c for c in BASELINE_COLUMNS if c not in header]
    extra = [c for c in header if c not in allowed]
    problems = [
        *([f"the header repeats the column(s) {', '.join(repeated)}"] if repeated else []),
        *([f"the header lacks the column(s) {', '.join(missing)}"] if missing else []),
        *([f"the header has unknown column(s) {', '.join(map(repr, extra))}"] if extra else []),
    ]
    if problems:
        raise error("; ".join(problems), 1)


def _number(values, column, pattern, what, optional, line_of, error):  # noqa: ANN001, ANN202
    """A numeric column from its text, or the error naming the first cell that is not one."""
    text = values.astype(str)
    ok = text.str.fullmatch(pattern).astype(bool) | (optional & (text == ""))
    numbers = pd.to_numeric(text.where(ok & (text != "")), errors="coerce")
    minimum = {"scale": 1, "images": 0}.get(column)
    if minimum is not None:
        ok &= numbers >= minimum
    if not ok.all():
        bad = ok[~ok].index[0]
        shown = text[bad] or "an empty cell"
        raise error(f"{shown!r} is not {what}", line_of[bad], column)
    if column == "value":
        return numbers.astype(float)
    return numbers.astype("Int64") if optional else numbers.astype("int64")


def _check_keys(frame: pd.DataFrame, line_of: pd.Series, error) -> None:  # noqa: ANN001
    """One row per (cell, image), and a cell is either per-image rows or one mean row."""
    key = [*CELL, "image"]
    twice = frame.duplicated(key, keep=False)
    if twice.any():
        first = frame[twice].iloc[0]
        same = twice & (frame[key] == first[key]).all(axis=1)
        lines = ", ".join(map(str, line_of[same].iloc[:3]))
        raise error(
            f"lines {lines} are the same row ({_cell_text(first)}, image "
            f"{first['image'] or '(mean)'}); a baseline has one row per image",
            line_of[same].iloc[1],
        )
    mean = frame["image"] == ""
    groups = [frame[c] for c in CELL]
    has_mean = mean.groupby(groups, sort=False).transform("any")
    size = mean.groupby(groups, sort=False).transform("size")
    mixed = mean & has_mean & (size > 1)
    if mixed.any():
        first = frame[mixed].iloc[0]
        raise error(
            f"the cell {_cell_text(first)} has both a mean row (empty image) and per-image rows",
            line_of[mixed].iloc[0],
        )


def _cell_text(row: pd.Series) -> str:
    return (
        f"{row['dataset']} x{row['scale']} {row['degradation']} seed {row['seed']} "
        f"{row['method']} {row['metric']} {row['protocol']}"
    )
