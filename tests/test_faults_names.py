"""Fault injection: names that become paths, one stem per image, dataset folders that are not
srbench's, weights under a declared name with another hash, feature caches keyed by the backbone
file, weights files that are not state dicts. Each case once failed silently (or with a
traceback); each now exits 2 naming what is wrong and how to fix it, before any work.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import stat
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from srbench import hub
from srbench.catalog import install
from srbench.catalog.schema import DatasetSpec, pixel_digest
from srbench.errors import (
    CheckpointError,
    ChecksumError,
    ImageReadError,
    SrbenchError,
    VerificationError,
)
from srbench.imageio import image_index, list_images, write_png
from srbench.store import RunWriter
from srbench.store.writer import check_run_id
from srbench.system import digests
from srbench.system.names import MAX_BYTES, UnsafeNameError, check_name, child, slug
from srbench.weights import files as weights
from srbench.weights import tags as weightstore
from tests.conftest import REPO, property_settings, run_cli

RULES = "A name may not be empty"


@pytest.fixture(autouse=True)
def _private(tmp_path, monkeypatch):
    """No network, a private torch hub cache (empty unless a test fills it)."""
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("SRBENCH_WEIGHTS", raising=False)


def _img(seed: int, size: tuple[int, int] = (24, 24)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)


def _folder(path: Path, names: dict[str, int]) -> Path:
    """Images ``name -> seed`` written with their own format (by suffix)."""
    path.mkdir(parents=True, exist_ok=True)
    for name, seed in names.items():
        Image.fromarray(_img(seed)).save(path / name)
    return path


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its size and modification time (folders included)."""
    return {
        str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in [root, *root.rglob("*")]
    }


def _run(results: Path, *args: object, expect: int = 0):
    return run_cli("run", "--results", results, "--no-progress", *args, expect=expect)


# --------------------------------------------------------------------------------------------
# `img.png` and `img.bmp` in one folder: exit 2 naming both, in every command


@pytest.fixture
def twins(tmp_path) -> Path:
    """A folder where ``img`` is both a PNG and a BMP (other pixels), beside ``other.png``."""
    return _folder(tmp_path / "twins", {"img.png": 1, "img.bmp": 2, "other.png": 3})


def _says_both(stderr: str) -> None:
    assert "img.bmp, img.png share a file stem" in stderr and "remove or rename" in stderr


def test_degrade_and_upscale_refuse_two_images_of_one_stem(tmp_path, twins):
    for command, flag in (("degrade", "--hr"), ("upscale", "--lr")):
        out = tmp_path / f"out-{command}"
        result = run_cli(command, flag, twins, "--scale", "2", "--out", out, expect=2)
        _says_both(result.stderr)
        assert not out.exists()  # nothing written (it used to say "wrote 2 images")


def test_eval_refuses_two_images_of_one_stem_on_either_side(tmp_path, twins):
    good = _folder(tmp_path / "good", {"img.png": 1, "other.png": 3})
    _says_both(run_cli("eval", "--sr", twins, "--hr", good, "--scale", "2", expect=2).stderr)
    _says_both(run_cli("eval", "--sr", good, "--hr", twins, "--scale", "2", expect=2).stderr)


def test_run_refuses_a_dataset_or_precomputed_folder_with_two_images_of_one_stem(tmp_path, twins):
    _says_both(_run(tmp_path / "r1", "-D", twins, "-m", "bicubic", "-s", "2", expect=2).stderr)
    hr = _folder(tmp_path / "hr", {"img.png": 1, "other.png": 3})
    spec = f"precomputed:dir={twins},label=theirs"
    _says_both(_run(tmp_path / "r2", "-D", hr, "-m", spec, "-s", "2", expect=2).stderr)
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()  # before any work


def test_a_precomputed_folder_with_fields_refuses_the_images_it_cannot_tell_apart(tmp_path):
    from srbench.methods import create_method
    from srbench.methods.base import ImageContext, Tiling

    _folder(tmp_path / "sr" / "x2", {"img.png": 1, "img.PNG": 2})
    _, method = create_method(f"precomputed:dir={tmp_path / 'sr'}/x{{scale}}")
    with pytest.raises(ImageReadError, match="img.PNG, img.png share a file stem"):
        method.super_resolve(_img(0), ImageContext("d", "img", 2, "bicubic"), Tiling())


