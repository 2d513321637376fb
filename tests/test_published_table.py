"""The published bicubic baseline (docs/protocol.md) through the CLI: degrade, upscale, eval."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import run_cli

# VDSR/EDSR/RCAN papers: (dataset, scale) -> (PSNR, SSIM), Y channel, shave = scale.
# Published tables run whole sets through the CLI: the slow tier.
pytestmark = pytest.mark.slow

PUBLISHED = {
    ("Set5", 2): (33.66, 0.9299),
    ("Set14", 2): (30.24, 0.8688),
    ("B100", 2): (29.56, 0.8431),
    ("Set5", 3): (30.39, 0.8682),
    ("Set14", 3): (27.55, 0.7742),
    ("B100", 3): (27.21, 0.7385),
    ("Set5", 4): (28.42, 0.8104),
    ("Set14", 4): (26.00, 0.7027),
    ("B100", 4): (25.96, 0.6675),
}
# Within 0.02 dB and 0.002 SSIM of the table, everywhere. B100 here is the 480x320 crop of the
# 481x321 originals: at x3 each image keeps 318 rows (or columns) where an original keeps 321, yet
# the mean still lands 0.0015 dB and 0.0009 SSIM from the table (docs/protocol.md, section 5.1).
TOLERANCE = (0.02, 0.002)


@pytest.mark.parametrize(("dataset", "scale"), list(PUBLISHED))
def test_bicubic_baseline_matches_published_table(shared, tmp_path, dataset, scale):
    hr = shared / "benchmark" / dataset
    run_cli("degrade", "--hr", hr, "-s", scale, "--out", tmp_path / "lr", "--no-progress")
    run_cli(
        "upscale", "--lr", tmp_path / "lr", "-s", scale, "--out", tmp_path / "sr", "--no-progress"
    )
    result = run_cli("eval", "--sr", tmp_path / "sr", "--hr", hr, "-s", scale, "-f", "csv")
    scores = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert len(scores) == len(list(hr.glob("*.png")))
    psnr_ref, ssim_ref = PUBLISHED[dataset, scale]
    psnr_tol, ssim_tol = TOLERANCE
    assert scores.psnr.mean() == pytest.approx(psnr_ref, abs=psnr_tol)
    assert scores.ssim.mean() == pytest.approx(ssim_ref, abs=ssim_tol)
