"""Fault injection on a real results store: damaged parts and manifests, incomparable tables,
broken baselines and spreadsheet formulas. Every reader leaves out what it cannot read with one
``warning:`` line naming the file and the repair, reads the rest and keeps its exit status;
``srbench verify --quarantine`` moves the damage aside and ``--resume`` recomputes it.

The store is two real runs of the built-in sample with the interpolators: ``A`` (bicubic and
nearest, finished) and ``K`` (lanczos, killed: its rows in three parts, one image group each,
as a running writer leaves them).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import shutil
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from srbench.check import BASELINE_COLUMNS, BaselineError, read_baseline, write_baseline
from srbench.imageio import write_png
from srbench.leaderboard import (
    IncomparableError,
    leaderboards,
    spreadsheet_escape,
    spreadsheet_unescape,
)
from srbench.store import RunWriter, load_results, load_store, read_run, scan_run
from srbench.store.reader import runs_with_manifests
from srbench.store.writer import try_lock
from tests.conftest import property_settings, run_cli
from tests.frames import rows, write_run

KEY = ["dataset", "image", "scale", "degradation", "seed", "method", "metric", "protocol"]


def _run(results: Path, run_id: str, *args: object, expect: int = 0):  # noqa: ANN202
    return run_cli(
        "run", "-D", "sample", "-s", 4, "--workers", 1, "--no-progress",
        "--results", results, "--run-id", run_id, *args, expect=expect,
    )  # fmt: skip


def _as_killed(run_dir: Path, parts: int = 3) -> None:
    """Turn a finished run into one killed while running: its rows in ``parts`` part files
    (whole images each, as the writer flushes them), no scores.parquet, status running."""
    table = pq.read_table(run_dir / "scores.parquet")
    frame = table.to_pandas()
    images = sorted(frame["image"].unique())
    (run_dir / "parts").mkdir(exist_ok=True)
    for i, group in enumerate(np.array_split(np.array(images), parts)):
        part = table.filter(frame["image"].isin(list(group)).to_numpy())
        pq.write_table(part, run_dir / "parts" / f"1-{i:06d}.parquet", write_page_checksum=True)
    (run_dir / "scores.parquet").unlink()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (run_dir / "manifest.json").write_text(json.dumps({**manifest, "status": "running"}))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faults")
    results = root / "results"
    _run(results, "A", "-m", "bicubic,nearest")
    _run(results, "K", "-m", "lanczos")
    _as_killed(results / "runs" / "K")
    run_cli("baseline", "--results", results, "--runs", "A", "--out", root / "base.csv")
    return root


@pytest.fixture
def store(pristine: Path, tmp_path: Path) -> Path:
    """A fresh copy of the pristine store: ``results/`` and ``base.csv``."""
    shutil.copytree(pristine, tmp_path / "s")
    return tmp_path / "s"


def _part(root: Path, n: int = 1) -> Path:
    return root / "results" / "runs" / "K" / "parts" / f"1-{n:06d}.parquet"


def _values(frame: pd.DataFrame) -> pd.Series:
    """Scores by key, runtime left out (it is timed anew)."""
    kept = frame[frame["metric"] != "runtime"]
    return kept.set_index(KEY)["value"].sort_index()


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


# -- damaged rows files ----------------------------------------------------------------------

DAMAGE = {
    "truncated": lambda data: data[: len(data) // 2],
    "empty": lambda data: b"",
    "garbage": lambda data: bytes(range(256)) * 4,
    "one byte short": lambda data: data[:-1],
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_part_is_left_out_and_the_rest_read(store, damage, caplog):
    part = _part(store)
    before = read_run(part.parent.parent)
    part.write_bytes(DAMAGE[damage](part.read_bytes()))
    with caplog.at_level(logging.WARNING, "srbench.store"):
        frame = load_results(store / "results")
    (record,) = caplog.records
    assert str(part) in record.getMessage() and "--quarantine" in record.getMessage()
    assert "srbench run --resume K" in record.getMessage()
    k = frame[frame["run_id"] == "K"]
    assert 0 < len(k) < len(before)  # the other two parts are read
    assert set(frame["method"]) == {"bicubic", "nearest", "lanczos"}


@pytest.mark.parametrize(
    ("args", "expect", "shows"),
    [
        (["ls", "runs"], 0, "K  running"),
        (["leaderboard", "--no-ci"], 0, "lanczos (incomplete"),
        (["leaderboard", "-f", "csv"], 0, "lanczos"),
        (["check", "--baseline", "{base}"], 0, "no regression"),
        (["baseline", "--out", "{tmp}/b.csv"], 0, ""),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_every_command_warns_once_about_a_damaged_part(store, args, expect, shows):
    part = _part(store)
    part.write_bytes(part.read_bytes()[:100])
    filled = [a.format(base=store / "base.csv", tmp=store) for a in args]
    result = run_cli(*filled, "--results", store / "results", expect=expect)
    (line,) = _warnings(result.stderr)
    assert str(part) in line and "srbench verify --results" in line
    assert shows in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("args", [["report", "--visuals", "0", "--out"], ["plot", "bars", "--out"]])
def test_report_and_plot_warn_once_about_a_damaged_part(store, args):
    part = _part(store)
    part.write_bytes(b"PAR1 not really")
    out = store / ("report" if args[0] == "report" else "bars.png")
    result = run_cli(*args, out, "--results", store / "results")
    (line,) = _warnings(result.stderr)
    assert str(part) in line
    assert out.exists()


def test_a_part_that_is_not_a_results_table_is_damage(store):
    part, wrong = _part(store), _part(store, 2)
    pq.write_table(pq.read_table(part).drop(["method"]), part)  # a column every table has
    typed = pq.read_table(wrong).to_pandas().assign(value="high")  # a value that is no number
    pq.write_table(_to_table(typed), wrong)
    frame, damage = scan_run(part.parent.parent)
    reasons = {d.path.name: d.reason for d in damage}
    assert "no method column" in reasons[part.name] and "wrong type" in reasons[wrong.name]
    assert len(frame) == len(pq.read_table(_part(store, 0)))


def _to_table(frame: pd.DataFrame):  # noqa: ANN202
    import pyarrow as pa

    return pa.Table.from_pandas(frame, preserve_index=False)


def test_a_damaged_scores_file_is_repaired_by_quarantine_and_resume(store):
    results, base = store / "results", store / "base.csv"
    scores = results / "runs" / "A" / "scores.parquet"
    pristine = _values(read_run(scores.parent))
    scores.write_bytes(scores.read_bytes()[:-300])
    out = run_cli("check", "--results", results, "--baseline", base, expect=1)  # cells missing
    assert "| MISSING |" in out.stdout and len(_warnings(out.stderr)) == 1
    verify = run_cli("verify", "--results", results, "--quarantine", expect=1).stdout
    moved = results / "quarantine" / "A" / "scores.parquet"
    assert f"moved {scores} -> {moved}" in verify and moved.is_file()
    assert "next: `srbench run --resume A" in verify
    after = run_cli("verify", "--results", results, expect=1).stdout  # complete, rows missing
    assert "scores.parquet is missing" in after
    resumed = run_cli("run", "--resume", "A", "--results", results, "--no-progress")
    assert not _warnings(resumed.stderr)
    pd.testing.assert_series_equal(_values(read_run(scores.parent)), pristine)
    clean = run_cli("check", "--results", results, "--baseline", base)
    assert not _warnings(clean.stderr)
    assert "clean: 2 runs" in run_cli("verify", "--results", results).stdout


def test_resume_quarantines_a_damaged_part_and_recomputes_its_cells(store):
    results = store / "results"
    run_dir = results / "runs" / "K"
    pristine = _values(read_run(run_dir))
    part = _part(store)
    part.write_bytes(part.read_bytes()[:-1])
    result = run_cli("run", "--resume", "K", "--results", results, "--no-progress")
    (line,) = _warnings(result.stderr)
    moved = results / "quarantine" / "K" / "parts" / part.name
    assert f"moved it to {moved}" in line and "computed again" in line
    assert moved.is_file() and not part.exists()
    pd.testing.assert_series_equal(_values(read_run(run_dir)), pristine)
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "complete"


# -- damaged manifests -----------------------------------------------------------------------

MANIFESTS = {
    "truncated": lambda text: text[: len(text) // 2],
    "empty": lambda text: "",
    "a list": lambda text: "[1, 2]",
    "a string": lambda text: '"manifest"',
    "not UTF-8": lambda text: "\udcff",
}


@pytest.mark.parametrize("damage", [*MANIFESTS, "missing"])
def test_a_run_without_a_readable_manifest_is_left_out(store, damage):
    results = store / "results"
    path = results / "runs" / "K" / "manifest.json"
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(MANIFESTS[damage](path.read_text()).encode("utf-8", "surrogateescape"))
    board = run_cli("leaderboard", "--results", results, "--no-ci")
    (line,) = _warnings(board.stderr)
    assert "run K is left out" in line and "--quarantine" in line
    assert "bicubic" in board.stdout and "lanczos" not in board.stdout
    listed = run_cli("ls", "runs", "--results", results)
    assert listed.stdout.startswith("A ") and len(_warnings(listed.stderr)) == 1
    run_cli("check", "--results", results, "--baseline", store / "base.csv")


def test_resume_of_a_run_with_an_unreadable_manifest_exits_2(store):
    results = store / "results"
    path = results / "runs" / "K" / "manifest.json"
    path.write_text(path.read_text()[:40])
    err = run_cli("run", "--resume", "K", "--results", results, expect=2).stderr
    assert "cannot resume run K" in err and str(path) in err and "is not valid JSON" in err
    assert "Start a new run" in err and not (results / "quarantine").exists()
    (path.parent / "manifest.json").unlink()
    err = run_cli("run", "--resume", "K", "--results", results, expect=2).stderr
    assert "has no manifest.json" in err


# -- srbench verify --------------------------------------------------------------------------


def test_verify_a_clean_store(store):
    out = run_cli("verify", "--results", store / "results").stdout
    lines = out.splitlines()
    assert lines[0].endswith("runs: 2 run(s)")
    assert lines[1].split()[:2] == ["A", "complete"] and lines[1].endswith("ok")
    assert lines[2].split()[:2] == ["K", "killed"]
    assert "srbench run --resume K" in out and out.rstrip().endswith("nothing damaged.")


def test_verify_lists_and_quarantines_damage_and_readers_are_clean_after(store):
    results = store / "results"
    part = _part(store, 2)
    part.write_bytes(part.read_bytes()[:50])
    (results / "runs" / "stray").mkdir()
    (results / "runs" / "stray" / "scores.parquet").write_bytes(b"x")
    out = run_cli("verify", "--results", results, expect=1).stdout
    assert "damaged: parts/1-000002.parquet is unreadable" in out
    assert "stray" in out and "damaged: the run folder has no manifest.json" in out
    assert "found 2 damaged files and 0 problems" in out and "--quarantine" in out
    moved = run_cli("verify", "--results", results, "--quarantine", expect=1).stdout
    assert (results / "quarantine" / "K" / "parts" / part.name).is_file()
    assert (results / "quarantine" / "stray" / "scores.parquet").is_file()  # never deleted
    assert "next: `srbench run --resume K" in moved and "run stray moved whole" in moved
    assert not _warnings(run_cli("leaderboard", "--results", results).stderr)
    assert run_cli("verify", "--results", results).stdout.rstrip().endswith("nothing damaged.")


def test_verify_reports_keys_stored_twice(store):
    results = store / "results"
    part = _part(store)
    table = pq.read_table(part)
    shutil.copy(part, part.with_name("1-000009.parquet"))  # identical: harmless
    out = run_cli("verify", "--results", results).stdout
    assert f"{table.num_rows} row(s) stored twice with the same values" in out
    changed = table.to_pandas().assign(value=lambda f: f["value"] + 1)
    pq.write_table(_to_table(changed), part.with_name("1-000009.parquet"))
    out = run_cli("verify", "--results", results, expect=1).stdout
    assert "key(s) stored with different values" in out and "parts/1-000001.parquet" in out


def test_verify_leaves_a_run_being_written_alone(store):
    results = store / "results"
    part = _part(store)
    part.write_bytes(b"")
    lock = try_lock(part.parent.parent)
    try:
        out = run_cli("verify", "--results", results, "--quarantine", expect=1).stdout
    finally:
        lock.close()
    assert "K  running" in out and f"not moved: {part} (the run is being written now" in out
    assert part.exists()
    err = run_cli("verify", "--results", results, "--runs", "nope", expect=2).stderr
    assert "no run nope" in err


def test_finishing_a_run_keeps_a_part_damaged_meanwhile_aside(tmp_path, caplog):
    writer = RunWriter.create(tmp_path, {"run_id": "w", "config": {}})
    writer.add(rows({"m": [1.0, 2.0]}).drop(columns="run_id").to_dict("records"))
    writer.flush()
    (damaged,) = (tmp_path / "runs" / "w" / "parts").glob("*.parquet")
    damaged.write_bytes(b"PAR1")
    writer.add(rows({"n": [3.0]}).drop(columns="run_id").to_dict("records"))
    with caplog.at_level(logging.WARNING, "srbench.store"):
        frame = writer.finish()
    writer.close()
    assert frame["method"].tolist() == ["n"]
    kept = tmp_path / "quarantine" / "w" / "parts" / damaged.name
    assert kept.read_bytes() == b"PAR1"  # moved, never deleted
    (record,) = caplog.records
    assert "srbench run --resume w" in record.getMessage()


# -- tables that cannot be compared ----------------------------------------------------------


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``sample`` from the catalog (run ``cat``: x2 and x4) and from a folder of the same name
    (run ``dir``: x4): the x4 table mixes two dataset versions."""
    root = tmp_path_factory.mktemp("mixed")
    run_cli("sample", "--out", root / "sample")
    results = root / "results"
    run_cli("run", "-D", "sample", "-s", "2,4", "-m", "bicubic", "--workers", 1,
            "--no-progress", "--results", results, "--run-id", "cat")  # fmt: skip
    run_cli("run", "-D", root / "sample", "-s", 4, "-m", "nearest", "--workers", 1,
            "--no-progress", "--results", results, "--run-id", "dir")  # fmt: skip
    return results