def test_training_data_refuses_two_images_of_one_stem(tmp_path, twins):
    from srbench.training.data import load_images

    with pytest.raises(ImageReadError, match="img.bmp, img.png share a file stem"):
        load_images(str(twins), 8)
    classes = tmp_path / "classes"
    _folder(classes / "cat", {"a.png": 1})
    _folder(classes / "dog", {"b.jpg": 2, "b.jpeg": 3})  # class folders are listed the same way
    with pytest.raises(ImageReadError, match="b.jpeg, b.jpg share a file stem"):
        load_images(str(classes), 8)


def test_the_rule_lives_in_list_images_and_ignores_case_of_suffixes(tmp_path):
    folder = _folder(tmp_path / "f", {"a.png": 1, "A.png": 2, "b.tif": 3, "b.TIFF": 4})
    with pytest.raises(ImageReadError) as caught:
        list_images(folder)
    assert "b.TIFF, b.tif share a file stem" in str(caught.value)
    assert "A.png" not in str(caught.value)  # stems are case-sensitive, like file names here
    with pytest.raises(ImageReadError, match="b.TIFF, b.tif"):
        image_index(folder)
    assert image_index(tmp_path / "missing") == {}


# --------------------------------------------------------------------------------------------
# Names that become paths: --run-id, --resume, --tag, label=, tag=, dataset folder names

BAD_NAMES = {
    "../../x": "contains a path separator",
    "a/b": "contains a path separator",
    "a\\b": "contains a path separator",
    "..": "is '..', a relative path",
    ".hidden": "starts with '.'",
    "": "is empty",
    "a\nb": "control character",
    "tab\there": "control character",
    " x": "whitespace",
    "x" * (MAX_BYTES + 1): f"longer than {MAX_BYTES} bytes",
}


@pytest.mark.parametrize(("name", "rule"), BAD_NAMES.items(), ids=lambda v: repr(v)[:16])
def test_the_validator_names_the_option_and_the_rule(name, rule):
    with pytest.raises(UnsafeNameError) as caught:
        check_name(name, "--run-id")
    message = str(caught.value)
    assert message.startswith("--run-id ") and rule in message and RULES in message


def test_an_absolute_path_is_named_as_such(tmp_path):
    with pytest.raises(UnsafeNameError, match="is an absolute path"):
        check_name(str(tmp_path / "x"), "--run-id")


@pytest.mark.parametrize("run_id", ["../../escaped", "ABS", "", ".hidden", "a\nb"], ids=repr)
def test_run_ids_that_are_paths_exit_2_and_write_nothing(tmp_path, run_id):
    if run_id == "ABS":
        run_id = str(tmp_path / "abs" / "escaped")
    hr = _folder(tmp_path / "hr", {"a.png": 1})
    before = _tree(tmp_path)
    results = tmp_path / "deep" / "results"
    err = _run(results, "-D", hr, "-m", "bicubic", "-s", "2", "--run-id", run_id, expect=2).stderr
    assert "--run-id" in err and RULES in err
    assert _tree(tmp_path) == before  # not even results/ was made
    with pytest.raises(UnsafeNameError):
        RunWriter.create(results, {"run_id": run_id})
    assert _tree(tmp_path) == before


def test_resume_of_a_path_exits_2(tmp_path):
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "manifest.json").write_text("{}")
    before = _tree(tmp_path)
    err = _run(tmp_path / "r", "--resume", "../../victim", expect=2).stderr
    assert "--resume '../../victim' contains a path separator" in err
    assert _tree(tmp_path) == before


def test_a_good_run_id_names_the_folder():
    assert check_run_id("paper-x4_v2.1") == "paper-x4_v2.1"


