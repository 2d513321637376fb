"""Speed of srbench train's parts on this machine (run: pytest benchmarks -k training).

The data pipeline must keep up with the network: one x4 pair (48x48 LR, MATLAB bicubic made on
the fly with its margin, augmented) against one training step of each paper network on a batch
of 16 at its paper patch size; and the torch MATLAB-bicubic upsampler the seed baselines use.
"""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")

from srbench.degradations import parse_spec  # noqa: E402
from srbench.methods.families.edsr.net import EDSR  # noqa: E402
from srbench.methods.families.esrgan.net import RRDBNet  # noqa: E402
from srbench.methods.families.srugan.net import SRUGAN  # noqa: E402
from srbench.methods.layers import BicubicUpsample  # noqa: E402
from srbench.training.data import PatchPairs  # noqa: E402


@pytest.mark.benchmark(group="training")
def test_one_x4_training_pair(benchmark, div2k_sized_hr):
    pairs = PatchPairs([div2k_sized_hr], (4,), 48, 16, parse_spec("bicubic"), True, 0, 10**9)
    counter = itertools.count()
    lr, hr, _ = benchmark(lambda: pairs[next(counter)])
    assert lr.shape == (3, 48, 48) and hr.shape == (3, 192, 192)


# network, LR patch side (the papers': EDSR 48, ESRGAN 32 for 128 HR, SRGAN-style 24 for 96 HR)
STEPS = {"edsr_baseline": (EDSR, 48), "rrdb": (RRDBNet, 32), "srugan": (SRUGAN, 24)}


@pytest.mark.benchmark(group="training")
@pytest.mark.parametrize("name", STEPS)
def test_one_x4_training_step_batch16_cpu(benchmark, name):
    torch.manual_seed(0)
    cls, patch = STEPS[name]
    net = cls(scale=4)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    lr, hr = torch.rand(16, 3, patch, patch), torch.rand(16, 3, 4 * patch, 4 * patch)

    def step() -> float:
        loss = torch.nn.functional.l1_loss(net(lr), hr)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    benchmark.pedantic(step, rounds=3, iterations=1, warmup_rounds=1)


@pytest.mark.benchmark(group="training")
def test_torch_bicubic_x4_of_a_div2k_lr_image(benchmark, div2k_sized_hr):
    lr = torch.rand(1, 3, div2k_sized_hr.shape[0] // 4, div2k_sized_hr.shape[1] // 4)
    up = BicubicUpsample(4)
    out = benchmark(up, lr)
    assert out.shape[-2:] == (4 * lr.shape[-2], 4 * lr.shape[-1])