@pytest.mark.parametrize("fmt", ["text", "csv", "md", "latex"])
def test_an_incomparable_table_is_skipped_with_a_note_and_the_rest_shown(mixed, fmt):
    result = run_cli("leaderboard", "--results", mixed, "-f", fmt)
    assert "sample" in result.stdout and "y-shave2" in result.stdout
    assert "y-shave4" not in result.stdout  # the x4 table is not shown
    (line,) = _warnings(result.stderr)
    assert "sample x4, bicubic is not shown" in line and "dataset_version" in line
    assert "--runs cat (bicubic)" in line and "--runs dir (nearest)" in line
    chosen = run_cli("leaderboard", "--results", mixed, "-f", fmt, "--runs", "dir")
    assert not _warnings(chosen.stderr) and "nearest" in chosen.stdout


def test_the_library_lists_skipped_tables_and_can_refuse_them(mixed):
    frame = load_results(mixed)
    boards = leaderboards(frame)
    assert [b.title() for b in boards] == ["sample x2, bicubic"]
    (skipped,) = boards.skipped
    assert skipped.title() == "sample x4, bicubic" and "--runs cat" in skipped.reason
    with pytest.raises(IncomparableError, match="mixes dataset_version"):
        leaderboards(frame, skip_incomparable=False)
    wide = run_cli("leaderboard", "--results", mixed, "--wide", "psnr")
    assert "sample x2" in wide.stdout and len(_warnings(wide.stderr)) == 1