def test_train_tag_that_is_a_path_is_refused_before_any_work(tmp_path):
    from srbench.training.loop import train

    out = tmp_path / "train-out"
    for tag in ("../../x", "/abs", ".hidden", "a,b", "a;b"):
        with pytest.raises(UnsafeNameError, match="--tag"):
            train({}, "no-such-data", out, tag=tag)  # the config is not even read
    assert not out.exists()
    err = run_cli(
        "train", "edsr_baseline", "--data", tmp_path, "--tag", "../../x", "--out", out, expect=2
    )
    assert "--tag '../../x' contains a path separator" in err.stderr
    assert not out.exists()


def test_the_weights_store_refuses_tags_that_are_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_WEIGHTS", str(tmp_path / "store"))
    (tmp_path / "w.pt").write_bytes(b"weights")
    before = _tree(tmp_path)
    for tag in ("../../x", str(tmp_path / "abs"), "..", ".x", "a/b"):
        with pytest.raises(UnsafeNameError):
            weightstore.install(tmp_path / "w.pt", {"format": "x"}, "edsr_baseline", tag)
        with pytest.raises(UnsafeNameError):  # reading a tag cannot leave the store either
            weightstore.resolve("edsr_baseline", tag, 4)
    assert _tree(tmp_path) == before
    installed = weightstore.install(tmp_path / "w.pt", {"format": "x"}, "edsr_baseline", "mine")
    assert installed == tmp_path / "store" / "edsr_baseline" / "mine" / "w.pt"


def test_method_labels_and_tags_in_specs_that_are_paths_exit_2(tmp_path):
    hr = _folder(tmp_path / "hr", {"a.png": 1})
    for spec, words in (
        ("bicubic:label=../x", "label= in method spec 'bicubic:label=../x': '../x'"),
        ("bicubic:label=..", "'..' is '..'"),
        ("bicubic:label=.x", "starts with '.'"),
        ("edsr_baseline:tag=../../x", "edsr_baseline: tag= '../../x' contains a path"),
    ):
        err = _run(tmp_path / "r", "-D", hr, "-m", spec, "-s", "2", "--save-images", expect=2)
        assert words in err.stderr, err.stderr
    assert not (tmp_path / "r").exists()


def test_labels_become_checked_folder_names_where_features_are_written(tmp_path):
    from srbench.run.setlevel import sr_folder

    folder = sr_folder(tmp_path, "Set5", 4, "blur:sigma=1.6", "precomputed:dir=/a/../b")
    assert folder.parent.parent.parent.parent == tmp_path / "features"
    assert folder.name == "precomputed_dir_a_.._b"  # slugged: one folder, inside the run
    for label in ("..", ".", ".hidden", "///.."):
        with pytest.raises(UnsafeNameError, match="method label"):
            sr_folder(tmp_path, "Set5", 4, "bicubic", label)
    long = slug("x" * 500, "label")
    assert len(long) == MAX_BYTES and long != slug("x" * 499 + "y", "label")


def test_a_dataset_folder_whose_name_is_hidden_exits_2(tmp_path, monkeypatch):
    _folder(tmp_path / ".secret", {"a.png": 1})
    monkeypatch.chdir(tmp_path)
    err = _run(tmp_path / "r", "-D", "./.secret", "-m", "bicubic", "-s", "2", expect=2).stderr
    assert "its name '.secret' starts with '.'" in err and "Rename the folder" in err


# --------------------------------------------------------------------------------------------
# A catalog set linked into the cache from the user's own folder: verified, never written to


def _tiny_spec(images: dict[str, np.ndarray], version: str = "1") -> DatasetSpec:
    digests = {k: (v.shape[1], v.shape[0], pixel_digest(v)) for k, v in images.items()}
    return DatasetSpec(
        id="Tiny",
        aliases=(),
        split="test",
        images=len(images),
        licence="test",
        agreement_required=False,
        citation="",
        homepage="https://example.org",
        notes="",
        version=version,
        sources=(),
        digests=digests,
    )


