"""The results store: atomic parts, dedup on read, locks, many runs in one folder."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from srbench.errors import RunError
from srbench.store import COLUMNS, RunWriter, load_results, read_manifest, read_run
from tests.frames import rows


def _rows(images, method="bicubic", metric="psnr"):
    frame = rows({method: range(len(images))}, metric, images=images)
    return frame.drop(columns="run_id").to_dict("records")


def test_rows_survive_flushes_and_merge(tmp_path):
    writer = RunWriter.create(tmp_path, {"config": {}, "run_id": "r1"})
    writer.add(_rows(["a", "b"]))
    writer.flush()
    writer.add(_rows(["c"]))
    assert len(read_run(writer.path)) == 2  # buffered rows are not on disk yet
    frame = writer.finish()
    writer.close()
    assert list(frame.columns) == list(COLUMNS)
    assert sorted(frame["image"]) == ["a", "b", "c"] and set(frame["run_id"]) == {"r1"}
    assert not list((writer.path / "parts").glob("*")) and (writer.path / "scores.parquet").exists()
    # the last field is the sample: None for a deterministic method
    assert writer.done_cells() == {("Set5", i, 4, "bicubic", 0, "bicubic", None) for i in "abc"}


def test_a_kill_between_merge_and_cleanup_duplicates_nothing(tmp_path):
    writer = RunWriter.create(tmp_path, {"config": {}, "run_id": "r1"})
    writer.add(_rows(["a", "b"]))
    writer.flush()
    part = next((writer.path / "parts").glob("*.parquet"))
    shutil.copy(part, tmp_path / "keep.parquet")
    writer.finish()
    shutil.copy(tmp_path / "keep.parquet", part)  # as if killed before the parts were removed
    assert len(read_run(writer.path)) == 2
    writer.close()


def test_one_writer_per_run_and_runs_side_by_side(tmp_path):
    first = RunWriter.create(tmp_path, {"config": {}, "run_id": "r1"})
    with pytest.raises(RunError, match="being written by another srbench process"):
        RunWriter.resume(tmp_path, "r1")
    with pytest.raises(RunError, match="already exists"):
        RunWriter.create(tmp_path, {"config": {}, "run_id": "r1"})
    second = RunWriter.create(tmp_path, {"config": {}})
    first.add(_rows(["a"]))
    second.add(_rows(["a", "b"], method="nearest"))
    first.finish(), second.finish()
    first.close(), second.close()
    both = load_results(tmp_path)
    assert len(both) == 3 and set(both["run_id"]) == {"r1", second.run_id}
    assert len(load_results(tmp_path, runs=["r1"])) == 1
    assert read_manifest(first.path)["run_id"] == "r1"
    with pytest.raises(RunError, match="no run 'nope'"):
        RunWriter.resume(tmp_path, "nope")


def test_empty_store_has_the_schema(tmp_path):
    frame = load_results(tmp_path)
    assert frame.empty and list(frame.columns) == list(COLUMNS)
    assert isinstance(frame, pd.DataFrame)