def test_nothing_comparable_exits_2(mixed):
    err = run_cli("leaderboard", "--results", mixed, "-s", 4, expect=2).stderr
    assert "no table can be shown" in err and len(_warnings(err)) == 1


@pytest.mark.slow
def test_the_report_names_the_tables_not_shown(mixed, tmp_path):
    result = run_cli("report", "--results", mixed, "--out", tmp_path / "r", "--visuals", 0)
    text = (tmp_path / "r" / "README.md").read_text()
    assert "## Tables not shown" in text and "sample x4, bicubic is not shown" in text
    assert "### sample x2, bicubic" in text and len(_warnings(result.stderr)) == 1


def test_check_stays_strict_about_a_mixed_cell(mixed, tmp_path):
    baseline = tmp_path / "base.csv"
    run_cli("baseline", "--results", mixed, "--runs", "cat", "--out", baseline)
    results = tmp_path / "results"
    shutil.copytree(mixed, results)
    folder = mixed.parent / "sample"
    run_cli("run", "-D", folder, "-s", 4, "-m", "bicubic", "--workers", 1,
            "--no-progress", "--results", results, "--run-id", "dir2")  # fmt: skip
    out = run_cli("check", "--results", results, "--baseline", baseline, expect=1).stdout
    assert "| CHANGED |" in out and "dataset version" in out


