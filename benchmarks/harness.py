"""The timing harness of ``python -m benchmarks.speed``: interleaved races, rows, JSON, README.

A *race* times srbench and its references in one process, one call of each per round, the
order rotating from round to round so that neither always runs first (after the other has
warmed or cooled the caches); each candidate's time is its minimum over the rounds, the least
disturbed by the other processes of a shared machine. A :class:`Row` is one line of the
README's table: srbench against a *reference* (``ratio`` = reference / srbench: how many times
faster srbench is) or against a *floor*, the least any tool could take for the same work
(``ratio`` = srbench / floor). Values are compared before anything is timed: a reference that
disagrees beyond its stated tolerance is not timed (status ``mismatch``); one that is not
importable, or whose data is absent, is not either (status ``skipped``); both keep the reason.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from srbench.system.cpus import available_cpus

__all__ = [
    "README_BEGIN",
    "README_END",
    "Mismatch",
    "Reference",
    "Rounds",
    "Row",
    "Skip",
    "checked_race",
    "compare",
    "expected_block",
    "environment",
    "format_seconds",
    "load",
    "race",
    "readme_table",
    "render_table",
    "update_readme",
    "write",
]

#: The lines around the generated table in the README.
README_BEGIN = (
    "<!-- speed table: generated from benchmarks/speed.json by "
    "`python -m benchmarks.speed --readme-only`; do not edit -->"
)
README_END = "<!-- end of speed table -->"
#: Version of the JSON layout (bump when a field changes meaning).
SCHEMA = 1


class Skip(Exception):
    """A row cannot be measured here (reference not importable, data absent): the reason."""


class Mismatch(Exception):
    """srbench and a reference disagree beyond the stated tolerance: they are not timed."""


@dataclass
class Row:
    """One line of the table.

    Attributes:
        name: Unique id (``scores-480x320-basicsr``).
        what: The first column (``PSNR+SSIM on Y, shave 4``).
        size: Image size ``WxH``, or ``None``.
        kind: ``"reference"`` (ratio = reference_s / srbench_s) or ``"floor"`` (ratio =
            srbench_s / reference_s).
        reference: What srbench is compared with.
        rounds: Timed calls of each candidate.
        srbench_s: srbench's minimum seconds.
        reference_s: The reference's (or floor's) minimum seconds.
        ratio: See ``kind``.
        max_diff: Largest absolute difference of each value (``psnr``: dB) before timing.
        tolerance: The largest difference allowed for each value checked.
        note: What the row includes or how the reference differs.
        status: ``"measured"``, ``"skipped"`` (reference or data absent) or ``"mismatch"``
            (values differ beyond the tolerance); only measured rows have times.
        reason: Why a row was skipped, or how the values differed.
    """

    name: str
    what: str
    size: str | None
    kind: str
    reference: str
    rounds: int
    srbench_s: float | None = None
    reference_s: float | None = None
    ratio: float | None = None
    max_diff: dict[str, float] = field(default_factory=dict)
    tolerance: dict[str, float] = field(default_factory=dict)
    note: str = ""
    status: str = "measured"
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("reference", "floor"):
            raise ValueError(f"Row.kind must be 'reference' or 'floor', got {self.kind!r}.")

    def skip(self, reason: str, status: str = "skipped") -> Row:
        """This row, not measured, with the reason."""
        self.status, self.reason = status, reason
        return self

    def timed(self, srbench_s: float, reference_s: float) -> Row:
        """This row with its two minimum times and the ratio they give."""
        self.srbench_s, self.reference_s = srbench_s, reference_s
        if self.kind == "reference":
            self.ratio = reference_s / srbench_s
        else:
            self.ratio = srbench_s / reference_s
        return self


def race(
    candidates: Mapping[str, Callable[[], object]],
    rounds: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """The minimum seconds of each candidate over ``rounds`` interleaved calls.

    Round ``r`` calls every candidate once, starting with candidate ``r mod n`` in the mapping's
    order, so each one runs first equally often.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}.")
    names = list(candidates)
    times: dict[str, list[float]] = {name: [] for name in names}
    for order in _rotations(names, rounds):
        for name in order:
            start = clock()
            candidates[name]()
            times[name].append(clock() - start)
    return {name: min(values) for name, values in times.items()}


