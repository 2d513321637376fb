"""``srbench download`` / ``ls datasets`` / ``run`` on a catalog set served by a local mirror."""

from __future__ import annotations

import json
import re
import tarfile

import pytest

from srbench.store import load_results
from tests.conftest import run_cli
from tests.httpserver import http_server_fixture, srbench_cache_fixture  # noqa: F401

pytestmark = pytest.mark.usefixtures("srbench_cache")


@pytest.fixture
def set5_mirror(http_server, shared, monkeypatch):
    """The Hugging Face layout (``Set5_HR/*.png`` in ``Set5_HR.tar.gz``) on a local mirror;
    the EDSR ``benchmark.tar`` is missing there, so the catalog's second source is used."""
    with tarfile.open(http_server.root / "Set5_HR.tar.gz", "w:gz") as tar:
        for png in sorted((shared / "benchmark" / "Set5").glob("*.png")):
            tar.add(png, arcname=f"Set5_HR/{png.name}")
    monkeypatch.setenv("SRBENCH_MIRROR", http_server.url(""))
    return http_server


def test_download_verify_list_and_run_set5_from_a_mirror(set5_mirror, tmp_path, monkeypatch):
    assert re.search(r"Set5 +test +5 +missing", run_cli("ls", "datasets").stdout)
    out = run_cli("download", "-D", "set5", "--no-progress")
    assert "Set5: 5 images verified" in out.stderr
    assert set5_mirror.hits == ["benchmark.tar", "Set5_HR.tar.gz"]
    assert re.search(r"Set5 +test +5 +verified", run_cli("ls", "datasets").stdout)

    monkeypatch.setenv("SRBENCH_OFFLINE", "1")  # the cached copy is all a run needs now
    run_cli("run", "-D", "set5", "-m", "bicubic", "-s", "4", "--results", tmp_path, "--no-progress")
    frame = load_results(tmp_path)
    means = frame[frame["metric"] != "runtime"].groupby("metric")["value"].mean()
    assert abs(means["psnr"] - 28.42) < 0.02 and abs(means["ssim"] - 0.8104) < 0.002
    assert set(frame["dataset"]) == {"Set5"} and set(frame["dataset_version"]) == {"1"}
    (run_dir,) = (tmp_path / "runs").iterdir()
    (record,) = json.loads((run_dir / "manifest.json").read_text())["datasets"]
    assert record["verified"] and record["kind"] == "catalog" and record["images"] == 5
    assert len(set5_mirror.hits) == 2


def test_run_fetches_what_is_missing_and_offline_says_where(set5_mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    err = run_cli("run", "-D", "set5", "-m", "bicubic", "--results", tmp_path, expect=2).stderr
    assert "Set5_HR.tar.gz" in err and "SRBENCH_OFFLINE" in err
    monkeypatch.delenv("SRBENCH_OFFLINE")
    run_cli("run", "-D", "set5", "-m", "nearest", "--results", tmp_path, "--no-progress")
    assert len(load_results(tmp_path)) == 5 * 3


def test_a_set_under_agreement_is_not_fetched_without_opt_in(http_server):
    err = run_cli("download", "-D", "manga109", expect=2).stderr
    assert "--accept-licence Manga109" in err and http_server.hits == []
