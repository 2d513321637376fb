"""SR-VAE: the conditional VAE's network, its objective (KL warm-up, ELBO), training and exact
resume, and the stochastic method (a sample per seed, the prior mean for ``upscale``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from srbench.catalog.sample import sample_images  # noqa: E402
from srbench.errors import CheckpointError, SrbenchError  # noqa: E402
from srbench.methods import create_method  # noqa: E402
from srbench.methods.base import ImageContext, Tiling  # noqa: E402
from srbench.methods.families.srvae.net import SRVAE, gaussian_kl  # noqa: E402
from srbench.training import loop  # noqa: E402
from srbench.training.config import load_config  # noqa: E402
from srbench.training.losses import kl_beta  # noqa: E402
from tests.conftest import run_cli, training_images  # noqa: E402

SMALL = {"n_feats": 8, "n_blocks": 1, "z_channels": 2, "encoder_blocks": 1}
TINY = {
    "method": "srvae",
    "scale": 2,
    "arch": SMALL,
    "data": {"patch": 12, "batch": 4, "workers": 0},  # 24 px HR patches
    "vae": {"kl_weight": 0.05, "kl_warmup": 8},
    "optimizer": {"lr": 2.0e-3},
    "iters": 40,
    "log_every": 1,
    "checkpoint_every": 20,
    "validation": {"every": 20, "images": 1},
}


def _config(folder: Path, **top):
    path = folder / "srvae.yaml"
    path.write_text(json.dumps({**TINY, **top}))  # JSON is YAML
    return load_config(path, "srvae", None)


def _train(config, images, out, **kwargs):
    options = {"tag": None, "progress": False, "validation": str(images), **kwargs}
    return loop.train(config, str(images), out, **options)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny SR-VAE trained for 40 updates and installed as ``srvae:tag=trained`` in a private
    weights store; ``(result, store)``."""
    root = tmp_path_factory.mktemp("srvae")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SRBENCH_WEIGHTS", str(root / "store"))
        patch.setenv("SRBENCH_CACHE", str(root / "cache"))
        patch.setenv("TORCH_HOME", str(root / "torch"))
        images = training_images(root / "images")
        result = _train(_config(root), images, root / "run", tag="trained")
    return result, root / "store"


@pytest.fixture
def method(trained, monkeypatch):
    monkeypatch.setenv("SRBENCH_WEIGHTS", str(trained[1]))
    return create_method("srvae:tag=trained")[1]


@pytest.fixture
def lr_image() -> np.ndarray:
    image = sample_images()["astronaut"][100:111, 200:215]  # odd sizes on purpose
    image.flags.writeable = False  # as the runner passes it
    return image


# --------------------------------------------------------------------------------------------
# The network and the objective


@pytest.mark.parametrize("scale", [2, 4])
def test_the_network_upscales_any_size_and_starts_with_posterior_equal_to_prior(scale):
    torch.manual_seed(0)
    net = SRVAE(scale, **SMALL)
    lr = torch.rand(2, 3, 5, 7)
    hr = torch.rand(2, 3, 5 * scale, 7 * scale)
    assert net(lr).shape == hr.shape
    assert net.sample(lr, torch.Generator().manual_seed(0)).shape == hr.shape
    sr, kl = net.posterior_forward(lr, hr)
    assert sr.shape == hr.shape and kl.item() == 0.0  # zero-initialised Gaussian heads
    with pytest.raises(ValueError, match="must be LR"):
        net.posterior_forward(lr, hr[..., :-1])


def test_gaussian_kl_is_the_closed_form_of_torch_distributions():
    mu_q, mu_p, lv_q, lv_p = (
        torch.randn(4, 3, generator=torch.Generator().manual_seed(i)) for i in range(4)
    )
    expected = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu_q, (0.5 * lv_q).exp()),
        torch.distributions.Normal(mu_p, (0.5 * lv_p).exp()),
    )
    torch.testing.assert_close(gaussian_kl(mu_q, lv_q, mu_p, lv_p), expected)


def test_the_kl_weight_warms_up_linearly_then_stays():
    assert [kl_beta(t, 0.2, 4) for t in range(1, 7)] == pytest.approx(
        [0.05, 0.1, 0.15, 0.2, 0.2, 0.2]
    )
    assert kl_beta(1, 0.2, 0) == 0.2  # no warm-up
    with pytest.raises(ValueError, match="from 1"):
        kl_beta(0, 0.2, 4)


# --------------------------------------------------------------------------------------------
# Training


