"""Public checkpoints as methods (srbench.methods.zoo): families of the authors' files by tag, a
user's own file of a family's architecture, and ``model:weights=PATH`` for any file spandrel
recognises. Every checkpoint is a randomly initialised network of the real variant's
hyper-parameters, saved in the authors' layout; ``TORCH_HOME`` is a temporary folder."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from srbench.errors import CheckpointError, ChecksumError, MissingWeightsError, SrbenchError
from srbench.methods import create_method, register_method
from srbench.methods.papers import PaperScore
from srbench.methods.zoo import Release, ZooFamily, ZooMethod
from srbench.weights.files import WEIGHTS, WeightFile, hub_dir

# SwinIR-S, the lightweight variant (Liang et al. 2021, sec. 4.1): 4 RSTB x 6 layers, 60
# channels, window 8, pixel-shuffle-direct upsampler; 0.9M parameters, fast on a CPU.
SWINIR_S = {
    "img_size": 64,
    "window_size": 8,
    "img_range": 1.0,
    "depths": [6, 6, 6, 6],
    "embed_dim": 60,
    "num_heads": [6, 6, 6, 6],
    "mlp_ratio": 2,
    "upsampler": "pixelshuffledirect",
    "resi_connection": "1conv",
}


def swinir(scale: int, **kwargs: object) -> torch.nn.Module:
    """A randomly initialised SwinIR (spandrel's class: the authors' key layout and shapes)."""
    from spandrel.architectures.SwinIR import SwinIR

    torch.manual_seed(scale)
    return SwinIR(upscale=scale, in_chans=3, **{**SWINIR_S, **kwargs}).eval()


def rcan(scale: int) -> torch.nn.Module:
    """A randomly initialised RCAN of the paper's configuration (10 groups x 20 blocks, 64
    channels, reduction 16): the authors' layout and shapes."""
    from spandrel.architectures.RCAN import RCAN

    torch.manual_seed(scale)
    return RCAN(scale=scale).eval()


def direct(net: torch.nn.Module, lr: np.ndarray) -> np.ndarray:
    """``net`` called directly on ``lr`` (0..1 in, 0..255 float out, clamped as srbench does)."""
    x = torch.from_numpy(lr).permute(2, 0, 1)[None].float() / 255.0
    with torch.no_grad():
        y = net(x).clamp(0, 1)
    return y[0].permute(1, 2, 0).numpy() * 255.0


def assert_same_output(method_out: np.ndarray, net: torch.nn.Module, lr: np.ndarray) -> None:
    ref = direct(net, lr)
    assert method_out.shape == ref.shape
    assert np.abs(np.asarray(method_out, np.float64) - ref).max() < 1e-2  # float tolerance


def save(payload: object, path: Path) -> str:
    """``torch.save`` ``payload`` to ``path``; returns the file's SHA-256."""
    torch.save(payload, path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def lr() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (16, 16, 3), dtype=np.uint8)


@pytest.fixture(autouse=True)
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private, empty torch hub cache in every test."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    hub_dir().mkdir(parents=True)
    return hub_dir()


@pytest.fixture
def install() -> Iterator[Callable[..., Path]]:
    """``install(name, payload)``: save ``payload`` under the declared file name of weights
    ``name`` in the hub cache, and declare that name with the hash of what was written (the
    authors' real files are not available here). Declarations are restored afterwards."""
    saved: dict[str, WeightFile] = {}

    def put(name: str, payload: object) -> Path:
        old = WEIGHTS.get(name)
        path = hub_dir() / old.filename
        digest = save(payload, path)
        saved.setdefault(name, old)
        WEIGHTS.remove(name)
        WEIGHTS.add(name, dataclasses.replace(old, sha256=digest, sha256_prefix=""))
        return path

    yield put
    for name, spec in saved.items():
        WEIGHTS.remove(name)
        WEIGHTS.add(name, spec)


# --------------------------------------------------------------------------------------------
# The mechanism, on a family declared here

TOY = ZooFamily(
    name="toyswin",
    spandrel="SwinIR",
    summary="SwinIR-S files (test).",
    paper="test",
    licence="Apache-2.0",
    releases={
        "main": Release(
            {2: "toyswin-x2", 3: "toyswin-x3"},
            (PaperScore("Set5", 2, 38.14, 0.9611, "test table"),),
        ),
        "other": Release({4: "toyswin-other-x4"}, note="no table"),
    },
    default_tag="main",
)