@pytest.fixture
def linked(tmp_path):
    """``Tiny``'s images in the user's read-only folder, linked into the cache; the user folder's
    snapshot is taken after it is made read-only."""
    images = {"a": _img(1), "b": _img(2, (20, 28))}
    user = tmp_path / "user" / "tiny"
    for name, img in images.items():
        write_png(user / f"{name}.png", img)
    spec = _tiny_spec(images)
    (hub.cache_root() / "datasets").mkdir(parents=True)
    os.symlink(user, install.dataset_dir(spec))
    for path in [*user.iterdir(), user]:
        path.chmod(stat.S_IREAD | stat.S_IEXEC if path.is_dir() else stat.S_IREAD)
    try:
        yield spec, user, images
    finally:
        for path in [user, *user.iterdir()]:
            path.chmod(stat.S_IRWXU)


def test_a_linked_read_only_set_is_verified_without_writing_into_it(linked):
    spec, user, images = linked
    before = _tree(user)
    assert install.state(spec) == "cached"
    assert install.ensure_dataset(spec) == install.dataset_dir(spec)
    assert install.state(spec) == "verified"
    assert _tree(user) == before  # the user's folder is untouched (it is read-only anyway)
    record = json.loads(install.record_path(spec).read_text())
    assert install.record_path(spec) == hub.cache_root() / "verified" / "Tiny.json"
    assert record["files"]["folder"] == str(user.resolve())
    assert sorted(record["files"]["images"]) == ["a.png", "b.png"]
    # a stale marker of an older srbench inside the folder counts for nothing
    user.chmod(stat.S_IRWXU)
    (user / ".srbench-verified.json").write_text(json.dumps({"declared": "anything"}))
    install.record_path(spec).unlink()
    assert install.state(spec) == "cached"


def test_a_changed_file_of_a_verified_set_is_verified_again(linked):
    spec, user, images = linked
    install.ensure_dataset(spec)
    user.chmod(stat.S_IRWXU)
    path = user / "a.png"
    times = path.stat()
    path.chmod(stat.S_IRWXU)
    altered = images["a"].copy()
    altered[0, 0] ^= 0xFF
    write_png(path, altered)
    os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))  # the old mtime, restored
    assert install.state(spec) == "cached"  # ctime and inode changed: the record is stale
    with pytest.raises(VerificationError, match="a.png: expected 24x24 pixels"):
        install.ensure_dataset(spec)
    write_png(path, images["a"])
    install.ensure_dataset(spec)
    assert install.state(spec) == "verified"
    os.symlink(user, user.parent / "again")  # the link now points at another folder
    install.dataset_dir(spec).unlink()
    os.symlink(user.parent / "again", install.dataset_dir(spec))
    assert install.state(spec) == "verified"  # same files, resolved through both links
    other = user.parent / "copy"
    other.mkdir()
    for p in user.glob("*.png"):
        (other / p.name).write_bytes(p.read_bytes())
    install.dataset_dir(spec).unlink()
    os.symlink(other, install.dataset_dir(spec))
    assert install.state(spec) == "cached"
    assert install.state(dataclasses.replace(spec, version="2")) == "cached"


def test_ls_datasets_and_run_on_a_linked_read_only_catalog_set(tmp_path, shared):
    """What ``.ci/regression`` does: Set5 linked from the user's folder, used by ``run``."""
    user = tmp_path / "mine" / "Set5"
    user.mkdir(parents=True)
    for path in sorted((shared / "benchmark" / "Set5").glob("*.png")):
        (user / path.name).write_bytes(path.read_bytes())
        (user / path.name).chmod(stat.S_IREAD)
    user.chmod(stat.S_IREAD | stat.S_IEXEC)
    before = _tree(user)
    (hub.cache_root() / "datasets").mkdir(parents=True)
    os.symlink(user, hub.cache_root() / "datasets" / "Set5")
    try:
        listing = run_cli("ls", "datasets").stdout
        assert any(
            line.split()[:4] == ["Set5", "test", "5", "cached"] for line in listing.splitlines()
        )
        _run(tmp_path / "r", "-D", "Set5", "-m", "bicubic", "-s", "4")
        listing = run_cli("ls", "datasets").stdout
        assert any(
            line.split()[:4] == ["Set5", "test", "5", "verified"] for line in listing.splitlines()
        )
        assert _tree(user) == before
    finally:
        user.chmod(stat.S_IRWXU)


