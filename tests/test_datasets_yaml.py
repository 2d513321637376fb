"""The dataset registry file and the shared pixel digests agree with srbench's image reader."""

from __future__ import annotations

import hashlib

import pandas as pd
import yaml

from srbench.imageio import read_image, to_rgb
from tests.conftest import REPO


def _registry() -> dict[str, dict]:
    data = yaml.safe_load((REPO / "srbench" / "catalog" / "datasets.yaml").read_text())
    assert data["schema_version"] == 1
    return {d["id"]: d for d in data["datasets"]}


def test_registry_declares_the_standard_sets_with_licences():
    sets = _registry()
    assert {"Set5", "Set14", "BSD100", "Urban100", "Manga109", "DIV2K-valid", "DIV2K-train"} <= set(
        sets
    )
    for d in sets.values():
        assert d["images"] > 0 and d["licence"] and d["citation"] and d["homepage"]
    assert sets["Manga109"]["agreement_required"] and sets["DIV2K-valid"]["agreement_required"]


def test_image_counts_match_the_pixel_digests(shared):
    digests = pd.read_csv(shared / "benchmark" / "pixel_digests.csv")
    counts = digests.groupby("dataset").size().to_dict()
    by_alias = {
        a.lower(): d for d in _registry().values() for a in [d["id"], *d.get("aliases", [])]
    }
    for name, count in counts.items():
        assert by_alias[name.lower()]["images"] == count, name


def test_reader_reproduces_the_published_pixel_digests(shared):
    """Decoded pixels (gray replicated to RGB) hash to the digests of every shared HR image."""
    digests = pd.read_csv(shared / "benchmark" / "pixel_digests.csv")
    checked = 0
    for row in digests.itertuples():
        path = shared / "benchmark" / row.dataset / f"{row.image_id}.png"
        if path.exists():
            img = to_rgb(read_image(path))
            assert img.shape[:2] == (row.height, row.width), path
            assert hashlib.sha256(img.tobytes()).hexdigest() == row.rgb_pixels_sha256, path
            checked += 1
    assert checked == 119  # Set5 + Set14 + B100