@pytest.fixture
def toy() -> Iterator[Callable[[str, int, object], Path]]:
    """The toy family registered as a method, its files declared; yields ``put(tag, scale,
    payload)``, which saves a file and declares it with the hash of what was written."""

    @register_method
    class ToySwin(ZooMethod):
        family = TOY

    names = {n: t for t, r in TOY.releases.items() for n in r.files.values()}
    for name, tag in names.items():
        url = f"https://example.invalid/{name}.pth"
        WEIGHTS.add(
            name, WeightFile(name, f"{name}.pth", url, "0" * 64, "", f"method toyswin ({tag})")
        )

    def put(tag: str, scale: int, payload: object) -> Path:
        name = TOY.releases[tag].files[scale]
        spec = WEIGHTS.get(name)
        path = hub_dir() / spec.filename
        WEIGHTS.remove(name)
        WEIGHTS.add(name, dataclasses.replace(spec, sha256=save(payload, path)))
        return path

    yield put
    for name in names:
        WEIGHTS.remove(name)


def test_a_zoo_method_runs_the_authors_file_like_the_network_itself(toy, lr):
    net = swinir(2)
    path = toy("main", 2, {"params": net.state_dict()})
    label, method = create_method("toyswin")
    assert label == "toyswin"
    assert method.card.scales == (2,)  # only the scale whose file is here
    assert method.card.published == TOY.releases["main"].published
    out = method.upscale(lr, 2)
    assert_same_output(out, net, lr)
    assert method.card.params == sum(p.numel() for p in net.parameters())
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert method.version_at(2) == f"1+main.{sha[:8]}"
    record = method.provenance()["x2"]
    assert record["file"] == str(path) and record["sha256"] == sha
    assert record["official"] == "toyswin-x2"


def test_a_zoo_method_refuses_a_file_of_another_architecture_or_scale(toy, lr):
    toy("main", 2, {"params": swinir(3).state_dict()})  # an x3 network under the x2 name
    _, method = create_method("toyswin")
    with pytest.raises(CheckpointError, match=r"SwinIR x3 checkpoint, not the SwinIR x2"):
        method.upscale(lr, 2)
    toy("main", 3, rcan(3).state_dict())
    _, method = create_method("toyswin")
    with pytest.raises(CheckpointError, match=r"is a RCAN x3 checkpoint, not the SwinIR x3"):
        method.upscale(lr, 3)


def test_a_zoo_method_without_its_files_names_the_fetch_command(toy):
    with pytest.raises(MissingWeightsError, match=r"srbench weights --fetch toyswin-x2 toyswin-x3"):
        create_method("toyswin")
    with pytest.raises(SrbenchError, match=r"Unknown toyswin tag 'nope'"):
        create_method("toyswin:tag=nope")


def test_a_zoo_method_refuses_a_declared_file_with_another_hash(toy):
    path = toy("main", 2, {"params": swinir(2).state_dict()})
    want = hashlib.sha256(path.read_bytes()).hexdigest()
    torch.save({"params": swinir(2, embed_dim=30).state_dict()}, path)
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ChecksumError) as err:
        create_method("toyswin")  # before anything is loaded
    assert want in str(err.value) and got in str(err.value)


def test_a_zoo_method_takes_a_file_of_its_own_architecture(toy, tmp_path, lr):
    net = swinir(4)
    path = tmp_path / "mine.pth"
    torch.save({"params_ema": net.state_dict()}, path)
    _, method = create_method(f"toyswin:weights={path}")
    assert method.card.scales == (4,) and method.card.published == ()
    assert_same_output(method.upscale(lr, 4), net, lr)
    assert method.version_at(4).startswith("1+file.")


def test_half_precision_is_refused_on_the_cpu(toy):
    toy("main", 2, {"params": swinir(2).state_dict()})
    with pytest.raises(SrbenchError, match=r"half=true .* CUDA GPU, and this run is on cpu"):
        create_method("toyswin:half=true")


def test_model_runs_any_file_spandrel_recognises_labelled_by_its_hash(tmp_path, lr):
    net = swinir(2)
    path = tmp_path / "any name.pth"
    torch.save(net.state_dict(), path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    label, method = create_method(f"model:weights={path}")
    assert label == f"SwinIR-{sha[:8]}"
    assert method.card.scales == (2,)
    assert method.version_at(2) == f"1+file.{sha[:8]}"
    assert_same_output(method.upscale(lr, 2), net, lr)
    assert create_method(f"model:weights={path},label=mine")[0] == "mine"


def test_model_refuses_what_spandrel_does_not_recognise(tmp_path):
    foreign = tmp_path / "foreign.pth"
    torch.save({"encoder.weight": torch.zeros(3, 3), "encoder.bias": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match=r"2 entries, first keys: encoder.weight, encoder"):
        create_method(f"model:weights={foreign}")
    text = tmp_path / "notes.pth"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match=r"is not a torch file"):
        create_method(f"model:weights={text}")
    whole = tmp_path / "whole.pth"
    torch.save(swinir(2).state_dict(), whole)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"truncated"):
        create_method(f"model:weights={cut}")