# -- baselines -------------------------------------------------------------------------------


def _edit(line: int, column: str, value: str):  # noqa: ANN202
    """A change of one cell of a baseline's text (line 1 is the header)."""

    def change(text: str) -> str:
        lines = text.splitlines()
        header = lines[0].split(",")
        fields = lines[line - 1].split(",")
        fields[header.index(column)] = value
        lines[line - 1] = ",".join(fields)
        return "\n".join(lines) + "\n"

    return change


def _mean_row(text: str) -> str:
    lines = text.splitlines()
    header, fields = lines[0].split(","), lines[1].split(",")
    fields[header.index("image")], fields[header.index("images")] = "", "5"
    return text + ",".join(fields) + "\n"


BASELINES = {
    "empty": (lambda t: "", "the file is empty"),
    "cut in a line": (lambda t: t[: t.rindex(",")], "line 21: the last line has no line end"),
    "garbled quote": (lambda t: t.replace("\n", '\n"', 3), "line 3: not valid CSV"),
    "not CSV": (lambda t: '{"rows": []}\n', "line 1: this is not a baseline CSV"),
    "missing column": (_edit(1, "value", "valeur"), "lacks the column(s) value"),
    "extra column": (lambda t: t.replace("\n", ",note\n", 1), "unknown column(s) 'note'"),
    "short line": (lambda t: t.replace(",0,", ",", 1), "line 2: 14 fields where the header has 15"),
    "wrong type": (_edit(3, "scale", "four"), "line 3, column scale: 'four' is not"),
    "no number": (_edit(5, "value", "30,1"), "line 5: 16 fields"),
    "bad value": (_edit(5, "value", "thirty"), "line 5, column value: 'thirty' is not a number"),
    "no method": (_edit(7, "method", ""), "line 7, column method: is empty"),
    "duplicate": (lambda t: t + t.splitlines()[1] + "\n", "lines 2, 22 are the same row"),
    "mixed mean": (_mean_row, "line 22: the cell sample x4"),
    "not UTF-8": (lambda t: t.replace("bicubic", "bic\udcffubic", 1), "line 2: byte"),
}


