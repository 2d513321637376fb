"""unet_gan: the U-Net trained as a GAN in NoGAN stages (perceptual pre-training, critic
pre-training on the frozen generator, adversarial fine-tune), resumable in every stage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from srbench.catalog.sample import sample_images  # noqa: E402
from srbench.config import validate  # noqa: E402
from srbench.errors import SrbenchError  # noqa: E402
from srbench.methods import create_method  # noqa: E402
from srbench.methods.trained import architecture  # noqa: E402
from srbench.store import load_results  # noqa: E402
from srbench.training import build, loop  # noqa: E402
from srbench.training.config import StagesConfig, TrainConfig, load_config  # noqa: E402
from tests.conftest import run_cli, training_images  # noqa: E402

TINY = {
    "method": "unet_gan",
    "scale": 2,
    "arch": {"n_feats": 8, "depth": 2},
    "data": {"patch": 16, "batch": 4, "workers": 0},
    "loss": {
        "vgg": {"weight": 1.0, "layer": "relu2_2", "criterion": "mse", "network": "vgg16"},
        "adversarial": {"weight": 0.05, "kind": "standard"},
    },
    "optimizer": {"lr": 2.0e-3},
    "discriminator": {"arch": {"n_feats": 8, "n_down": 2}, "optimizer": {"lr": 1.0e-3}},
    "log_every": 1,
    "checkpoint_every": 100,
    "validation": {"every": 100, "images": 1},
}


@pytest.fixture(autouse=True)
def _no_hub(no_user_weights):
    """No user weights leak in (every test of this file)."""


@pytest.fixture
def images(tmp_path) -> Path:
    """A handful of real training images."""
    return training_images(tmp_path / "images")


def _config(tmp_path: Path, stages: dict, **top) -> TrainConfig:
    path = tmp_path / "unet_gan.yaml"
    path.write_text(json.dumps({**TINY, "stages": stages, **top}))  # JSON is YAML
    return load_config(path, "unet_gan", None)


def _train(config, images, out, **kwargs):
    options = {"tag": None, "progress": False, "validation": str(images), "random_vgg": True}
    return loop.train(config, str(images), out, **{**options, **kwargs})


def _weights(result) -> dict:
    return torch.load(result.weights, weights_only=True)


def _states_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


# --------------------------------------------------------------------------------------------
# The stages


def test_stages_split_the_iterations_in_order():
    stages = StagesConfig(pretrain=2, critic=0, finetune=3)
    assert [stages.at(i) for i in range(5)] == [
        ("pretrain", 0),
        ("pretrain", 1),
        ("finetune", 0),
        ("finetune", 1),
        ("finetune", 2),
    ]
    assert stages.at(7) == ("finetune", 5)  # a grown last stage
    assert stages.total == 5


def _fresh(config: TrainConfig):
    """The networks as a training of ``config`` initialises them (before any update)."""
    torch.manual_seed(config.seed)
    return build.build_parts(config, "cpu", 0, lambda _: None)


def _checkpoint(out: Path) -> dict:
    return torch.load(out / "checkpoints/last.pt", weights_only=True)


@pytest.mark.slow
def test_pretraining_lowers_the_generator_loss_and_leaves_the_critic_alone(tmp_path, images):
    config = _config(tmp_path, {"pretrain": 30})
    result = _train(config, images, tmp_path / "run")
    losses = [r["loss"] for r in result.losses]
    assert _mean(losses[-5:]) < 0.7 * _mean(losses[:5]), losses
    assert {r["stage"] for r in result.losses} == {"pretrain"}
    assert all("d_loss" not in r and "adversarial" not in r for r in result.losses)
    _states_equal(_fresh(config).d.state_dict(), _checkpoint(tmp_path / "run")["d"])


@pytest.mark.slow
def test_the_critic_learns_on_the_frozen_generator_then_the_finetune_changes_it(tmp_path, images):
    config = _config(tmp_path, {"critic": 120}, data={**TINY["data"], "batch": 8})
    critic = _train(config, images, tmp_path / "run")
    assert all(r["stage"] == "critic" and "loss" not in r for r in critic.losses)
    accuracy = [r["d_acc"] for r in critic.losses]
    assert len(accuracy) == 120 and 0.3 <= accuracy[0] <= 0.7, accuracy  # chance at first
    assert _mean(accuracy[-10:]) >= max(0.7, _mean(accuracy[:10]) + 0.05), accuracy
    # The generator stays as initialised, bit for bit (eval mode, no gradient, no update).
    _states_equal(_fresh(config).g.state_dict(), _weights(critic))
    assert _checkpoint(tmp_path / "run")["stage"] == {"name": "critic", "iteration": 120}

    # The fine-tune continues the same run (the last stage may grow, as iters may).
    grown = config.model_copy(update={"stages": StagesConfig(critic=120, finetune=5), "iters": 125})
    finetune = _train(grown, images, tmp_path / "run", resume=True)
    records = [r for r in finetune.losses if r["stage"] == "finetune"]
    assert [r["iteration"] for r in records] == [121, 122, 123, 124, 125]
    assert all({"loss", "vgg", "adversarial", "d_loss", "d_acc"} <= r.keys() for r in records)
    before = _weights(critic)
    assert [k for k, v in _weights(finetune).items() if not torch.equal(v, before[k])]


@pytest.mark.slow
@pytest.mark.parametrize("interrupt_at", [2, 5, 8])  # in the pre-training, critic, fine-tune
def test_a_run_interrupted_in_any_stage_resumes_exactly(
    tmp_path, images, monkeypatch, interrupt_at
):
    config = _config(tmp_path, {"pretrain": 3, "critic": 3, "finetune": 3})
    straight = _train(config, images, tmp_path / "straight")
    step = loop._step
    calls = {"n": 0}

    def interrupted_step(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == interrupt_at + 1:  # Ctrl-C during the next iteration
            raise KeyboardInterrupt
        return step(*args, **kwargs)

    monkeypatch.setattr(loop, "_step", interrupted_step)
    with pytest.raises(KeyboardInterrupt):
        _train(config, images, tmp_path / "resumed")
    saved = torch.load(tmp_path / "resumed/checkpoints/last.pt", weights_only=True)
    name, within = config.stages.at(interrupt_at - 1)
    assert saved["iteration"] == interrupt_at
    assert saved["stage"] == {"name": name, "iteration": within + 1}
    monkeypatch.setattr(loop, "_step", step)
    resumed = _train(config, images, tmp_path / "resumed", resume=True)
    _states_equal(_weights(straight), _weights(resumed))
    last = [
        torch.load(p / "checkpoints/last.pt", weights_only=True)
        for p in (tmp_path / "straight", tmp_path / "resumed")
    ]
    _states_equal(last[0]["d"], last[1]["d"])
    drop = ("it_per_s", "elapsed_s")
    assert [{k: v for k, v in r.items() if k not in drop} for r in resumed.losses] == [
        {k: v for k, v in r.items() if k not in drop} for r in straight.losses
    ]
    assert [r["stage"] for r in straight.losses] == ["pretrain"] * 3 + ["critic"] * 3 + [
        "finetune"
    ] * 3


# --------------------------------------------------------------------------------------------
# Configs


def test_every_shipped_config_has_three_stages():
    for scale in architecture("unet_gan").scales:
        config = load_config(None, "unet_gan", scale)
        stages = config.stages
        assert stages is not None and min(stages.pretrain, stages.critic, stages.finetune) > 0
        assert config.iters == stages.total and config.discriminator is not None
        assert config.data.patch * scale % 16 == 0  # the critic's strides


@pytest.mark.parametrize(
    ("stages", "top", "message"),
    [
        ({"critic": -1}, {}, r"unet_gan.yaml: stages.critic must be .*0.*got -1"),
        ({"critic": "many"}, {}, r"unet_gan.yaml: stages.critic"),
        ({"warmup": 3}, {}, r"unet_gan.yaml: unknown setting 'stages.warmup'"),
        ({}, {}, r"unet_gan.yaml: .*stages have no iterations"),
        ({"critic": 2}, {"iters": 5}, r"unet_gan.yaml: iters 5 is not the stages' sum \(0 \+ 2 "),
    ],
)
def test_stage_mistakes_are_clear_errors_naming_file_and_key(tmp_path, stages, top, message):
    with pytest.raises(SrbenchError, match=message):
        _config(tmp_path, stages, **top)


def test_iters_on_the_command_line_must_match_the_stages(tmp_path):
    path = tmp_path / "unet_gan.yaml"
    path.write_text(json.dumps({**TINY, "stages": {"pretrain": 1, "critic": 2}}))
    config = load_config(path, "unet_gan", None, {"iters": 3})
    assert config.iters == 3
    with pytest.raises(SrbenchError, match=r"^saved: stages: .*= 3\), not iters 7"):
        validate(TrainConfig, {**config.model_dump(mode="json"), "iters": 7}, "saved")
    with pytest.raises(SrbenchError, match=r"^command line: iters 5 is not .* \(1 \+ 2 \+ 0 = 3\)"):
        load_config(path, "unet_gan", None, {"iters": 5})


def test_stages_are_for_gans_only(tmp_path):
    path = tmp_path / "unet.yaml"
    path.write_text(json.dumps({"method": "unet", "scale": 2, "stages": {"pretrain": 2}}))
    with pytest.raises(SrbenchError, match=r"unet.yaml: stages.*unet is not a GAN"):
        load_config(path, "unet", None)


def test_a_missing_unet_perceptual_tag_names_the_training_to_run(tmp_path, images):
    path = tmp_path / "from_perceptual.yaml"
    path.write_text(
        json.dumps(
            {
                **TINY,
                "init": "unet_perceptual:tag=trained",
                "stages": {"critic": 1},
                # no VGG: the command line has no random one, and the error must come first
                "loss": {"l1": 1.0, "adversarial": 0.05},
            }
        )
    )
    failed = run_cli(
        "train",
        "unet_gan",
        "--data",
        images,
        "--config",
        path,
        "--out",
        tmp_path / "run",
        "--device",
        "cpu",
        "--no-progress",
        expect=2,
    )
    assert "init 'unet_perceptual:tag=trained'" in failed.stderr
    assert "srbench train unet_perceptual" in failed.stderr


@pytest.mark.slow
def test_starting_from_unet_perceptual_and_serving_the_tag_through_srbench_run(tmp_path, images):
    base = {**TINY, "method": "unet_perceptual", "loss": {"vgg": TINY["loss"]["vgg"]}}
    del base["discriminator"]
    path = tmp_path / "perceptual.yaml"
    path.write_text(json.dumps({**base, "iters": 2}))
    perceptual = loop.train(
        load_config(path, "unet_perceptual", None),
        str(images),
        tmp_path / "perceptual",
        tag="trained",
        progress=False,
        random_vgg=True,
    )
    lines: list[str] = []
    config = _config(tmp_path, {"critic": 2, "finetune": 1}, init="unet_perceptual:tag=trained")
    result = _train(config, images, tmp_path / "gan", tag="tiny", log=lines.append)
    assert any(f"from {perceptual.installed}" in line for line in lines), lines
    assert [r["stage"] for r in result.losses] == ["critic", "critic", "finetune"]

    _, method = create_method("unet_gan:tag=tiny")
    lr = sample_images()["astronaut"][:20, :24]
    assert method.upscale(lr, 2).shape == (40, 48, 3)
    results = tmp_path / "results"
    run_cli(
        "run",
        "--datasets",
        images,
        "--scale",
        "2",
        "--methods",
        "bicubic,unet_gan:tag=tiny",
        "--results",
        results,
        "--no-progress",
    )
    scores = load_results(results)
    ours = scores[scores["method"] == "unet_gan:tag=tiny"]
    psnr = ours[ours["metric"] == "psnr"]
    assert set(psnr["image"]) == {f.stem for f in images.iterdir()}
    assert np.isfinite(psnr["value"]).all()
    assert set(ours["method_version"]) == {f"1+tiny.{result.card['sha256'][:8]}"}
