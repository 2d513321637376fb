"""srbench train: data pairs, learning, exact resume, checkpoints, weights as tags."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from srbench.catalog.sample import sample_images  # noqa: E402
from srbench.degradations import DegradationContext, parse_spec  # noqa: E402
from srbench.errors import (  # noqa: E402
    CheckpointError,
    ChecksumError,
    MissingWeightsError,
    SrbenchError,
)
from srbench.imageio import modcrop, quantize, read_image, to_rgb, write_png  # noqa: E402
from srbench.methods import create_method  # noqa: E402
from srbench.methods.trained import architecture, architectures  # noqa: E402
from srbench.metrics.fidelity import psnr  # noqa: E402
from srbench.resize import imresize  # noqa: E402
from srbench.store import load_results  # noqa: E402
from srbench.training import build, loop  # noqa: E402
from srbench.training.config import TrainConfig, load_config  # noqa: E402
from srbench.training.data import PatchPairs  # noqa: E402
from srbench.training.state import Context  # noqa: E402
from srbench.weights.loading import build_network  # noqa: E402
from tests.conftest import run_cli  # noqa: E402
from tests.httpserver import http_server_fixture, srbench_cache_fixture  # noqa: E402, F401

USER_TORCH_HOME = os.environ.get("TORCH_HOME")
SMALL_SRUGAN = {
    "n_feats": 8,
    "dense_feats": 12,
    "n_dense": 1,
    "growth": 4,
    "dense_layers": 2,
    "unet_levels": 2,
}
TINY_EDSR = {
    "method": "edsr_baseline",
    "scale": 2,
    "arch": {"n_resblocks": 2, "n_feats": 16},
    "data": {"patch": 16, "batch": 4, "workers": 0},
    "optimizer": {"lr": 1.0e-3},
    "iters": 6,
    "log_every": 1,
    "checkpoint_every": 3,
    "validation": {"every": 3, "images": 1},
}


@pytest.fixture(autouse=True)
def _no_hub(no_user_weights):
    """No user weights leak in (every test of this file)."""


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return sample_images()["astronaut"]


@pytest.fixture
def images(tmp_path, astronaut) -> Path:
    folder = tmp_path / "images"
    write_png(folder / "astronaut.png", astronaut[:192, :192])
    write_png(folder / "rocket.png", sample_images()["rocket"][:160, :200])
    return folder


def _config(tmp_path: Path, overrides: dict | None = None, **top) -> TrainConfig:
    settings = {**TINY_EDSR, **top}
    path = tmp_path / f"{settings['method']}.yaml"
    path.write_text(json.dumps(settings))  # JSON is YAML
    return load_config(path, settings["method"], None, overrides)


def _train(config, images, out, **kwargs):
    options = {"tag": None, "progress": False, "validation": str(images), **kwargs}
    return loop.train(config, str(images), out, **options)


def _states_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6, msg=key)


# --------------------------------------------------------------------------------------------
# Data


@pytest.mark.parametrize("spec", ["bicubic", "blur:sigma=1.6"])
def test_patch_lr_equals_the_same_crop_of_the_whole_degraded_image(astronaut, spec):
    degradation = parse_spec(spec)
    pairs = PatchPairs([astronaut], (4,), 12, 4, degradation, False, 7, 10_000)
    whole_hr = modcrop(astronaut, 4)
    whole_lr = degradation(whole_hr, 4, DegradationContext("d", "i"))
    for index in range(0, 400, 37):
        lr, hr = pairs.pair(index)
        hits = np.argwhere((whole_hr[::4, ::4] == hr[0, 0]).all(axis=2))
        found = [
            (y, x)
            for y, x in hits
            if np.array_equal(whole_hr[y * 4 : y * 4 + 48, x * 4 : x * 4 + 48], hr)
        ]
        assert found, index
        y, x = found[0]
        np.testing.assert_array_equal(lr, whole_lr[y : y + 12, x : x + 12])


def _symmetries(img: np.ndarray) -> list[np.ndarray]:
    out = []
    for turn in range(4):
        rotated = np.rot90(img, turn)
        out += [rotated, rotated[:, ::-1]]
    return out


def test_augmentation_is_one_symmetry_applied_to_both_images(astronaut):
    plain = PatchPairs([astronaut], (2,), 16, 4, parse_spec("bicubic"), False, 0, 1000)
    augmented = PatchPairs([astronaut], (2,), 16, 4, parse_spec("bicubic"), True, 0, 1000)
    used = set()
    for index in range(40):
        (lr0, hr0), (lr1, hr1) = plain.pair(index), augmented.pair(index)
        matches = [
            i
            for i, (a, b) in enumerate(zip(_symmetries(lr0), _symmetries(hr0), strict=True))
            if a.shape == lr1.shape and (a == lr1).all() and (b == hr1).all()
        ]
        assert matches, index
        used.add(matches[0])
    assert len(used) >= 6  # the draws reach (nearly) all 8 symmetries


def test_samples_depend_only_on_seed_and_index_so_workers_do_not_change_batches(astronaut):
    pairs = PatchPairs([astronaut], (2, 3), 8, 4, parse_spec("noise:sigma=10"), True, 3, 64)
    lr_a, hr_a = pairs.pair(9)
    lr_b, hr_b = pairs.pair(9)
    assert (lr_a == lr_b).all() and (hr_a == hr_b).all()
    assert pairs.scale_of(0) == 2 and pairs.scale_of(4) == 3 and pairs.scale_of(8) == 2
    loaders = [
        torch.utils.data.DataLoader(pairs, batch_size=4, sampler=range(64), num_workers=w)
        for w in (0, 2)
    ]
    for (lr0, hr0, label0), (lr1, hr1, label1) in zip(*loaders, strict=True):
        assert torch.equal(lr0, lr1) and torch.equal(hr0, hr1)
        assert (label0 == -1).all() and (label1 == -1).all()  # unlabelled data
        assert hr0.shape[-1] == lr0.shape[-1] * hr0.shape[-1] // lr0.shape[-1]


# --------------------------------------------------------------------------------------------
# Learning


def _patch_psnrs(net, pairs: PatchPairs, indices: range) -> tuple[float, float]:
    net.eval()
    ours, bicubic = [], []
    with torch.inference_mode():
        for index in indices:
            lr, hr = pairs.pair(index)
            x = torch.from_numpy(lr.transpose(2, 0, 1).copy()).float()[None] / 255
            sr = quantize(net(x)[0].numpy().transpose(1, 2, 0) * 255)
            ours.append(psnr(sr.astype(np.float64), hr.astype(np.float64)))
            up = quantize(imresize(lr, 2.0))
            bicubic.append(psnr(up.astype(np.float64), hr.astype(np.float64)))
    return float(np.mean(ours)), float(np.mean(bicubic))


@pytest.mark.slow
def test_a_tiny_edsr_learns_and_beats_bicubic_on_its_training_patches(tmp_path, astronaut):
    crop = astronaut[100:228, 180:308]  # one real image's patches (texture and edges)
    write_png(tmp_path / "one/astronaut.png", crop)
    config = _config(
        tmp_path,
        {"iters": 400, "log_every": 20, "checkpoint_every": 400, "validation": {"every": 400}},
        arch={"n_resblocks": 2, "n_feats": 32},
        data={"patch": 24, "batch": 8, "workers": 0, "augment": False},
        optimizer={"lr": 2.0e-3},
        schedule={"milestones": [300], "gamma": 0.25},
    )
    result = _train(config, tmp_path / "one", tmp_path / "out", validation=None)
    losses = [r["loss"] for r in result.losses]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:2]), losses
    net = build_network(architecture("edsr_baseline"), (2,), config.arch)
    net.load_state_dict(torch.load(result.weights, weights_only=True))
    pairs = PatchPairs([crop], (2,), 24, 8, parse_spec("bicubic"), False, 0, 10**6)
    ours, bicubic = _patch_psnrs(net, pairs, range(0, 400 * 8, 50))
    # measured: 33.3 dB against bicubic's 30.9 dB after 400 iterations (17 s on 2 cores)
    assert ours > bicubic + 1.0, (ours, bicubic)


GAN_CASES = {
    "srgan": ({"n_blocks": 1, "n_feats": 8}, "standard", {"n_feats": 8}, 0),
    "esrgan": ({"n_blocks": 1, "n_feats": 8, "growth": 4}, "relativistic", {"n_feats": 4}, 0),
    "srugan": (SMALL_SRUGAN, "standard", {"n_feats": 8}, 0),
    "srugan-classes": (SMALL_SRUGAN, "standard", {"n_feats": 8}, 3),
}


@pytest.mark.parametrize("case", GAN_CASES)
def test_a_gan_step_updates_both_networks(tmp_path, case):
    arch_kwargs, kind, d_arch, classes = GAN_CASES[case]
    method = case.partition("-")[0]
    config = _config(
        tmp_path,
        method=method,
        scale=2,
        arch=arch_kwargs,
        data={"patch": 16, "batch": 2, "workers": 0},
        loss={
            "mse": 1.0,
            "vgg": {"weight": 0.006, "layer": "relu2_2"},
            "adversarial": {"weight": 1.0e-3, "kind": kind},
        },
        discriminator={"arch": d_arch},
        iters=1,
    )
    torch.manual_seed(config.seed)
    parts = build.build_parts(config, "cpu", classes, print)
    losses = build.build_losses(config, "cpu", random_vgg=True)
    before = [{k: v.clone() for k, v in net.state_dict().items()} for net in (parts.g, parts.d)]
    context = Context(config, parts, losses, "cpu", tmp_path, {}, [], [], print)
    labels = list(range(classes)) if classes else None
    astronaut = sample_images()["astronaut"]
    images = [astronaut] * max(classes, 1)
    pairs = PatchPairs(images, (2,), 16, 2, parse_spec("bicubic"), True, 0, 2, labels)
    lr, hr, label = next(iter(torch.utils.data.DataLoader(pairs, batch_size=2)))
    logged = loop._step(context, lr, hr, label, 2)
    expected = {"loss", "mse", "vgg", "adversarial", "d_loss", "d_acc"}
    assert expected | ({"d_class", "d_class_acc"} if classes else set()) == logged.keys() - {"lr"}
    for net, old in zip((parts.g, parts.d), before, strict=True):
        changed = [
            k
            for k, v in net.state_dict().items()
            if v.is_floating_point() and not torch.equal(v, old[k])
        ]
        assert changed, type(net).__name__
    heads = [k for k in parts.d.state_dict() if k.startswith("class_head")]
    assert bool(heads) == bool(classes)


def test_mdsr_trains_one_scale_per_batch_and_serves_every_scale(tmp_path, images):
    config = _config(
        tmp_path,
        method="mdsr_baseline",
        scale=[2, 3, 4],
        arch={"n_resblocks": 1, "n_feats": 8},
        data={"patch": 8, "batch": 2, "workers": 0},
        iters=3,
    )
    result = _train(config, images, tmp_path / "run", tag="multi")
    assert result.card["scales"] == [2, 3, 4]
    assert {"x2", "x3", "x4"} <= result.card["validation"].keys()
    _, method = create_method("mdsr_baseline:tag=multi")
    assert method.card.scales == (2, 3, 4)
    lr = sample_images()["astronaut"][:6, :7]
    for scale in (2, 3, 4):
        assert method.upscale(lr, scale).shape == (6 * scale, 7 * scale, 3)
    assert method.version_at(2) == method.version_at(4)  # one file serves every scale


SMALL_GAN = {
    "method": "srgan",
    "arch": {"n_blocks": 1, "n_feats": 8},
    "data": {"patch": 16, "batch": 2, "workers": 0},
    "loss": {"mse": 1.0, "vgg": {"weight": 0.006, "layer": "relu2_2"}, "adversarial": 1.0e-3},
    "discriminator": {"arch": {"n_feats": 8}, "optimizer": {"lr": 2.0e-4}},
    "init": "srresnet:tag=trained",
    "iters": 4,
    "checkpoint_every": 2,
}


def test_srgan_starts_from_srresnet_and_resumes_exactly(tmp_path, images):
    srresnet = _config(tmp_path, method="srresnet", arch=SMALL_GAN["arch"], iters=2)
    pretrained = _train(srresnet, images, tmp_path / "srresnet", tag="trained")
    gan = _config(tmp_path, **SMALL_GAN)
    lines: list[str] = []
    straight = _train(gan, images, tmp_path / "straight", random_vgg=True, log=lines.append)
    assert f"initialised 30 of 30 tensors from {pretrained.installed}" in lines, lines
    _train(gan.model_copy(update={"iters": 2}), images, tmp_path / "halves", random_vgg=True)
    resumed = _train(gan, images, tmp_path / "halves", resume=True, random_vgg=True)
    _states_equal(
        torch.load(straight.weights, weights_only=True),
        torch.load(resumed.weights, weights_only=True),
    )
    d_losses = [r["d_loss"] for r in straight.losses]
    assert d_losses == [r["d_loss"] for r in resumed.losses] and len(d_losses) == 4


def test_training_data_by_catalog_name_is_downloaded_and_verified(
    tmp_path, http_server, shared, monkeypatch
):
    import zipfile

    from srbench.catalog import resolve as datasets
    from srbench.catalog import schema as catalog

    pngs = sorted((shared / "train" / "T91").glob("*.png"))[:3]
    with zipfile.ZipFile(http_server.root / "tiny_train.zip", "w") as archive:
        for png in pngs:
            archive.write(png, f"tiny/{png.name}")
    digests = {
        p.stem: f"{read_image(p).shape[1]}x{read_image(p).shape[0]} "
        + catalog.pixel_digest(to_rgb(read_image(p)))
        for p in pngs
    }
    entry = {
        "id": "Tiny-train",
        "aliases": [],
        "split": "train",
        "images": 3,
        "licence": "test",
        "agreement_required": False,
        "citation": "-",
        "homepage": "-",
        "version": "1",
        "sources": [
            {
                "url": "https://example.invalid/tiny_train.zip",
                "format": "zip",
                "sha256": None,
                "hr_dir": "tiny/",
            }
        ],
        "digests": digests,
    }
    path = tmp_path / "datasets.yaml"
    path.write_text(json.dumps({"schema_version": 1, "datasets": [entry]}))
    monkeypatch.setattr(datasets, "load_catalog", lambda: catalog.load_catalog(path))
    monkeypatch.setenv("SRBENCH_MIRROR", http_server.url(""))
    result = _train(_config(tmp_path, iters=1), "tiny-train", tmp_path / "run", validation=None)
    assert http_server.hits == ["tiny_train.zip"]
    data = result.card["training"]["data"]
    assert data["name"] == "Tiny-train" and data["verified"] and data["used"] == 3


# --------------------------------------------------------------------------------------------
# Resume, checkpoints


def test_resuming_equals_training_straight_through(tmp_path, images, monkeypatch):
    config = _config(tmp_path, ema=0.9, grad_clip=0.5, schedule={"milestones": [4]})
    straight = _train(config, images, tmp_path / "straight")
    calls = {"n": 0}
    step = loop._step

    def interrupted_step(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:  # Ctrl-C during iteration 5: iteration 4 is saved
            raise KeyboardInterrupt
        return step(*args, **kwargs)

    monkeypatch.setattr(loop, "_step", interrupted_step)
    try:
        _train(config, images, tmp_path / "resumed")
    except KeyboardInterrupt:
        pass
    else:
        pytest.fail("the training was not interrupted")
    saved = torch.load(tmp_path / "resumed/checkpoints/last.pt", weights_only=True)
    assert saved["iteration"] == 4 and saved["elapsed"] > 0
    monkeypatch.setattr(loop, "_step", step)
    resumed = _train(config, images, tmp_path / "resumed", resume=True)
    assert resumed.iterations == straight.iterations == 6
    _states_equal(
        torch.load(straight.weights, weights_only=True),
        torch.load(resumed.weights, weights_only=True),
    )
    drop = ("it_per_s", "elapsed_s")
    assert [{k: v for k, v in r.items() if k not in drop} for r in resumed.losses] == [
        {k: v for k, v in r.items() if k not in drop} for r in straight.losses
    ]
    assert resumed.history == straight.history
    assert straight.card["validation"]["iteration"] == 6
    assert straight.card["sha256"] == resumed.card["sha256"]
    # time before the interruption counts: elapsed_s keeps growing across the resume
    elapsed = [r["elapsed_s"] for r in resumed.losses]
    assert elapsed == sorted(elapsed) and resumed.card["training"]["seconds"] >= round(
        saved["elapsed"], 1
    )


def test_a_truncated_checkpoint_is_a_clear_error(tmp_path, images):
    config = _config(tmp_path)
    out = tmp_path / "run"
    _train(config, images, out)
    last = out / "checkpoints/last.pt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated, corrupt") as info:
        _train(config.model_copy(update={"iters": 8}), images, out, resume=True)
    assert "previous.pt" in str(info.value)


def test_a_checkpoint_of_another_architecture_is_a_clear_error(tmp_path, images):
    out = tmp_path / "run"
    _train(_config(tmp_path), images, out)
    other = _config(tmp_path, arch={"n_resblocks": 3, "n_feats": 16})
    with pytest.raises(CheckpointError, match=r"holds edsr_baseline x2 .*arch"):
        _train(other, images, out, resume=True)
    with pytest.raises(CheckpointError, match="already holds a training"):
        _train(_config(tmp_path), images, out)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        _train(_config(tmp_path), images, tmp_path / "empty", resume=True)


def test_weights_of_the_wrong_architecture_or_truncated_fail_clearly(tmp_path, images):
    result = _train(_config(tmp_path), images, tmp_path / "run")
    with pytest.raises(CheckpointError, match="holds edsr_baseline .* not srresnet"):
        create_method(f"srresnet:weights={result.weights}")
    alone = tmp_path / "alone.pt"  # no model card beside it: the tensors must tell
    alone.write_bytes(result.weights.read_bytes())
    with pytest.raises(CheckpointError, match="does not fit srresnet"):
        create_method(f"srresnet:weights={alone}")
    bare = tmp_path / "bare.pt"
    bare.write_bytes(result.weights.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="truncated"):
        create_method(f"edsr_baseline:weights={bare}")


# --------------------------------------------------------------------------------------------
# Weights as tags


def test_trained_weights_become_a_tag_that_srbench_run_uses(tmp_path, images):
    result = _train(_config(tmp_path), images, tmp_path / "run", tag="tiny")
    card = json.loads(result.installed.with_suffix(".json").read_text())
    assert card["tag"] == "tiny" and card["scales"] == [2]
    assert card["training"]["iterations"] == 6 and card["training"]["degradation"] == "bicubic"
    assert card["sha256"].startswith(result.weights.name.rsplit("-", 1)[1][:8])
    assert card["validation"]["x2"]["psnr"] > 0
    label, method = create_method("edsr_baseline:tag=tiny")
    assert method.card.scales == (2,)
    lr = sample_images()["astronaut"][:20, :24]
    net = build_network(architecture("edsr_baseline"), (2,), card["arch"]["kwargs"])
    net.load_state_dict(torch.load(result.weights, weights_only=True))
    x = torch.from_numpy(lr.transpose(2, 0, 1).copy()).float()[None] / 255
    expected = net.eval()(x)[0].detach().numpy().transpose(1, 2, 0) * 255
    np.testing.assert_allclose(method.upscale(lr, 2), expected, atol=1e-3)  # float32 on 0..255

    results = tmp_path / "results"
    run_cli(
        "run",
        "--datasets",
        images,
        "--scale",
        "2",
        "--methods",
        "bicubic,edsr_baseline:tag=tiny",
        "--results",
        results,
        "--no-progress",
    )
    manifest = json.loads(next(results.glob("runs/*/manifest.json")).read_text())
    weights = manifest["methods"]["edsr_baseline:tag=tiny"]["x2"]
    assert weights["tag"] == "tiny" and weights["sha256"] == card["sha256"]
    scores = load_results(results)
    versions = set(scores.loc[scores["method"] == "edsr_baseline:tag=tiny", "method_version"])
    assert versions == {f"1+tiny.{card['sha256'][:8]}"}


def test_methods_without_weights_are_listed_as_such_and_skipped_by_all(tmp_path, images):
    listing = run_cli("ls", "methods").stdout
    assert "edsr_baseline" in listing and "none (not runnable)" in listing
    result = run_cli(
        "run",
        "--datasets",
        images,
        "--scale",
        "2",
        "--methods",
        "all",
        "--results",
        tmp_path / "results",
        "--no-progress",
    )
    summary = [line for line in result.stderr.splitlines() if "left out for missing" in line]
    assert len(summary) == 1 and "srbench weights --fetch NAME" in summary[0]
    assert "skipped method" not in result.stderr  # one line, not one per method
    run_cli(
        "run",
        "--datasets",
        images,
        "--scale",
        "2",
        "--methods",
        "edsr",
        "--results",
        tmp_path / "results",
        "--no-progress",
        expect=2,
    )
    _train(
        _config(tmp_path, method="srresnet", arch={"n_blocks": 1, "n_feats": 8}),
        images,
        tmp_path / "run",
        tag="trained",
    )
    assert "trained: x2" in run_cli("ls", "methods").stdout
    result = run_cli(
        "run",
        "--datasets",
        images,
        "--scale",
        "2",
        "--methods",
        "all",
        "--results",
        tmp_path / "results2",
        "--no-progress",
    )
    assert "srresnet" in result.stdout
    left_out = [line for line in result.stderr.splitlines() if "left out for missing" in line]
    assert int(left_out[0].split()[1]) == int(summary[0].split()[1]) - 1  # srresnet now runs


def _official_layout_file(tmp_path: Path, arch_name: str, scale: int, drop_mean: bool) -> Path:
    """An authors'-release file as EDSR-PyTorch names it, made from our own module (seeded)."""
    torch.manual_seed(1)
    net = build_network(architecture(arch_name), (scale,))
    state = {k: v for k, v in net.state_dict().items() if not (drop_mean and "_mean." in k)}
    path = tmp_path / "torch/hub/checkpoints" / f"edsr_baseline_x{scale}-6b446fab.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


