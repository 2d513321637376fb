"""Speed of srbench's hot paths beside reference implementations (run: pytest benchmarks).

Each pair is checked for identical results before it is timed; compare with
``pytest benchmarks --benchmark-group-by=group``.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.reference import matlab_imresize_numpy, skimage_psnr_ssim
from srbench.metrics import score_pair
from srbench.resize import imresize


@pytest.mark.benchmark(group="bicubic x4 downscale 2040x1356 RGB")
def test_imresize_srbench(benchmark, div2k_sized_hr):
    out = benchmark(imresize, div2k_sized_hr, 1 / 4)
    assert np.array_equal(out, matlab_imresize_numpy(div2k_sized_hr, 1 / 4))


@pytest.mark.benchmark(group="bicubic x4 downscale 2040x1356 RGB")
def test_imresize_numpy_port(benchmark, div2k_sized_hr):
    benchmark(matlab_imresize_numpy, div2k_sized_hr, 1 / 4)


@pytest.mark.benchmark(group="PSNR+SSIM y protocol 1020x678")
def test_scores_srbench(benchmark, sr_hr_pair):
    sr, hr = sr_hr_pair
    ours = benchmark(score_pair, sr, hr, 4)
    ref = skimage_psnr_ssim(sr, hr, 4)
    assert ours["psnr"] == pytest.approx(ref[0], abs=1e-6)
    assert ours["ssim"] == pytest.approx(ref[1], abs=1e-9)


@pytest.mark.benchmark(group="PSNR+SSIM y protocol 1020x678")
def test_scores_skimage(benchmark, sr_hr_pair):
    benchmark(skimage_psnr_ssim, *sr_hr_pair, 4)
