"""`srbench report`: a golden Markdown snapshot, linked figures, escaping, visual comparisons."""

from __future__ import annotations

import math
import os
import re

import numpy as np
import pandas as pd
import pytest

from srbench.leaderboard import leaderboard
from srbench.report.render import ReportOptions, _telling_images, render_report
from srbench.run.pipeline import RunConfig, run
from tests.conftest import REPO, run_cli
from tests.frames import rows, write_run

GOLDEN = REPO / "tests" / "golden" / "report.md"
EVIL = "<img src=x onerror=alert(1)>|**b**"
PSNR = np.array([30.0, 28.5, 33.2, 26.1, 31.7, 29.9])
SSIM = np.array([0.90, 0.85, 0.93, 0.71, 0.88, 0.86])


def _manifest(run_id: str, started: str) -> dict:
    return {
        "ended": started.replace("T10:00", "T10:05"),
        "git": {"commit": "0123456789abcdef", "dirty": run_id == "r2"},
        "device": "cpu",
        "versions": {
            "srbench": "0.1.0",
            "python": "3.11.7",
            "numpy": "2.4.6",
            "torch": None,
            "platform": "Linux",
        },
        "datasets": [{"name": "Set5", "version": "1", "images": 6}],
        "skipped": ["skipped lanczos at x3: it supports x(2, 4)"] if run_id == "r1" else [],
    }


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    results = tmp_path_factory.mktemp("report") / "results"
    first = pd.concat(
        [
            rows({"a": PSNR, "b": PSNR - 0.3}, "psnr"),
            rows({"a": SSIM, "b": SSIM - 0.01}, "ssim"),
            rows({"a": PSNR - 2, "b": PSNR - 1.8}, "psnr", scale=2, protocol="y-shave2"),
            rows({"a": SSIM - 0.1, "b": SSIM - 0.09}, "ssim", scale=2, protocol="y-shave2"),
            *(
                rows(
                    {"a": PSNR - s / 10, "b": PSNR - s / 12},
                    "psnr",
                    degradation=f"noise:sigma={s:.1f}",
                )
                for s in (10, 30)
            ),
            *(
                rows(
                    {"a": SSIM - s / 100, "b": SSIM - s / 120},
                    "ssim",
                    degradation=f"noise:sigma={s:.1f}",
                )
                for s in (10, 30)
            ),
        ]
    )
    write_run(
        results,
        first,
        "r1",
        "2026-03-01T10:00:00+00:00",
        **_manifest("r1", "2026-03-01T10:00:00+00:00"),
    )
    evil = pd.concat(
        [
            rows(
                {EVIL: PSNR[:5] - 1}, "psnr", images=["img00", "img01", "img02", "img03", "img04"]
            ),
            rows(
                {EVIL: SSIM[:5] - 0.05},
                "ssim",
                images=["img00", "img01", "img02", "img03", "img04"],
            ),
            rows({EVIL: [math.nan]}, "psnr", images=["a|b<c>"], error="ValueError: *bad* | input"),
            rows({EVIL: [math.nan]}, "ssim", images=["a|b<c>"], error="ValueError: *bad* | input"),
        ]
    )
    write_run(
        results,
        evil,
        "r2",
        "2026-03-02T10:00:00+00:00",
        **_manifest("r2", "2026-03-02T10:00:00+00:00"),
    )
    return results


@pytest.fixture(scope="module")
def readme(store):
    """The report of the store, rendered once for the tests that read it."""
    return render_report(store, store.parent / "report", options=ReportOptions(visuals=0))