def _declare_as_release(monkeypatch, name: str, path: Path) -> None:
    """Declare release ``name`` with ``path``'s SHA-256: the stand-in passes the hash check."""
    import dataclasses
    import hashlib

    from srbench.weights.files import WEIGHTS

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setitem(WEIGHTS._items, name, dataclasses.replace(WEIGHTS.get(name), sha256=digest))


@pytest.mark.parametrize("drop_mean", [False, True])
def test_the_authors_release_loads_strictly_under_the_paper_tag(tmp_path, drop_mean, monkeypatch):
    path = _official_layout_file(tmp_path, "edsr_baseline", 4, drop_mean)
    # under the release's name, a file of another hash is refused (tests/test_faults_names.py)
    with pytest.raises(ChecksumError, match="expected prefix 6b446fab"):
        create_method("edsr_baseline")
    _declare_as_release(monkeypatch, "edsr-baseline-x4", path)
    _, method = create_method("edsr_baseline")
    assert method.tag == "paper" and method.card.scales == (4,)
    out = method.upscale(sample_images()["astronaut"][:8, :10], 4)
    assert out.shape == (32, 40, 3) and np.isfinite(out).all()
    assert method.provenance()["x4"]["official"] == "edsr-baseline-x4"
    _, by_path = create_method(f"edsr_baseline:weights={path}")
    assert by_path.card.scales == (4,)  # inferred from the tensors' shapes
    with pytest.raises(MissingWeightsError, match="--fetch edsr-x2 edsr-x3 edsr-x4"):
        create_method("edsr")


