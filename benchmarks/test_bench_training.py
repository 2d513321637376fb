"""Speed of srbench train's parts on this machine (run: pytest benchmarks -k training).

The data pipeline must keep up with the network: one x4 pair (48x48 LR, MATLAB bicubic made on
the fly with its margin, augmented) against one EDSR-baseline step on a batch of 16.
"""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")

from srbench.degradations import parse_spec  # noqa: E402
from srbench.nets import EDSR  # noqa: E402
from srbench.training.data import PatchPairs  # noqa: E402


@pytest.mark.benchmark(group="training")
def test_one_x4_training_pair(benchmark, div2k_sized_hr):
    pairs = PatchPairs([div2k_sized_hr], (4,), 48, 16, parse_spec("bicubic"), True, 0, 10**9)
    counter = itertools.count()
    lr, hr = benchmark(lambda: pairs[next(counter)])
    assert lr.shape == (3, 48, 48) and hr.shape == (3, 192, 192)


@pytest.mark.benchmark(group="training")
def test_one_edsr_baseline_x4_step_batch16_cpu(benchmark):
    torch.manual_seed(0)
    net = EDSR(scale=4)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    lr, hr = torch.rand(16, 3, 48, 48), torch.rand(16, 3, 192, 192)

    def step() -> float:
        loss = torch.nn.functional.l1_loss(net(lr), hr)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    benchmark.pedantic(step, rounds=3, iterations=1, warmup_rounds=1)
