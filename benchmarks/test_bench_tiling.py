"""``--tile 48`` (default overlap and batch size) beside untiled inference: EDSR-baseline x4
(random weights) on a 128x128 LR image.

Run: ``pytest benchmarks/test_bench_tiling.py --benchmark-group-by=group``. The method is srbench's
own ``edsr_baseline`` loaded from a random-weight state dict (``weights=FILE``), run through
:func:`srbench.methods.inference.infer` as the runner calls it, on one torch thread (the
ratio, not the absolute time, is what this measures; more threads favour the larger untiled
call). The tiled output is checked against the untiled one before timing.
"""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from srbench.methods import ImageContext, Tiling, create_method
from srbench.methods.inference import infer
from srbench.resize import imresize
from srbench.run.config import RunConfig

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.benchmark(group="EDSR-baseline x4 128x128 LR: tiled vs untiled")
CONTEXT = ImageContext("bench", "coffee", 4, "bicubic")
#: `srbench run --tile 48` with the default --tile-overlap and --batch-size
TILED = Tiling(
    48, RunConfig.model_fields["tile_overlap"].default, RunConfig.model_fields["batch_size"].default
)


@pytest.fixture(scope="module")
def edsr(tmp_path_factory: pytest.TempPathFactory):
    from srbench.methods.families.edsr.net import EDSR

    torch.set_num_threads(1)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "edsr_baseline_x4_random.pt"
    torch.save(EDSR(scale=4, n_resblocks=16, n_feats=64).state_dict(), path)
    return create_method(f"edsr_baseline:weights={path}")[1]


@pytest.fixture(scope="module")
def lr() -> np.ndarray:
    return imresize(skimage.data.coffee(), shape=(128, 128))


def test_untiled(benchmark, edsr, lr):
    benchmark.pedantic(infer, (edsr, lr, CONTEXT, Tiling()), rounds=7, warmup_rounds=1)


def test_tiled_48(benchmark, edsr, lr):
    whole = infer(edsr, lr, CONTEXT, Tiling())[0]
    tiled = benchmark.pedantic(infer, (edsr, lr, CONTEXT, TILED), rounds=7, warmup_rounds=1)[0]
    # EDSR's receptive field (33 3x3 convolutions: 33 LR px each side) exceeds the default 8 px
    # overlap, so tiles cannot be exact; measured: mean 0.055 grey levels, max 4 (keeping only
    # tile centres gave 0.002, max 1, at 1.8x the time).
    diff = np.abs(tiled.astype(int) - whole.astype(int))
    assert diff.mean() < 0.1, diff.mean()