# --------------------------------------------------------------------------------------------
# Configs and the CLI


def test_every_shipped_config_loads_for_its_scales():
    for name, arch in architectures().items():
        for scale in arch.scales:
            config = load_config(None, name, scale)
            assert config.method == name
            assert (
                (config.scale == list(arch.scales)) if arch.multiscale else (config.scale == scale)
            )


def test_config_mistakes_are_clear_errors(tmp_path):
    with pytest.raises(SrbenchError, match="unknown setting 'itres'"):
        _config(tmp_path, itres=3)
    with pytest.raises(SrbenchError, match="is for x2, not --scale 4"):
        load_config(architecture("edsr_baseline").config_dir / "x2.yaml", "edsr_baseline", 4)
    with pytest.raises(SrbenchError, match="trains at x2, x4, x8"):
        load_config(None, "srresnet", 3)
    with pytest.raises(SrbenchError, match="needs a `discriminator:` section"):
        _config(tmp_path, method="srgan", arch={})


def test_the_train_command_trains_installs_and_refuses_to_overwrite(tmp_path, images):
    config = tmp_path / "tiny.yaml"
    config.write_text(json.dumps(TINY_EDSR))
    common = [
        "train",
        "edsr_baseline",
        "--scale",
        "2",
        "--data",
        images,
        "--config",
        config,
        "--out",
        tmp_path / "run",
        "--tag",
        "cli",
        "--device",
        "cpu",
        "--no-progress",
    ]
    result = run_cli(*common, "--iters", "2")
    assert "installed as edsr_baseline:tag=cli" in result.stderr
    assert (tmp_path / "run/log.csv").is_file() and (tmp_path / "run/log.jsonl").is_file()
    failed = run_cli(*common, "--iters", "2", expect=2)
    assert "already holds a training" in failed.stderr
    run_cli(*common, "--resume", "--iters", "3", "--workers", "1")  # workers may change
    assert json.loads((tmp_path / "run/log.jsonl").read_text().splitlines()[-1])["iteration"] == 3


