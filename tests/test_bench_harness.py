"""The harness of ``python -m benchmarks.speed`` on trivial functions (nothing real is timed),
and the README's speed table against the committed ``benchmarks/speed.json``."""

from __future__ import annotations

import itertools
import json
import math
import sys

import pytest

from benchmarks import fieldtools, harness, speed
from benchmarks.harness import (
    Mismatch,
    Reference,
    Rounds,
    Row,
    Skip,
    checked_race,
    compare,
    race,
)
from benchmarks.speed import DEFAULT_OUT, Feed, b100_rows, main
from tests.conftest import REPO


class FakeClock:
    """A clock that each candidate advances by its own scripted duration."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def spend(self, durations: list[float]):
        """A candidate taking each of ``durations`` in turn, cycling."""
        turns = itertools.cycle(durations)

        def call() -> None:
            self.now += next(turns)

        return call


def test_race_interleaves_with_the_first_candidate_rotating():
    calls = []
    candidates = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    race(candidates, rounds=4)
    assert calls == [*"abc", *"bca", *"cab", *"abc"]


def test_race_takes_each_candidates_minimum():
    clock = FakeClock()
    candidates = {"ours": clock.spend([3.0, 1.0, 2.0]), "theirs": clock.spend([5.0, 6.0, 4.0])}
    assert race(candidates, rounds=3, clock=clock) == {"ours": 1.0, "theirs": 4.0}


def test_race_refuses_no_rounds():
    with pytest.raises(ValueError, match="rounds"):
        race({"a": lambda: None}, rounds=0)


def test_ratio_is_the_speedup_against_a_reference_and_the_multiple_of_a_floor():
    reference = Row("r", "what", "4x4", "reference", "ref", 7).timed(0.5, 2.0)
    floor = Row("f", "what", None, "floor", "floor", 7).timed(3.0, 0.5)
    assert (reference.ratio, floor.ratio) == (4.0, 6.0)
    with pytest.raises(ValueError, match="kind"):
        Row("x", "what", None, "fastest", "ref", 7)


def test_compare_gives_the_largest_difference_within_tolerance():
    diffs = compare(
        {"psnr": [30.0, math.inf], "ssim": 0.9},
        {"psnr": [30.0 + 2e-7, math.inf], "ssim": 0.9 - 1e-9},
        {"psnr": 3e-7, "ssim": 5e-9},
    )
    assert diffs["psnr"] == pytest.approx(2e-7) and diffs["ssim"] == pytest.approx(1e-9)


@pytest.mark.parametrize(
    ("theirs", "message"),
    [({"psnr": 30.1}, "psnr differs by 0.1"), ({"psnr": [30.0, 30.0]}, "values")],
)
def test_compare_refuses_other_values(theirs, message):
    with pytest.raises(Mismatch, match=message):
        compare({"psnr": 30.0}, theirs, {"psnr": 1e-3})


def test_checked_race_times_only_references_that_agree_and_keeps_the_reasons():
    calls = []

    def scorer(name: str, value: float):
        return lambda: calls.append(name) or {"v": value}

    def absent():
        raise Skip("not installed")

    refs = [
        Reference("same", "Same 1.0", lambda: scorer("same", 1.0), {"v": 1e-9}, "agrees"),
        Reference("gone", "Gone", absent, {"v": 1e-9}),
        Reference("off", "Off", lambda: scorer("off", 2.0), {"v": 1e-9}),
    ]
    rows = checked_race("thing", "8x8", scorer("ours", 1.0), refs, Rounds(3, 1), "grp")
    assert [(r.name, r.status) for r in rows] == [
        ("grp-8x8-same", "measured"),
        ("grp-8x8-gone", "skipped"),
        ("grp-8x8-off", "mismatch"),
    ]
    assert rows[1].reason == "not installed" and "v differs by 1" in rows[2].reason
    assert rows[0].ratio == rows[0].reference_s / rows[0].srbench_s
    assert rows[0].max_diff == {"v": 0.0} and rows[0].note == "agrees"
    assert rows[2].srbench_s is None and rows[2].ratio is None and rows[0].rounds == 3
    # srbench's check, then per reference its check and, if it agrees, 3 interleaved rounds.
    race_same = ["ours", "same", "same", "ours", "ours", "same"]
    assert calls == ["ours", "same", *race_same, "off"]


def test_checked_race_gives_slow_calls_fewer_rounds():
    clock = FakeClock()
    slow = Reference("slow", "Slow", lambda: lambda: clock.spend([2.5])() or {}, {})
    fast = Reference("fast", "Fast", lambda: lambda: clock.spend([0.5])() or {}, {})
    ours = lambda: clock.spend([0.1])() or {}  # noqa: E731
    rows = checked_race("t", None, ours, [slow, fast], Rounds(7, 3, slow_s=2.0), "g", clock)
    assert [r.rounds for r in rows] == [3, 7]
    assert rows[0].ratio == pytest.approx(25.0) and rows[1].ratio == pytest.approx(5.0)


def test_checked_race_with_every_reference_skipped_times_nothing():
    calls = []
    ours = lambda: calls.append(1) or {}  # noqa: E731
    rows = checked_race("thing", None, ours, [Reference("x", "X", _skip, {})], Rounds(), "g")
    assert rows[0].status == "skipped" and rows[0].name == "g-x" and len(calls) == 1


def _skip():
    raise Skip("absent")


def test_feed_gives_each_call_its_own_copy_cycling():
    feed = Feed([("a",), ("b",)])
    assert [feed.next() for _ in range(3)] == [("a",), ("b",), ("a",)]


def _doc(tmp_path):
    rows = [
        Row("s-1-basicsr", "PSNR", "1x1", "reference", "BasicSR 1.4.2", 7).timed(0.0058, 0.028),
        Row("s-1-pyiqa", "PSNR", "1x1", "reference", "pyiqa", 7).skip("pyiqa is not installed"),
        Row("f", "start-up", None, "floor", "numpy+PIL", 7).timed(0.3, 0.12),
        Row("l", "LPIPS", "1x1", "reference", "lpips", 3).timed(0.4, 0.2),
    ]
    rows[0].max_diff = {"psnr": 6e-8}
    return harness.write(tmp_path / "out.json", harness.environment(REPO), rows)


def test_json_has_the_environment_and_every_rows_fields(tmp_path):
    doc = _doc(tmp_path)
    assert harness.load(tmp_path / "out.json") == json.loads(json.dumps(doc))
    env = doc["environment"]
    assert {"cpu", "logical_cores", "python", "versions", "srbench_commit", "date"} <= set(env)
    assert {"numpy", "opencv-python-headless", "torch"} <= set(env["versions"])
    fields = {
        "name", "what", "size", "kind", "reference", "rounds", "srbench_s", "reference_s",
        "ratio", "max_diff", "tolerance", "note", "status", "reason",
    }  # fmt: skip
    assert all(set(row) == fields for row in doc["rows"])
    assert doc["rows"][0]["ratio"] == pytest.approx(0.028 / 0.0058)
    (tmp_path / "old.json").write_text(json.dumps({**doc, "schema": 0}))
    with pytest.raises(ValueError, match="schema"):
        harness.load(tmp_path / "old.json")


def test_table_shows_times_ratios_and_skip_reasons(tmp_path):
    table = harness.render_table(_doc(tmp_path))
    lines = table.splitlines()
    assert lines[-4].startswith(
        "| PSNR | 1x1 | 5.80 ms | 28.0 ms (BasicSR 1.4.2) | 4.83x faster | 7 | psnr 6.0e-08 |"
    )
    assert "skipped: pyiqa is not installed" in lines[-3]
    assert "| 300 ms | 120 ms (numpy+PIL) | 2.50x the floor |" in lines[-2]
    assert "| 400 ms | 200 ms (lpips) | 2.00x slower | 3 |" in lines[-1]
    assert harness.format_seconds(2.734) == "2.73 s" and harness.format_seconds(0.196) == "196 ms"


def test_readme_block_is_replaced_between_its_markers(tmp_path):
    doc = _doc(tmp_path)
    readme = f"# x\n\n{harness.README_BEGIN}\nold\n{harness.README_END}\n\nafter\n"
    updated = harness.update_readme(readme, doc)
    assert harness.readme_table(updated) == harness.expected_block(doc)
    assert updated.startswith("# x\n\n") and updated.endswith("\n\nafter\n")
    with pytest.raises(ValueError, match="no speed table"):
        harness.update_readme("# x\n", doc)


def test_readme_only_rewrites_the_table_from_the_json(tmp_path):
    doc = _doc(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(f"{harness.README_BEGIN}\n{harness.README_END}\n")
    args = ["--readme-only", "--out", str(tmp_path / "out.json"), "--readme-path", str(readme)]
    assert main(args) == 0
    assert harness.readme_table(readme.read_text()) == harness.expected_block(doc)


def test_unknown_group_is_refused():
    with pytest.raises(SystemExit, match="unknown group"):
        main(["--only", "nothing", "--out", "/nonexistent/x.json"])


def test_b100_rows_are_skipped_with_the_reason_without_the_data(tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_SHARED_DATA", str(tmp_path))
    rows = b100_rows(Rounds())
    assert [r.status for r in rows] == ["skipped", "skipped"]
    assert all(r.reason.startswith(f"B100 not found at {tmp_path}") for r in rows)


def test_readme_quotes_the_committed_results():
    readme = (REPO / "README.md").read_text()
    assert harness.readme_table(readme) == harness.expected_block(harness.load(DEFAULT_OUT)), (
        "README's speed table is not benchmarks/speed.json's: run "
        "`python -m benchmarks.speed --readme-only`"
    )


def test_a_reference_not_installed_is_skipped_with_how_to_install(monkeypatch):
    monkeypatch.setattr(speed, "basicsr_psnr_ssim", lambda: None)
    monkeypatch.setattr(speed, "pyiqa_psnr_ssim", lambda: None)
    with pytest.raises(Skip, match="pip install basicsr"):
        speed._basicsr_scores([])
    with pytest.raises(Skip, match="pip install pyiqa"):
        speed._pyiqa_scores([])


def test_load_leaves_imports_leaf_modules_without_the_package_init(tmp_path, monkeypatch):
    broken = "raise ImportError('the whole package does not import')\n"
    (tmp_path / "fieldpkg" / "sub").mkdir(parents=True)
    (tmp_path / "fieldpkg" / "__init__.py").write_text(broken)
    (tmp_path / "fieldpkg" / "sub" / "__init__.py").write_text(broken)
    (tmp_path / "fieldpkg" / "sub" / "base.py").write_text("VALUE = 2\n")
    (tmp_path / "fieldpkg" / "sub" / "leaf.py").write_text(
        "from fieldpkg.sub.base import VALUE\nfrom fieldpkg.sub import helper\n"
        "def twice():\n    return helper(VALUE)\n"
    )
    (tmp_path / "fieldpkg" / "sub" / "helpers.py").write_text("def helper(x):\n    return 2 * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded = fieldtools.load_leaves(
        "fieldpkg",
        ["fieldpkg.sub.base", "fieldpkg.sub.helpers", "fieldpkg.sub.leaf"],
        {"fieldpkg.sub": ["helper"]},
    )
    assert loaded["fieldpkg.sub.leaf"].twice() == 4
    assert not [name for name in sys.modules if name.split(".")[0] == "fieldpkg"]
    assert fieldtools.load_leaf("fieldpkg", ["fieldpkg.sub.base"]).VALUE == 2
    assert fieldtools.load_leaf("no_such_package_here", ["no_such_package_here.x"]) is None
