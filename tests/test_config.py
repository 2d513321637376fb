"""Typed configuration: the training's YAML files and the run's settings as validated models, and
errors that name the file, the key, the value and what is allowed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from srbench.config import validate
from srbench.errors import SrbenchError
from srbench.methods.trained import architectures
from srbench.run.pipeline import RunConfig
from srbench.training.config import DEFAULTS, TrainConfig, config_path, load_config
from tests.conftest import run_cli

TINY = {
    "method": "edsr_baseline",
    "scale": 2,
    "arch": {"n_resblocks": 2, "n_feats": 16},
    "data": {"patch": 16, "batch": 4, "workers": 0},
}


def _write(path: Path, settings: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings))  # JSON is YAML
    return path


def _error(path: Path, method: str = "edsr_baseline", overrides: dict | None = None) -> str:
    with pytest.raises(SrbenchError) as info:
        load_config(path, method, None, overrides)
    return str(info.value)


# --------------------------------------------------------------------------------------------
# Training configs


MISTAKES = {
    "bad value": (
        {"optimizer": {"lr": -1}},
        "optimizer.lr must be a positive number, got -1",
    ),
    "unknown key": (
        {"data": {"pach": 3}},
        "unknown setting 'data.pach'; known: augment, batch, labels, patch, workers",
    ),
    "unknown arch key": (
        {"arch": {"evil": 1}},
        "unknown setting 'arch.evil'; known: n_feats, n_resblocks, res_scale, rgb_range",
    ),
    "literal": (
        {"data": {"labels": "maybe"}},
        "data.labels must be one of auto, none, got 'maybe'",
    ),
}


@pytest.mark.parametrize("case", MISTAKES)
def test_a_config_mistake_is_one_line_naming_the_file_and_key(tmp_path, case):
    change, problem = MISTAKES[case]
    path = _write(tmp_path / "methods/x.yaml", {**TINY, **change})
    assert _error(path) == f"config {path}: {problem}"
    result = run_cli(
        "train", "edsr_baseline", "--data", tmp_path, "--config", path, "--no-progress", expect=2
    )
    assert result.stderr.strip() == f"error: config {path}: {problem}"


def test_every_problem_is_reported_with_where_its_value_was_set(tmp_path):
    base = _write(tmp_path / "base.yaml", {**TINY, "schedule": {"gamma": 2}})
    child = _write(
        tmp_path / "child.yaml",
        {"base": "base.yaml", "optimizer": {"betas": [0.9, 1.5]}, "ema": 1.5, "iters": "1e5"},
    )
    lines = _error(child, overrides={"seed": -1, "data": {"workers": -2}}).splitlines()
    assert lines == [
        "command line: data.workers must be an integer >= 0, got -2",
        f"config {child}: optimizer.betas[1] must be a number in [0, 1), got 1.5",
        f"config {base}: schedule.gamma must be a number in (0, 1], got 2",
        f"config {child}: iters must be a positive integer, got '1e5' (YAML reads 1e5 as a "
        "string: write numbers like 100000)",
        f"config {child}: ema must be a number in (0, 1) or null, got 1.5",
        "command line: seed must be an integer >= 0, got -1",
    ]


def test_gans_and_only_gans_have_a_discriminator_and_an_adversarial_loss(tmp_path):
    srgan = _write(tmp_path / "srgan.yaml", {**TINY, "method": "srgan", "arch": {}})
    assert _error(srgan, "srgan").splitlines() == [
        f"config {srgan}: loss: srgan is a GAN: add an adversarial term",
        f"config {srgan}: discriminator: srgan needs a `discriminator:` section (it is a GAN)",
    ]
    edsr = _write(tmp_path / "edsr.yaml", {**TINY, "discriminator": {"arch": {}}})
    assert "edsr_baseline is not a GAN" in _error(edsr)
    bad_d = _write(
        tmp_path / "gan.yaml",
        {
            "base": str(config_path("srgan", 4)),
            "discriminator": {"arch": {"n_feat": 8}, "optimizer": {"lr": 0}},
        },
    )
    with pytest.raises(SrbenchError) as info:
        load_config(bad_d, "srgan", 4)
    assert str(info.value) == (
        f"config {bad_d}: discriminator.optimizer.lr must be a positive number, got 0"
    )
    bad_d.write_text(bad_d.read_text().replace(', "optimizer": {"lr": 0}', ""))
    with pytest.raises(SrbenchError, match=r"unknown setting 'discriminator\.arch\.n_feat'; "):
        load_config(bad_d, "srgan", 4)


def test_every_shipped_config_loads_and_dumps_the_plain_mapping_checkpoints_store():
    shipped = 0
    for name, arch in architectures().items():
        files = {config_path(name, scale) for scale in arch.scales}
        assert files == set(arch.config_dir.glob("*.yaml")), name  # every file is reachable
        for scale in arch.scales:
            config = load_config(config_path(name, scale), name, scale)
            plain = config.model_dump(mode="json")
            assert list(plain) == list(DEFAULTS) and json.loads(json.dumps(plain)) == plain
            assert validate(TrainConfig, plain, "checkpoint") == config  # read back as it was
            shipped += 1
    assert shipped >= 30


def test_the_discriminator_section_dumps_as_written():
    config = load_config(None, "srugan", 2)
    assert config.discriminator is not None and config.discriminator.class_weight == 1.0
    assert config.model_dump()["discriminator"] == {"arch": {"n_feats": 64}, "class_weight": 1.0}
    gan = validate(
        TrainConfig,
        {**config.model_dump(), "discriminator": {"arch": {}, "optimizer": {"lr": 2.0e-4}}},
        "here",
    )
    assert gan.model_dump()["discriminator"] == {"arch": {}, "optimizer": {"lr": 2.0e-4}}
    optimizer = gan.discriminator.optimizer_over(gan.optimizer)
    assert optimizer.lr == 2.0e-4 and optimizer.betas == gan.optimizer.betas


def test_the_model_is_typed_and_frozen():
    config = load_config(None, "mdsr_baseline", None)
    assert config.scale == [2, 3, 4] and config.method == "mdsr_baseline"
    assert config.scales == (2, 3, 4) and config.data.patch == 48
    with pytest.raises(ValueError, match="frozen"):
        config.iters = 5


# --------------------------------------------------------------------------------------------
# The run's config


def test_run_config_keeps_its_fields_defaults_and_manifest_form():
    config = RunConfig(datasets=["set5"], scales=(3, 2, 3), timeout=None)
    assert isinstance(config, RunConfig) and config.datasets == ("set5",)
    assert config.scales == (3, 2) and config.methods == ("all",)  # repeats dropped
    manifest = json.loads(json.dumps(config.model_dump()))
    again = RunConfig.from_dict({**manifest, "from_a_later_version": 1})
    assert again == config and again.metrics == ("psnr", "ssim")
    assert config.model_copy(update={"workers": 3}).workers == 3
    with pytest.raises(SrbenchError, match=r"run manifest: scales\[0\] must be an integer"):
        RunConfig.from_dict({"scales": ["four"]})
    with pytest.raises(SrbenchError, match=r"run manifest: scales: every scale must be .* 2"):
        RunConfig.from_dict({"scales": [1, 4]})


def test_the_version_does_not_load_the_config_models():
    code = (
        "import sys; import srbench.cli; "
        "assert 'srbench.config' not in sys.modules, 'srbench.config'; "
        "assert 'pydantic' not in sys.modules, 'pydantic'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