@pytest.mark.slow
def test_the_real_edsr_baseline_release_beats_bicubic_on_set5(shared, monkeypatch):
    """Runs where `srbench weights --fetch edsr-baseline-x4` was done (skips here otherwise)."""
    from srbench.weights import files as weights

    if USER_TORCH_HOME is None:  # the user's own hub cache
        monkeypatch.delenv("TORCH_HOME")
    else:
        monkeypatch.setenv("TORCH_HOME", USER_TORCH_HOME)
    path = weights.path_of("edsr-baseline-x4")
    if not path.is_file():
        pytest.skip(f"real weights absent: {path} (srbench weights --fetch edsr-baseline-x4)")
    _, method = create_method("edsr_baseline")  # strict load of the authors' file
    from srbench.metrics import score_pair

    gains = []
    for png in sorted((shared / "benchmark" / "Set5").glob("*.png")):
        hr = modcrop(to_rgb(read_image(png)), 4)
        lr = imresize(hr, 0.25)
        ours = score_pair(quantize(method.upscale(lr, 4)), hr, 4)["psnr"]
        gains.append(ours - score_pair(quantize(imresize(lr, 4.0)), hr, 4)["psnr"])
    assert np.mean(gains) > 2.5, gains  # published: 32.1 dB against bicubic's 28.4 dB