@pytest.mark.parametrize("damage", BASELINES)
def test_a_broken_baseline_exits_2_naming_file_line_and_fix(store, damage):
    base = store / "base.csv"
    change, message = BASELINES[damage]
    base.write_bytes(change(base.read_text()).encode("utf-8", "surrogateescape"))
    err = run_cli(
        "check", "--results", store / "results", "--baseline", base, expect=2
    ).stderr.replace("\n", " ")
    assert err.startswith(f"error: {base}") and message in err
    assert f"srbench baseline --out {base}" in err


def test_the_committed_ci_baseline_reads_as_it_is():
    frame = read_baseline(Path(__file__).parents[1] / "results" / "baselines" / "ci.csv")
    assert len(frame) > 0 and frame["samples"].isna().all()


# -- spreadsheet formulas --------------------------------------------------------------------

EVIL = ['=HYPERLINK("http://x")', "+1+2", "-cmd", "@SUM(A1)", "\tx", "\rx", "'quoted"]


def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(tmp_path):
    results = tmp_path / "results"
    frame = rows({name: [30.0 + i, 31.0, 32.0] for i, name in enumerate([*EVIL, "-0.5"])})
    write_run(results, frame, "r1", "2026-01-01T00:00:00+00:00")
    out = run_cli("leaderboard", "--results", results, "-f", "csv").stdout
    table = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert sorted(table["method"]) == sorted(["'" + e for e in EVIL] + ["-0.5"])
    assert (table["mean"] > 0).all()  # numbers untouched
    wide = run_cli("leaderboard", "--results", results, "-f", "csv", "--wide", "psnr").stdout
    methods = [r[0] for r in csv.reader(io.StringIO(wide, newline=""))][3:]
    assert sorted(methods) == sorted(["'" + e for e in EVIL] + ["-0.5"])  # one line each
    baseline = tmp_path / "base.csv"
    run_cli("baseline", "--results", results, "--out", baseline)
    with baseline.open(newline="") as handle:
        written = {record[6] for record in list(csv.reader(handle))[1:]}
    assert written == {*("'" + e for e in EVIL), "-0.5"}
    assert set(read_baseline(baseline)["method"]) == {*EVIL, "-0.5"}  # read back as they were
    assert "no regression" in run_cli("check", "--results", results, "--baseline", baseline).stdout


