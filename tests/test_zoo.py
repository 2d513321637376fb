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
import spandrel  # noqa: F401 (imported once here, not in the first test's time)
import torch

from srbench.errors import CheckpointError, ChecksumError, MissingWeightsError, SrbenchError
from srbench.methods import create_method, register_method
from srbench.methods.papers import PaperScore
from srbench.methods.zoo import Release, ZooFamily, ZooMethod
from srbench.weights.files import WEIGHTS, WeightFile, hub_dir
from tests.conftest import run_cli
from tests.httpserver import http_server_fixture, srbench_cache_fixture  # noqa: F401

# the tests build spandrel's Swin networks directly; its torch.meshgrid call warns
pytestmark = pytest.mark.filterwarnings("ignore:torch.meshgrid:UserWarning")

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


def rcan(scale: int, **kwargs: int) -> torch.nn.Module:
    """A randomly initialised RCAN, by default of the paper's configuration (10 groups x 20
    blocks, 64 channels, reduction 16): the authors' layout and shapes."""
    from spandrel.architectures.RCAN import RCAN

    torch.manual_seed(scale)
    return RCAN(scale=scale, **kwargs).eval()


#: A two-block RCAN (its keys are RCAN's, it builds in milliseconds) for the refusal tests.
SMALL_RCAN = {"n_resgroups": 1, "n_resblocks": 1}


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
    toy("main", 3, rcan(3, **SMALL_RCAN).state_dict())
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
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(CheckpointError, match=r"not a readable safetensors file"):
        create_method(f"model:weights={broken}")
    whole = tmp_path / "whole.pth"
    torch.save(swinir(2).state_dict(), whole)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"truncated"):
        create_method(f"model:weights={cut}")


# --------------------------------------------------------------------------------------------
# The real families: networks of the authors' variants, saved as their releases are


def swinir_m(scale: int, img_size: int = 48, upsampler: str = "pixelshuffle") -> torch.nn.Module:
    """SwinIR-M (sec. 4.1): 6 RSTB x 6 layers, 180 channels, window 8 (11.9M parameters)."""
    return swinir(
        scale,
        img_size=img_size,
        depths=[6] * 6,
        embed_dim=180,
        num_heads=[6] * 6,
        upsampler=upsampler,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("spec", "name", "build", "layout"),
    [
        ("swinir", "swinir-classical-m-div2k-x2", lambda: swinir_m(2), "params"),
        (
            "swinir:tag=real-m-x4",
            "swinir-real-m-x4",
            lambda: swinir_m(4, 64, "nearest+conv"),
            "params_ema",
        ),
        ("rcan", "rcan-x2", lambda: rcan(2), None),
    ],
)
def test_the_real_variants_run_through_the_runner_like_the_networks(
    install, lr, spec, name, build, layout
):
    from srbench.methods import ImageContext, Tiling
    from srbench.methods.inference import infer

    net = build()
    install(name, {layout: net.state_dict()} if layout else net.state_dict())
    _, method = create_method(spec)
    scale = method.card.scales[0]
    out, _ = infer(method, lr, ImageContext("t", "img", scale, "bicubic"), Tiling())
    assert out.dtype == np.uint8
    assert np.abs(out - direct(net, lr)).max() <= 0.5 + 1e-2  # the runner's rounding only
    assert method.card.params == sum(p.numel() for p in net.parameters())


def test_swinir_lightweight_is_the_papers_variant_with_its_table(install, lr):
    net = swinir(4)
    path = install("swinir-lightweight-x4", {"params": net.state_dict()})
    label, method = create_method("swinir:tag=lightweight")
    assert label == "swinir:tag=lightweight"
    assert_same_output(method.upscale(lr, 4), net, lr)
    assert method.card.params == sum(p.numel() for p in net.parameters())
    published = {(p.dataset, p.scale): (p.psnr, p.ssim) for p in method.card.published}
    assert published[("Urban100", 4)] == (26.47, 0.7980)
    assert method.version_at(4) == f"1+lightweight.{save_digest(path)[:8]}"


def save_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_families_declare_their_releases():
    from spandrel import MAIN_REGISTRY

    from srbench.methods import METHODS
    from srbench.methods.families.rcan import FAMILY as RCAN_FAMILY
    from srbench.methods.families.swinir import FAMILY as SWINIR_FAMILY

    zoo = [c.family for _, c in METHODS.items() if issubclass(c, ZooMethod)]
    assert {RCAN_FAMILY.name, SWINIR_FAMILY.name} <= {f.name for f in zoo}
    for family in zoo:  # every family, also those added later
        assert family.spandrel in MAIN_REGISTRY
        for tag, release in family.releases.items():
            for name in release.files.values():
                spec = WEIGHTS.get(name)
                assert spec.published_hash or spec.unhashed  # never silently unchecked
                assert f"(tag {tag})" in spec.used_by
            assert {p.scale for p in release.published} <= set(release.files)
            assert release.published or release.note  # no table: the note says why
    swin = WEIGHTS.get("swinir-classical-m-df2k-x8")
    assert swin.url == (
        "https://github.com/JingyunLiang/SwinIR/releases/download/v0.0/"
        "001_classicalSR_DF2K_s64w8_SwinIR-M_x8.pth"
    )
    assert WEIGHTS.get("rcan-x8").archive_member == "RCAN_BIX8.pt"
    assert SWINIR_FAMILY.releases["real-m-x4"].published == ()
    assert "no bicubic-protocol table" in SWINIR_FAMILY.releases["real-m-x4"].note
    # the paper's RCAN rows, as SwinIR's Table 2 also quotes them
    rcan_x4 = {p.dataset: p.psnr for p in RCAN_FAMILY.releases["bi"].published if p.scale == 4}
    assert rcan_x4 == {
        "Set5": 32.63,
        "Set14": 28.87,
        "BSD100": 27.77,
        "Urban100": 26.82,
        "Manga109": 31.22,
    }


