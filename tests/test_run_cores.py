"""A run's per-image work: thread-safe methods called on several images at once (and every
guarantee kept: row order, failures as rows, read-only inputs), and the pixels of a folder named
like a catalog set checked from the images the run decodes anyway."""

from __future__ import annotations

import collections
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from srbench.catalog import identity, resolve, schema
from srbench.imageio import write_png
from srbench.run import RunConfig, resume, run
from srbench.store import read_run


def _counting_reads(monkeypatch) -> collections.Counter:
    """Count decodes per file stem, wherever a run or the identity check reads an image."""
    reads: collections.Counter = collections.Counter()
    real = resolve.read_image

    def counted(path, *args, **kwargs):
        reads[path.stem] += 1
        return real(path, *args, **kwargs)

    monkeypatch.setattr(resolve, "read_image", counted)
    monkeypatch.setattr(schema, "read_image", counted)
    return reads


def test_a_named_folder_is_checked_from_the_pixels_the_run_reads(shared, tmp_path, monkeypatch):
    """A folder named Set5 with one image changed: the manifest says so, naming the image, as the
    full check does, and each image was decoded once (before, the check decoded every image
    again before the run started)."""
    monkeypatch.setenv("SRBENCH_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "Set5"
    shutil.copytree(shared / "benchmark" / "Set5", folder)
    changed = np.array(Image.open(folder / "bird.png"))
    changed[0, 0] ^= 1
    Image.fromarray(changed).save(folder / "bird.png")
    reads = _counting_reads(monkeypatch)
    config = RunConfig(datasets=(str(folder),), methods=("bicubic",), scales=(4,), workers=2)
    result = run(config, tmp_path / "results", progress=False)
    check = json.loads((result.path / "manifest.json").read_text())["datasets"][0]["catalog"]
    assert check["same_pixels"] is False and check["problem"].startswith("Set5: the images")
    assert reads == dict.fromkeys(["baby", "bird", "butterfly", "head", "woman"], 1)
    dataset = resolve.resolve_dataset(str(folder))
    assert check == identity.catalog_identity(dataset)  # the same record as a full check
    Image.fromarray(np.array(Image.open(shared / "benchmark" / "Set5" / "bird.png"))).save(
        folder / "bird.png"
    )
    result = run(config, tmp_path / "results", progress=False)
    check = json.loads((result.path / "manifest.json").read_text())["datasets"][0]["catalog"]
    assert check == {"id": "Set5", "version": check["version"], "same_pixels": True}


PLUGIN = f"{Path(__file__).with_name('plugins_concurrent.py')}:Meeting"


@pytest.fixture
def tiny(tmp_path) -> Path:
    """A folder dataset of six 40x32 colour images."""
    folder = tmp_path / "tiny"
    rng = np.random.default_rng(3)
    for name in "abcdef":
        write_png(folder / f"{name}.png", rng.integers(0, 256, (40, 32, 3), dtype=np.uint8))
    return folder


def _rows(result) -> pd.DataFrame:
    """A run's stored rows in store order, without what differs between runs."""
    frame = result.scores.drop(columns=["run_id"])
    return frame[frame["metric"] != "runtime"].reset_index(drop=True)


def test_a_thread_safe_method_is_called_on_several_images_at_once(tmp_path, tiny):
    """Its first two calls wait for each other: they succeed only when made at the same time.
    The rows (values and their order in the store) are those of calls made one at a time."""
    config = RunConfig(datasets=(str(tiny),), methods=("meeting",), scales=(2,), workers=2)
    config = config.model_copy(update={"method_files": (PLUGIN,)})
    together = run(config, tmp_path / "together", progress=False)
    assert together.failures.empty
    serial = run(
        config.model_copy(update={"methods": ("bicubic",), "method_files": ()}),
        tmp_path / "serial",
        progress=False,
    )
    expected = _rows(serial).replace({"method": {"bicubic": "meeting"}})
    got = _rows(together)
    pd.testing.assert_frame_equal(
        got.drop(columns=["method_version"]), expected.drop(columns=["method_version"])
    )


def test_one_worker_calls_a_thread_safe_method_one_image_at_a_time(tmp_path, tiny):
    """With one worker thread the first call waits alone: the meeting breaks, and the two
    calls that met nobody are failure rows (the probe above is not vacuous)."""
    spec = "meeting:wait=0.5"
    config = RunConfig(datasets=(str(tiny),), methods=(spec,), scales=(2,), workers=1)
    config = config.model_copy(update={"method_files": (PLUGIN,)})
    failures = run(config, tmp_path / "results", progress=False).failures
    assert len(failures) == 2 and failures["error"].str.contains("BrokenBarrierError").all()


def test_under_a_timeout_calls_still_meet_and_an_overrun_fails_its_image_only(tmp_path, tiny):
    """--timeout: each call of a thread-safe method gets a thread of its own, so the first two
    still meet; the call that overruns is abandoned (one event in the manifest) and the method
    goes on with the same instance for the other images."""
    spec = "meeting:slow=e"
    config = RunConfig(datasets=(str(tiny),), methods=(spec,), scales=(2,), workers=2, timeout=1.5)
    result = run(config.model_copy(update={"method_files": (PLUGIN,)}), tmp_path, progress=False)
    assert result.failures["image"].tolist() == ["e"]
    assert result.failures["error"].iloc[0].startswith("timeout:")
    assert set(result.scores.loc[result.scores["error"].isna(), "image"]) == set("abcdf")
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["execution"]["abandoned_calls"] == {spec: 1}


def test_concurrent_calls_keep_failures_and_warnings(tmp_path, tiny):
    """A call that raises in the pool fails its image only; a warning about a pool call's
    output reaches the manifest, once."""
    spec = "meeting:fail=c,unit=1"
    config = RunConfig(datasets=(str(tiny),), methods=(spec,), scales=(2,), workers=2)
    result = run(config.model_copy(update={"method_files": (PLUGIN,)}), tmp_path, progress=False)
    assert result.failures["image"].tolist() == ["c"]
    assert "failed on c on purpose" in result.failures["error"].iloc[0]
    scored = result.scores[result.scores["error"].isna()]
    assert set(scored["image"]) == set("abdef")
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert "[0, 1] image" in manifest["warnings"][spec]


def test_ctrl_c_in_a_pool_call_keeps_the_cells_done_and_resume_completes_them(tmp_path, tiny):
    """Ctrl-C raised by a call in the pool stops the run like Ctrl-C in the driver: the run is
    marked interrupted, the cells that finished are stored, and --resume computes exactly the
    others; the result equals an uninterrupted run's."""
    marker = tmp_path / "stopped"
    spec = f"meeting:wait=0,interrupt={marker}"  # a resumed run may call it once: no meeting
    config = RunConfig(datasets=(str(tiny),), methods=(spec,), scales=(2,), workers=2)
    config = config.model_copy(update={"method_files": (PLUGIN,)})
    with pytest.raises(KeyboardInterrupt):
        run(config, tmp_path / "results", run_id="r", progress=False)
    run_dir = tmp_path / "results" / "runs" / "r"
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "interrupted"
    stored = set(read_run(run_dir)["image"])
    assert "d" not in stored and stored < set("abcdef")
    resumed = resume("r", tmp_path / "results", progress=False)
    clean = run(config, tmp_path / "clean", progress=False)  # the marker exists: no Ctrl-C
    keys = ["image", "metric"]
    got, want = (_rows(r).sort_values(keys).reset_index(drop=True) for r in (resumed, clean))
    pd.testing.assert_frame_equal(got, want)