def test_eval_csv_escapes_image_names(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    for folder in ("hr", "sr"):
        for name in ("=cmd", "-0.5", "plain"):
            write_png(tmp_path / folder / f"{name}.png", image)
    out = run_cli(
        "eval", "--sr", tmp_path / "sr", "--hr", tmp_path / "hr", "-s", 4, "-f", "csv"
    ).stdout
    names = [line.split(",")[0] for line in out.splitlines()[1:]]
    assert sorted(names) == sorted(["'=cmd", "-0.5", "plain"])


# -- properties ------------------------------------------------------------------------------


@property_settings(1000)
@given(text=st.text(string.printable + "'=+-@\t\r é", max_size=12))
def test_escaping_round_trips_and_never_leaves_a_formula(text):
    escaped = spreadsheet_escape(text)
    assert spreadsheet_unescape(escaped) == text
    if escaped.startswith(("=", "+", "-", "@", "\t", "\r")):
        assert float(escaped) == float(text)  # only numbers are left as they are


@pytest.fixture(scope="module")
def truncation(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the pristine store for properties that rewrite one file per example
    (and put it back)."""
    root = tmp_path_factory.mktemp("truncation") / "s"
    shutil.copytree(pristine, root)
    return root


def _rewritten(path: Path, data: bytes):  # noqa: ANN202
    """A context in which ``path`` holds ``data``; its bytes are restored after."""
    import contextlib

    @contextlib.contextmanager
    def context():  # noqa: ANN202
        original = path.read_bytes()
        path.write_bytes(data)
        try:
            yield
        finally:
            path.write_bytes(original)

    return context()


@pytest.mark.slow
@property_settings(200)
@given(data=st.data())
def test_a_part_cut_at_any_byte_reads_the_rest_with_one_warning(truncation, data):
    run_dir = truncation / "results" / "runs" / "K"
    part = _part(truncation)
    original = part.read_bytes()
    cut = data.draw(st.integers(0, len(original)), label="cut")
    others = sum(len(pq.read_table(_part(truncation, n))) for n in (0, 2))
    with _rewritten(part, original[:cut]):
        frame, damage = scan_run(run_dir)
    if cut == len(original):
        assert not damage and len(frame) == others + len(pq.read_table(part))
    else:
        assert [d.path for d in damage] == [part] and len(frame) == others


@pytest.mark.slow
@property_settings(200)
@given(data=st.data())
def test_a_garbled_byte_anywhere_never_breaks_a_reader(truncation, data):
    part = _part(truncation)
    garbled = bytearray(part.read_bytes())
    at = data.draw(st.integers(0, len(garbled) - 1), label="at")
    garbled[at] ^= data.draw(st.integers(1, 255), label="xor")
    others = sum(len(pq.read_table(_part(truncation, n))) for n in (0, 2))
    with _rewritten(part, bytes(garbled)):
        frame, manifests = load_store(truncation / "results")  # whatever the byte: no exception
    assert len(manifests) == 2
    assert len(frame[frame["run_id"] == "K"]) >= others


@property_settings(300)
@given(data=st.data())
def test_a_manifest_cut_at_any_byte_leaves_its_run_out_or_reads_it(truncation, data):
    path = truncation / "results" / "runs" / "A" / "manifest.json"
    original = path.read_bytes()
    cut = data.draw(st.integers(0, len(original)), label="cut")
    with _rewritten(path, original[:cut]):
        found = [d.name for d, _ in runs_with_manifests(truncation / "results")]
    whole = original[:cut].strip() == original.strip()
    assert found == (["A", "K"] if whole else ["K"])


@pytest.mark.slow
@property_settings(200)
@given(data=st.data())
def test_a_baseline_cut_at_any_byte_reads_whole_lines_or_says_why(pristine, data):
    original = (pristine / "base.csv").read_bytes()
    cut = data.draw(st.integers(0, len(original)))
    path = pristine.parent / "cut.csv"
    path.write_bytes(original[:cut])
    full = read_baseline(pristine / "base.csv")
    try:
        frame, refused = read_baseline(path), ""
    except BaselineError as exc:
        frame, refused = None, str(exc)
    if refused:
        assert str(path) in refused and "srbench baseline --out" in refused
        return
    assert original[:cut].endswith(b"\n")  # only a cut at a line end reads, as those lines
    pd.testing.assert_frame_equal(frame, full.iloc[: len(frame)])


@pytest.mark.slow
@property_settings(100)
@given(
    names=st.lists(
        st.text(string.ascii_letters + string.digits + "'=+-@,\"\t\r\n .é", min_size=1, max_size=8),
        min_size=1,
        max_size=4,
        unique=True,
    )
)
def test_a_baseline_with_any_names_round_trips(tmp_path, names):
    frame = rows({name: [30.0, 31.5] for name in names}, images=["a", "-1"])
    table = frame.drop(columns=["run_id", "error", "spread"]).assign(images=1)
    table = table[[*BASELINE_COLUMNS, "samples"]]
    table["samples"] = table["samples"].astype("Int64")
    path = tmp_path / "names.csv"
    write_baseline(table, path)
    back = read_baseline(path)
    assert back["method"].tolist() == table["method"].tolist()
    assert back["image"].tolist() == table["image"].tolist()
    assert back["value"].tolist() == table["value"].tolist()