def _rotations(names: Sequence[str], rounds: int) -> Iterator[list[str]]:
    for r in range(rounds):
        k = r % len(names) if names else 0
        yield [*names[k:], *names[:k]]


def compare(
    ours: Mapping[str, Any], theirs: Mapping[str, Any], tolerance: Mapping[str, float]
) -> dict[str, float]:
    """The largest absolute difference of each value named in ``tolerance`` (a float, or an
    array of per-image values).

    Raises:
        Mismatch: A difference exceeds its tolerance, or the values cannot be compared.
    """
    diffs = {}
    for key in tolerance:
        a, b = np.asarray(ours[key], dtype=np.float64), np.asarray(theirs[key], dtype=np.float64)
        if a.shape != b.shape:
            raise Mismatch(f"{key}: srbench gave {a.shape} values, the reference {b.shape}")
        # Equal infinities (identical images) differ by nothing, not by nan.
        with np.errstate(invalid="ignore"):
            gap = np.where(a == b, 0.0, np.abs(a - b))
        diffs[key] = float(gap.max()) if gap.size else 0.0
    over = {k: d for k, d in diffs.items() if not d <= tolerance[k]}
    if over:
        raise Mismatch(
            "; ".join(
                f"{k} differs by {d:.3g} (allowed {tolerance[k]:.3g})" for k, d in over.items()
            )
        )
    return diffs


@dataclass
class Reference:
    """A reference implementation of what srbench computes, for :func:`checked_race`.

    Attributes:
        key: Short id (``basicsr``), the end of the row's name.
        label: The table's name for it (``BasicSR 1.4.2``).
        build: Returns the function to time (no arguments; returns the values by name);
            raises :class:`Skip` when the reference is not available here.
        tolerance: The largest difference allowed for each value compared.
        note: What the row times, and how the reference differs.
    """

    key: str
    label: str
    build: Callable[[], Callable[[], Mapping[str, Any]]]
    tolerance: dict[str, float]
    note: str = ""


@dataclass(frozen=True)
class Rounds:
    """How many rounds a race runs: ``fast``, or ``slow`` where one call takes over ``slow_s``
    seconds (``--slow-rounds``: a quicker run, trading rounds of the long calls for minutes).

    Example:
        >>> Rounds(7, 3).of(0.5), Rounds(7, 3).of(5.0)
        (7, 3)
    """

    fast: int = 7
    slow: int = 3
    slow_s: float = 2.0

    def __post_init__(self) -> None:
        if self.fast < 1 or self.slow < 1:
            raise ValueError(f"rounds must be at least 1, got {self.fast} and {self.slow}.")

    def of(self, call_s: float) -> int:
        """The rounds of a race whose slowest candidate took ``call_s`` seconds once."""
        return self.slow if call_s > self.slow_s else self.fast


def checked_race(
    what: str,
    size: str | None,
    ours: Callable[[], Mapping[str, Any]],
    references: Sequence[Reference],
    rounds: Rounds,
    group: str,
    clock: Callable[[], float] = time.perf_counter,
) -> list[Row]:
    """One row per reference: its values checked against srbench's (one untimed call of each,
    which also warms both), then, if they agree, srbench and the reference raced.
    """
    start = clock()
    ours_values = ours()
    ours_s = clock() - start
    rows = []
    for ref in references:
        name = "-".join(part for part in (group, size, ref.key) if part)
        row = Row(name, what, size, "reference", ref.label, 0, note=ref.note)
        row.tolerance = dict(ref.tolerance)
        rows.append(row)
        try:
            timed = ref.build()
            start = clock()
            values = timed()
            call_s = max(clock() - start, ours_s)
            row.max_diff = compare(ours_values, values, ref.tolerance)
        except Skip as skip:
            row.skip(str(skip))
            continue
        except Mismatch as mismatch:
            row.skip(str(mismatch), status="mismatch")
            continue
        row.rounds = rounds.of(call_s)
        best = race({"srbench": ours, ref.key: timed}, row.rounds, clock)
        row.timed(best["srbench"], best[ref.key])
    return rows