def test_a_foreign_or_truncated_file_under_a_declared_name_fails_at_creation(tmp_path, lr):
    from srbench.methods.families.edsr.net import EDSR
    from srbench.weights.pins import first_use_record

    path = hub_dir() / WEIGHTS.get("swinir-lightweight-x2").filename
    torch.save(EDSR(scale=2, n_resblocks=2, n_feats=8).state_dict(), path)
    with pytest.raises(CheckpointError) as err:
        create_method("swinir:tag=lightweight")
    assert "no architecture spandrel knows (" in str(err.value)
    assert "entries, first keys: " in str(err.value) and "--fetch swinir-lightweight-x2" in str(
        err.value
    )
    torch.save(rcan(2, **SMALL_RCAN).state_dict(), path)  # an architecture spandrel knows
    with pytest.raises(CheckpointError, match=r"is a RCAN checkpoint, not the SwinIR checkpoint"):
        create_method("swinir:tag=lightweight")
    torch.save({"params": swinir(2).state_dict()}, path)
    path.write_bytes(path.read_bytes()[:4096])
    with pytest.raises(CheckpointError, match=r"truncated"):
        create_method("swinir:tag=lightweight")
    assert not first_use_record().exists()  # nothing refused was recorded as the first use
    # the CLI: exit 2 with the message
    (tmp_path / "lr").mkdir()
    from srbench.imageio import write_png

    write_png(tmp_path / "lr" / "a.png", lr)
    err = run_cli(
        "upscale", "--lr", tmp_path / "lr", "--scale", 2, "--out", tmp_path / "out",
        "-m", "swinir:tag=lightweight", expect=2,
    ).stderr  # fmt: skip
    assert "truncated" in err and str(path) in err


def test_a_file_without_a_published_hash_is_pinned_on_first_use(lr):
    from srbench.weights.files import verify
    from srbench.weights.pins import first_use_record

    name = "swinir-lightweight-x2"
    path = hub_dir() / WEIGHTS.get(name).filename
    assert verify(name).detail == "missing"
    first = save({"params": swinir(2).state_dict()}, path)
    assert verify(name).detail == "no published hash (not used yet)"
    create_method("swinir:tag=lightweight")
    assert json_of(first_use_record())[name]["sha256"] == first
    assert verify(name).detail == f"no published hash; sha256 {first[:8]} as on first use"
    second = save({"params": swinir(2, embed_dim=30).state_dict()}, path)
    with pytest.raises(ChecksumError) as err:
        create_method("swinir:tag=lightweight")
    assert first in str(err.value) and second in str(err.value)
    assert "changed since first use" in str(err.value)


def json_of(path: Path) -> dict:
    import json

    return json.loads(path.read_text())


def test_a_declared_file_with_a_wrong_hash_is_refused_naming_both(install):
    path = install("swinir-lightweight-x3", {"params": swinir(3).state_dict()})
    want = save_digest(path)
    got = save({"params": swinir(2).state_dict()}, path)
    with pytest.raises(ChecksumError) as err:
        create_method("swinir:tag=lightweight")
    assert want in str(err.value) and got in str(err.value)


def span(scale: int) -> torch.nn.Module:
    """A randomly initialised SPAN of the authors' configuration (48 channels)."""
    from spandrel.architectures.SPAN import SPAN

    torch.manual_seed(scale)
    return SPAN(num_in_ch=3, num_out_ch=3, feature_channels=48, upscale=scale).eval()


@pytest.mark.parametrize(
    ("arch", "build", "scale", "suffix"),
    [
        ("SPAN", span, 4, ".pth"),
        ("SPAN", span, 2, ".safetensors"),
        ("SPAN", span, 2, ".bin"),  # a safetensors file by its content
        pytest.param("RCAN", rcan, 2, ".pth", marks=pytest.mark.slow),  # 15.6M parameters
    ],
)
def test_model_takes_saved_span_and_rcan_files(tmp_path, lr, arch, build, scale, suffix):
    from safetensors.torch import save_file

    net = build(scale)
    path = tmp_path / f"{arch}{suffix}"
    if suffix == ".pth":
        torch.save({"params": net.state_dict()}, path)
    else:
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, path)
    label, method = create_method(f"model:weights={path}")
    assert label == f"{arch}-{save_digest(path)[:8]}"
    assert method.card.scales == (scale,)
    assert_same_output(method.upscale(lr, scale), net, lr)
    assert method.provenance()[f"x{scale}"]["sha256"] == save_digest(path)