@pytest.mark.slow
def test_report_matches_the_golden_file(store, readme, tmp_path):
    text = readme.read_text()
    if os.environ.get("SRBENCH_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), "run with SRBENCH_UPDATE_GOLDEN=1 to accept the change"
    # regenerating gives the same bytes: the report depends only on the stored results
    again = render_report(store, tmp_path / "again", options=ReportOptions(visuals=0))
    assert again.read_text() == text


def test_every_linked_figure_exists_and_every_figure_is_linked(readme):
    links = re.findall(r"!\[[^\]]*\]\((figures/[^)]+)\)", readme.read_text())
    assert len(links) >= 5  # bars per metric, per-image, sweeps, the perception-distortion plane
    for link in links:
        assert (readme.parent / link).stat().st_size > 1000
    on_disk = {f"figures/{p.name}" for p in (readme.parent / "figures").glob("*.png")}
    assert on_disk == set(links)


def test_hostile_names_are_escaped(readme):
    text = readme.read_text()
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "a\\|b&lt;c&gt;" in text and "\\*bad\\* \\| input" in text
    for line in text.splitlines():
        if line.startswith("| ") and "onerror" in line:
            header = text.splitlines()[text.splitlines().index(line) - 1]
            assert line.count(" | ") <= max(header.count(" | "), header.count("|") - 2), line


def test_incomplete_and_failed_methods_are_reported(readme):
    text = readme.read_text()
    assert "(incomplete, 5/6)" in text
    assert "## Failures\n\n1 cell(s) failed" in text
    assert "skipped lanczos at x3" in text
    assert "0123456789 (local edits)" in text


def test_cli_report_with_visual_comparisons(tmp_path):
    config = RunConfig(
        datasets=("sample",), scales=(4,), methods=("bicubic", "nearest"), save_images=True
    )
    results = tmp_path / "results"
    run(config, results, run_id="vis", progress=False)
    out = tmp_path / "reports" / "vis"
    run_cli("report", "--results", results, "--out", out, "--title", "Sample x4")
    text = (out / "README.md").read_text()
    assert text.startswith("# Sample x4\n")
    crops = re.findall(r"\((figures/[^)]*crops\.png)\)", text)
    assert len(crops) == 1 and (out / crops[0]).is_file()
    assert "## Provenance" in text and "| vis | complete |" in text
    empty = run_cli("report", "--results", results, "--out", out, "-D", "Set5", expect=2)
    assert "nothing to report" in empty.stderr


def test_report_with_rgb_and_set_level_metrics(tmp_path):
    results = tmp_path / "results"
    frame = pd.concat(
        [
            rows({"a": PSNR, "b": PSNR - 0.3}, "psnr"),
            rows({"a": SSIM, "b": SSIM - 0.01}, "ssim"),
            rows({"a": 0.3 - SSIM / 10, "b": 0.31 - SSIM / 10}, "lpips"),
            rows({"a": 40.0, "b": 35.0}, "fid", samples=120),
            rows({"a": 0.02, "b": 0.015}, "kid", samples=120, spread={"a": 0.004, "b": 0.003}),
        ]
    )
    started = "2026-03-01T10:00:00+00:00"
    write_run(results, frame, "r1", started, **_manifest("r1", started))
    readme = render_report(results, tmp_path / "report", options=ReportOptions(visuals=0))
    text = readme.read_text()
    assert "‡: computed from fewer samples than the metric needs" in text.split("## Summary")[0]
    assert "±: the standard deviation of kid over its random subsets" in text
    assert "| method | PSNR ↑ (dB) | SSIM ↑ | LPIPS ↓ | FID ↓ | KID ↓ | images |" in text
    row_b = next(line for line in text.splitlines() if line.startswith("| b | ") and "‡" in line)
    assert "| **35.00**‡ | **0.0150** ± 0.0030 | 6 |" in row_b
    assert "&gt; fid: computed from 120 patches (a, b), fewer than its 2048" not in text
    assert "> fid: computed from 120 patches (a, b), fewer than its 2048 feature dimensions" in text
    assert "**FID, bicubic**" in text and "| a | 40.00 |" in text
    figures = set(re.findall(r"\((figures/[^)]+)\)", text))
    assert "figures/Set5-fid-bars.png" in figures and "figures/Set5-kid-bars.png" in figures
    assert "figures/Set5-psnr-per-image.png" in figures
    assert not any("fid-per-image" in f or "kid-per-image" in f for f in figures)
    assert "figures/plane-psnr-lpips.png" in figures
    assert "not drawn" not in text
    protocol = text.split("## Protocol")[1]
    assert (
        "- `rgb-shave4-patch64-stride64`: all three channels, 4 border pixels shaved, cut into "
        "64x64 patches at stride 64." in protocol
    )
    assert (
        "the mean over 100 random subsets of 1000 patches, ± their standard deviation" in protocol
    )
    assert "lpips, fid, kid are defined on RGB" in protocol
    assert "fid, kid are set-level" in protocol and "(fid: 2048)" in protocol
    # the visual comparison picks its images by a per-image metric, even when fid comes first
    board = leaderboard(frame, metrics=["fid", "kid", "psnr"])
    assert _telling_images(board, ["a", "b"], 2) == ["img00", "img01"]