# --------------------------------------------------------------------------------------------
# A file under a declared weights name with another hash


def _torch_file(path: Path, seed: int = 0) -> Path:
    import torch

    torch.manual_seed(seed)
    buffer = io.BytesIO()
    torch.save(torch.nn.Conv2d(1, 2, 3).state_dict(), buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return path


def test_a_file_under_an_official_name_with_another_hash_exits_2(tmp_path):
    fake = _torch_file(weights.path_of("edsr-baseline-x4"))
    got = hashlib.sha256(fake.read_bytes()).hexdigest()
    hr = _folder(tmp_path / "hr", {"a.png": 1})
    err = _run(tmp_path / "r", "-D", hr, "-m", "edsr_baseline", "-s", "4", expect=2).stderr
    for part in (
        "expected prefix 6b446fab",
        got,
        f"delete {fake}",
        "srbench weights --fetch edsr-baseline-x4",
        "METHOD:weights=PATH",
    ):
        assert part in err.replace("\n", " "), part
    assert not (tmp_path / "r").exists()
    # the same file given explicitly is the user's own: loaded, named by its own hash
    from srbench.methods import create_method

    with pytest.raises(CheckpointError, match="does not fit edsr_baseline"):
        create_method(f"edsr_baseline:weights={fake}")


def test_a_backbone_with_another_hash_stops_the_run_instead_of_skipping_the_metric(tmp_path):
    pytest.importorskip("lpips")
    _torch_file(weights.path_of("alexnet"))
    hr = _folder(tmp_path / "hr", {"a.png": 1})
    err = _run(tmp_path / "r", "-D", hr, "-m", "bicubic", "--metrics", "psnr,lpips", expect=2)
    assert "expected prefix 7be5be79" in err.stderr and "--fetch alexnet" in err.stderr
    with pytest.raises(ChecksumError, match="7be5be79"):  # losses and metrics locate alike
        weights.locate("alexnet")


def test_the_hash_check_is_cached_by_the_files_stat_fingerprint(tmp_path, monkeypatch):
    spec = weights.WeightFile("test-cached", "cached.pt", "https://x/cached.pt", None, "", "test")
    path = _torch_file(weights.hub_dir() / "cached.pt")
    declared = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setitem(
        weights.WEIGHTS._items, spec.name, dataclasses.replace(spec, sha256=declared)
    )
    reads = []
    real = digests.sha256_file
    monkeypatch.setattr(digests, "sha256_file", lambda p: reads.append(p) or real(p))
    monkeypatch.setattr(digests, "_MEMORY", {})
    assert weights.locate(spec.name) == path and len(reads) == 1
    assert weights.locate(spec.name) == path and len(reads) == 1  # in this process
    monkeypatch.setattr(digests, "_MEMORY", {})  # as another process would
    assert weights.sha256_of(spec.name) == declared and len(reads) == 1
    cache = json.loads((hub.cache_root() / digests.CACHE_NAME).read_text())
    assert cache[str(path.resolve())]["sha256"] == declared
    # another file of the same size, its mtime restored: the status-change time gives it away
    times = path.stat()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))
    with pytest.raises(ChecksumError, match=declared):
        weights.locate(spec.name)
    assert len(reads) == 2


def test_hashing_cost_is_measured_once(tmp_path):
    """The figure quoted in the README and srbench/system/digests.py (not asserted: machines
    differ): hashing 32 MB, then the cached lookup."""
    import time

    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(32 << 20))
    start = time.perf_counter()
    digest = digests.sha256_cached(path)
    first = time.perf_counter() - start
    start = time.perf_counter()
    assert digests.sha256_cached(path) == digest
    assert time.perf_counter() - start < first


# --------------------------------------------------------------------------------------------
# weights=PATH that is not a state dict of the method: exit 2 with a clear message