def test_model_through_the_cli(tmp_path, lr):
    from srbench.imageio import read_image, write_png

    net = swinir(2)
    weights = tmp_path / "mine.pth"
    torch.save(net.state_dict(), weights)
    write_png(tmp_path / "lr" / "a.png", lr)
    run_cli(
        "upscale", "--lr", tmp_path / "lr", "--scale", 2, "--out", tmp_path / "out",
        "-m", f"model:weights={weights}", "--no-progress",
    )  # fmt: skip
    out = read_image(tmp_path / "out" / "a.png")
    assert np.abs(out - direct(net, lr)).max() <= 0.5 + 1e-2
    listing = run_cli("ls", "methods").stdout
    assert any(
        line.startswith("model ") and "weights=PATH" in line for line in listing.splitlines()
    )


def test_all_runs_the_present_tags_and_says_once_what_it_left_out(tmp_path, install, rng):
    from srbench.imageio import write_png
    from srbench.methods import METHODS
    from srbench.methods.zoo import ModelMethod

    install("swinir-lightweight-x2", {"params": swinir(2).state_dict()})
    write_png(tmp_path / "hr" / "a.png", rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    result = run_cli(
        "run", "--datasets", tmp_path / "hr", "--scale", 2, "--methods", "all",
        "--metrics", "psnr", "--results", tmp_path / "results", "--no-progress",
    )  # fmt: skip
    lines = [line for line in result.stderr.splitlines() if "left out" in line]
    expected = sum(
        len(c.family.releases) - (c is METHODS.get("swinir"))
        if issubclass(c, ZooMethod)
        else c.unavailable() is not None
        for n, c in METHODS.items()
        if n != "precomputed" and c is not ModelMethod
    )
    assert lines == [
        f"warning: {expected} methods/tags left out for missing weights (`srbench weights` "
        "lists them; `srbench weights --fetch NAME` gets one)"
    ]
    assert "swinir:tag=lightweight" in result.stdout and "bicubic" in result.stdout
    assert "model" not in result.stdout.split()
    # named explicitly, a method without its files keeps its own exit-2 error
    err = run_cli(
        "run", "--datasets", tmp_path / "hr", "--scale", 2, "--methods", "rcan",
        "--results", tmp_path / "r2", "--no-progress", expect=2,
    ).stderr  # fmt: skip
    assert "srbench weights --fetch rcan-x2 rcan-x3 rcan-x4 rcan-x8" in err


def test_fetch_takes_the_files_out_of_the_authors_zip_once(
    http_server, srbench_cache, monkeypatch, lr
):
    import io
    import zipfile

    from srbench.weights.pins import first_use_record

    nets = {s: rcan(s, **SMALL_RCAN) for s in (2, 3)}
    with zipfile.ZipFile(http_server.root / "models_ECCV2018RCAN.zip", "w") as zf:
        for s, net in nets.items():
            buffer = io.BytesIO()
            torch.save(net.state_dict(), buffer)
            zf.writestr(f"models_ECCV2018RCAN/RCAN_BIX{s}.pt", buffer.getvalue())
        zf.writestr("models_ECCV2018RCAN/RCAN_BDX3.pt", b"not declared")
    for s in (2, 3):
        spec = WEIGHTS.get(f"rcan-x{s}")
        url = http_server.url("models_ECCV2018RCAN.zip")
        monkeypatch.setitem(WEIGHTS._items, spec.name, dataclasses.replace(spec, url=url))
    run_cli("weights", "rcan-x2", "rcan-x3", "--fetch", "--no-progress")
    assert http_server.hits == ["models_ECCV2018RCAN.zip"]  # one download, two files
    pinned = json_of(first_use_record())
    assert set(pinned) == {"rcan-x2", "rcan-x3"}  # recorded by their hash on first use
    _, method = create_method("rcan")
    assert method.card.scales == (2, 3)
    assert_same_output(method.upscale(lr, 3), nets[3], lr)
    listing = run_cli("weights", "rcan-x2").stdout
    assert "[no published hash]" in listing


def test_a_scale_whose_file_is_missing_names_the_file_to_fetch(tmp_path, install, rng):
    from srbench.imageio import write_png

    install("swinir-lightweight-x2", {"params": swinir(2).state_dict()})
    write_png(tmp_path / "hr" / "a.png", rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))
    err = run_cli(
        "run", "--datasets", tmp_path / "hr", "--scale", 3, "--methods", "swinir:tag=lightweight",
        "--results", tmp_path / "results", "--no-progress", expect=2,
    ).stderr  # fmt: skip
    assert "its weights (tag 'lightweight') have x2" in err
    assert "srbench weights --fetch swinir-lightweight-x3" in err and "srbench train" not in err
