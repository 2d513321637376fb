"""A run's per-image work: thread-safe methods called on several images at once (and every
guarantee kept: row order, failures as rows, read-only inputs), and the pixels of a folder named
like a catalog set checked from the images the run decodes anyway."""

from __future__ import annotations

import collections
import json
import shutil

import numpy as np
from PIL import Image

from srbench.catalog import identity, resolve, schema
from srbench.run import RunConfig, run


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