def _pickled(obj) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("passwd", "is not a torch file: it starts with b'root:"),
        ("folder", "is a folder; weights= takes a state-dict file"),
        ("empty", "is empty (0 bytes)"),
        ("text", "is not a torch file: it starts with b'not weights at a'"),
        ("truncated", "cannot be read: it is truncated, corrupt or not a torch file"),
        ("list", "holds a list, not a state dict"),
        ("checkpoint", "entries that are not tensors: 'iteration' (int)"),
        ("nothing", "it holds nothing"),
        ("missing", "does not exist"),
    ],
)
def test_weights_that_are_not_a_state_dict_exit_2_with_the_reason(tmp_path, kind, words):
    pytest.importorskip("torch")
    path = tmp_path / f"{kind}.pt"
    if kind == "passwd":
        path = Path("/etc/passwd") if Path("/etc/passwd").is_file() else path
        if not path.is_file():
            path.write_text("root:x:0:0:root:/root:/bin/bash\n")
    elif kind == "folder":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not weights at all\n" * 3)
    elif kind == "truncated":
        path.write_bytes(_pickled({"w": __import__("torch").zeros(64)})[:300])
    elif kind == "list":
        path.write_bytes(_pickled([1, 2, 3]))
    elif kind == "checkpoint":
        path.write_bytes(_pickled({"iteration": 3, "generator": {}}))
    elif kind == "nothing":
        path.write_bytes(_pickled({}))
    hr = _folder(tmp_path / "hr", {"a.png": 1})
    err = _run(tmp_path / "r", "-D", hr, "-m", f"edsr_baseline:weights={path}", expect=2).stderr
    assert words in err and "IndexError" not in err and "Traceback" not in err, err


# --------------------------------------------------------------------------------------------
# Metric versions and the FID/KID feature cache carry the backbone file's hash


def test_metric_versions_carry_their_weights_short_hashes():
    from srbench.metrics import METRICS

    assert METRICS.get("fid").version == METRICS.get("kid").version == "1+inception.6726825d"
    assert METRICS.get("lpips").version == "1+alex.7be5be79+lin.df73285e"
    assert METRICS.get("lpips-vgg").version == "1+vgg16.397923af+lin.a78928a0"
    for name in ("psnr", "ssim", "runtime"):  # what baselines and the golden report hold
        assert METRICS.get(name).version == "1"


def test_the_committed_baseline_keeps_its_metric_versions():
    import pandas as pd

    frame = pd.read_csv(REPO / "results" / "baselines" / "ci.csv")
    assert set(frame["metric"]) <= {"psnr", "ssim", "runtime"}
    assert set(frame["metric_version"].astype(str)) == {"1"}


def _inception_file(path: Path, seed: int) -> str:
    """A FID Inception checkpoint in pytorch-fid's layout with seeded random weights."""
    import torch
    from pytorch_fid import inception

    from srbench.metrics.distribution import _fid_weights

    torch.manual_seed(seed)
    with _fid_weights(inception, None):
        net = inception.fid_inception_v3()
    for module in net.modules():  # activations of a useful scale at pool3 (see _randomise)
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    state = net.state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_pickled(state))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_the_feature_cache_never_serves_features_of_another_inception_file(tmp_path, monkeypatch):
    pytest.importorskip("pytorch_fid")
    hr = _folder(tmp_path / "hr", {"a.png": 1, "b.png": 2})
    target = weights.path_of("fid-inception")
    declared = weights.WEIGHTS.get("fid-inception")
    metric = "fid:patch=16,count=3"

    def declare(digest: str) -> None:
        monkeypatch.setitem(
            weights.WEIGHTS._items, "fid-inception", dataclasses.replace(declared, sha256=digest)
        )

    def fid(results: Path) -> tuple[float, dict]:
        _run(results, "-D", hr, "-m", "bicubic", "-s", "2", "--metrics", metric)
        (run_dir,) = (results / "runs").iterdir()
        frame = json.loads((run_dir / "manifest.json").read_text())
        from srbench.store import load_results

        rows = load_results(results).query("metric == 'fid'")
        return float(rows["value"].iloc[0]), frame

    first = _inception_file(target, 0)
    declare(first)
    value_a, manifest = fid(tmp_path / "a")
    assert manifest["metrics"]["fid"]["weights"]["fid-inception"]["sha256"] == first
    assert manifest["versions"]["pytorch-fid"] and "piq" in manifest["versions"]
    features = hub.cache_root() / "features"
    assert [p.name for p in features.iterdir()] == [f"pt_inception-2015-12-05.{first[:8]}"]

    second = _inception_file(target, 1)  # another file under the same name
    err = _run(tmp_path / "b", "-D", hr, "-m", "bicubic", "-s", "2", "--metrics", metric, expect=2)
    assert first in err.stderr.replace("\n", "") and second in err.stderr.replace("\n", "")

    declare(second)  # as if srbench declared the new file
    value_b, _ = fid(tmp_path / "c")
    assert sorted(p.name for p in features.iterdir()) == sorted(
        f"pt_inception-2015-12-05.{d[:8]}" for d in (first, second)
    )
    import shutil

    shutil.rmtree(features)
    fresh, _ = fid(tmp_path / "d")  # nothing cached: computed from the second file alone
    assert value_b == pytest.approx(fresh, rel=1e-6)
    assert abs(value_b - value_a) > 0.01 * max(value_a, value_b) > 0