@pytest.mark.slow
def test_training_logs_the_warm_up_and_improves_the_elbo(trained):
    result, _ = trained
    rows = result.losses
    assert [r["iteration"] for r in rows] == list(range(1, 41))
    # the logged beta is the schedule's at each update (warm-up over 8 updates to 0.05)
    assert [r["kl_beta"] for r in rows] == pytest.approx(
        [kl_beta(t, 0.05, 8) for t in range(1, 41)]
    )
    for r in rows:
        assert r["loss"] == pytest.approx(r["recon"] + r["kl_beta"] * r["kl"], rel=1e-5)
        assert r["elbo"] == pytest.approx(-(r["recon"] + r["kl"]), rel=1e-6)
    first = np.mean([r["elbo"] for r in rows[:5]])
    last = np.mean([r["elbo"] for r in rows[-5:]])
    assert last > first + 0.01, (first, last)
    assert result.card["arch"]["kwargs"] == SMALL
    assert result.card["training"]["config"]["vae"] == TINY["vae"]


def test_resuming_equals_training_straight_through(tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_WEIGHTS", str(tmp_path / "store"))
    images = training_images(tmp_path / "images")
    config = _config(tmp_path, iters=6, checkpoint_every=3, validation={"every": 3, "images": 1})
    straight = _train(config, images, tmp_path / "straight")
    step, calls = loop._step, {"n": 0}

    def interrupted_step(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:  # Ctrl-C during update 5 (in the warm-up): update 4 is saved
            raise KeyboardInterrupt
        return step(*args, **kwargs)

    monkeypatch.setattr(loop, "_step", interrupted_step)
    with pytest.raises(KeyboardInterrupt):
        _train(config, images, tmp_path / "resumed")
    monkeypatch.setattr(loop, "_step", step)
    resumed = _train(config, images, tmp_path / "resumed", resume=True)
    assert resumed.iterations == straight.iterations == 6
    assert resumed.card["sha256"] == straight.card["sha256"]  # the same weights, bit for bit
    drop = ("it_per_s", "elapsed_s")
    assert [{k: v for k, v in r.items() if k not in drop} for r in resumed.losses] == [
        {k: v for k, v in r.items() if k not in drop} for r in straight.losses
    ]
    assert resumed.history == straight.history
    # the KL term is part of the objective: another one cannot resume this training
    other = _config(tmp_path, iters=8, vae={"kl_weight": 0.5, "kl_warmup": 8})
    with pytest.raises(CheckpointError, match="vae"):
        _train(other, images, tmp_path / "resumed", resume=True)


def test_shipped_configs_load_and_mistakes_name_the_file_and_key(tmp_path):
    for scale in (2, 4):
        config = load_config(None, "srvae", scale)
        assert config.scale == scale and config.vae is not None and config.vae.kl_warmup > 0
    path = tmp_path / "srvae.yaml"
    with pytest.raises(SrbenchError, match=rf"config {path}: vae\.kl_weight .*got -1"):
        _config(tmp_path, vae={"kl_weight": -1})
    with pytest.raises(SrbenchError, match=rf"config {path}: .*vae\.kl_warmpu"):
        _config(tmp_path, vae={"kl_warmpu": 10})
    with pytest.raises(SrbenchError, match="srvae needs a `vae:` section"):
        _config(tmp_path, vae=None)
    edsr = {"method": "edsr_baseline", "vae": {"kl_weight": 0.1}}
    path.write_text(json.dumps(edsr))
    with pytest.raises(SrbenchError, match=rf"config {path}: .*edsr_baseline is not a VAE"):
        load_config(path, "edsr_baseline", 2)


# --------------------------------------------------------------------------------------------
# The stochastic method


@pytest.mark.slow
def test_the_method_draws_one_image_per_seed_and_upscale_is_the_prior_mean(method, lr_image):
    assert method.card.stochastic and method.tag == "trained"
    first, again = (method.upscale_sample(lr_image, 2, 7) for _ in range(2))
    other = method.upscale_sample(lr_image, 2, 8)
    assert first.shape == (22, 30, 3)
    assert np.array_equal(first, again)  # bit for bit
    assert np.abs(first - other).mean() > 0.1, np.abs(first - other).mean()  # of 255
    mean = method.upscale(lr_image, 2)
    assert np.array_equal(mean, method.upscale(lr_image, 2))
    net = method._net(2)
    with torch.inference_mode():
        decoded = net(method._tensor(lr_image[None]))
    assert np.array_equal(mean, method._images(decoded)[0])
    assert not np.array_equal(mean, first)
    # the runner's entry point draws with the context's seed
    context = ImageContext("set", "img", 2, "bicubic", sample=1, sample_seed=7)
    assert np.array_equal(method.super_resolve(lr_image, context, Tiling()), first)


def test_the_listing_shows_srvae_as_stochastic_without_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_WEIGHTS", str(tmp_path / "empty"))
    out = run_cli("ls", "methods").stdout
    line = next(row for row in out.splitlines() if row.startswith("srvae "))
    assert "2,4" in line and "none (not runnable)" in line and "stochastic" in line