def environment(repo: Path) -> dict[str, Any]:
    """The machine and the versions the times belong to."""
    versions = {}
    for dist in ("numpy", "opencv-python-headless", "torch", "pillow", "basicsr", "pyiqa", "lpips"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": available_cpus(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "srbench_commit": _commit(repo),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks.speed", *sys.argv[1:]]),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _commit(repo: Path) -> str | None:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short=12", "HEAD")
        # Uncommitted changes to the package make the commit alone a wrong label.
        return head + ("+dirty" if git("status", "--porcelain", "--", "srbench") else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def write(path: Path, env: Mapping[str, Any], rows: Sequence[Row]) -> dict[str, Any]:
    """Write the results document to ``path`` (JSON) and return it."""
    doc = {"schema": SCHEMA, "environment": dict(env), "rows": [asdict(r) for r in rows]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return doc


def load(path: Path) -> dict[str, Any]:
    """The results document written by :func:`write`."""
    doc = json.loads(path.read_text())
    if doc.get("schema") != SCHEMA:
        raise ValueError(f"{path} has schema {doc.get('schema')!r}; this harness reads {SCHEMA}.")
    return doc


def format_seconds(seconds: float) -> str:
    """Three significant digits, in ms below a second: ``5.83 ms``, ``196 ms``, ``2.73 s``."""
    if seconds < 1:
        return f"{_three(seconds * 1000)} ms"
    return f"{_three(seconds)} s"


def _three(value: float) -> str:
    """Three significant digits, trailing zeros kept (``3.00``); two decimals below 1."""
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def render_table(doc: Mapping[str, Any]) -> str:
    """The README's Markdown table of a results document."""
    env = doc["environment"]
    lines = [
        f"Measured {env['date'][:10]} at srbench {env['srbench_commit']} on {env['cpu']}, "
        f"{env['logical_cores']} logical cores (load average {_load(env)}); each time is the "
        "minimum over the rounds of a race interleaving srbench with the reference.",
        "",
        "| what | size | srbench | reference | ratio | rounds | largest difference |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in doc["rows"]:
        lines.append("| " + " | ".join(_cells(row)) + " |")
    return "\n".join(lines)


def _load(env: Mapping[str, Any]) -> str:
    start, end = env.get("load_average"), env.get("load_average_end")
    if not start:
        return "unknown"
    return f"{start[0]:.2f}" + (f" at the start, {end[0]:.2f} at the end" if end else "")


def _cells(row: Mapping[str, Any]) -> list[str]:
    size = row["size"] or ""
    if row["status"] != "measured":
        why = "skipped" if row["status"] == "skipped" else "not timed, values differ"
        return [row["what"], size, "", row["reference"], f"{why}: {row['reason']}", "", ""]
    ours = format_seconds(row["srbench_s"])
    theirs = f"{format_seconds(row['reference_s'])} ({row['reference']})"
    if row["kind"] == "reference" and row["ratio"] < 1:
        ratio = f"{_three(1 / row['ratio'])}x slower"
    elif row["kind"] == "reference":
        ratio = f"{_three(row['ratio'])}x faster"
    else:
        ratio = f"{_three(row['ratio'])}x the floor"
    diffs = ", ".join(f"{k} {v:.1e}" for k, v in row["max_diff"].items())
    return [row["what"], size, ours, theirs, ratio, str(row["rounds"]), diffs]


def _block(doc: Mapping[str, Any]) -> str:
    return f"{README_BEGIN}\n{render_table(doc)}\n{README_END}"


def readme_table(readme: str) -> str | None:
    """The generated block of ``readme`` (markers included), or ``None`` when it has none."""
    start = readme.find(README_BEGIN)
    end = readme.find(README_END, start)
    if start < 0 or end < 0:
        return None
    return readme[start : end + len(README_END)]


def update_readme(readme: str, doc: Mapping[str, Any]) -> str:
    """``readme`` with its generated block replaced by the table of ``doc``.

    Raises:
        ValueError: ``readme`` has no block to replace (add the two marker lines first).
    """
    old = readme_table(readme)
    if old is None:
        raise ValueError(
            f"the README has no speed table block; add the lines\n{README_BEGIN}\n{README_END}\n"
            "where it belongs."
        )
    return readme.replace(old, _block(doc))


def expected_block(doc: Mapping[str, Any]) -> str:
    """The block :func:`update_readme` writes for ``doc`` (what the README must contain)."""
    return _block(doc)