def test_the_manifest_records_library_versions_and_metric_weights(tmp_path):
    hr = _folder(tmp_path / "hr", {"a.png": 1})
    _run(tmp_path / "r", "-D", hr, "-m", "bicubic", "-s", "2")
    (run_dir,) = (tmp_path / "r" / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert {"torch", "torchvision", "lpips", "pytorch-fid", "piq"} <= manifest["versions"].keys()
    assert manifest["metrics"] == {
        "psnr": {"version": "1", "weights": {}},
        "ssim": {"version": "1", "weights": {}},
    }


# --------------------------------------------------------------------------------------------
# Property tests of the validator: accepted names stay inside their root, others are refused

#: Characters that make names interesting: separators, dots, controls, spaces, a surrogate.
TRICKY = st.text(alphabet="./\\ab~: \t\n\x00\x7f\u0085\ud800é", max_size=12)
NAMES = st.one_of(st.text(max_size=40), TRICKY)


def _inside(root: Path, name: str) -> bool:
    joined = os.path.normpath(os.path.join(root, name))
    return os.path.dirname(joined) == os.path.normpath(root) and os.path.basename(joined) == name


@property_settings(400)
@given(NAMES)
def test_property_a_name_is_accepted_and_stays_in_its_root_or_refused_cleanly(name):
    root = Path("/srv/results/runs")
    try:
        checked = check_name(name, "--run-id")
    except UnsafeNameError as exc:
        message = str(exc)
    else:
        message = ""
    if message:
        assert message.startswith("--run-id ") and RULES in message
        return
    assert checked == name and _inside(root, name)
    assert child(root, name, "--run-id").parent == root
    assert name not in (".", "..") and not name.startswith(".") and "/" not in name


@property_settings(150)
@given(NAMES)
def test_property_run_folders_are_made_inside_runs_or_not_at_all(name):
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results"
        try:
            writer = RunWriter.create(results, {"run_id": name})
        except SrbenchError:
            assert not results.exists() or list((results / "runs").iterdir()) == []
            return
        writer.close()
        (made,) = (results / "runs").iterdir()
        assert made.name == name and (made / "manifest.json").is_file()
        assert sorted(p.name for p in Path(tmp).iterdir()) == ["results"]


@property_settings(300)
@given(NAMES)
def test_property_slugs_and_tags_are_safe_or_refused(name):
    try:
        out = slug(name, "label")
    except UnsafeNameError:
        pass
    else:
        assert _inside(Path("/r"), out) and not out.startswith(".")
    try:
        tag = weightstore.check_tag(name)
    except UnsafeNameError:
        return
    assert _inside(Path("/store/m"), tag) and "," not in tag and ";" not in tag
