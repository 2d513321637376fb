"""Pretrained weights: declared once, found in the torch hub cache, fetched only on request.

Downloads come from a local HTTP server serving a real (tiny) torch checkpoint; ``TORCH_HOME``
points at a temporary folder in every test, so the user's torch cache is never read or written.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from srbench.errors import ChecksumError, MissingWeightsError, OfflineError, UnknownNameError
from srbench.weights import files as weights
from srbench.weights.files import WEIGHTS, WeightFile
from tests.conftest import run_cli
from tests.httpserver import (
    http_server_fixture,  # noqa: F401
    srbench_cache_fixture,  # noqa: F401
)

FULL = "test-tiny-full"  # declared with its full SHA-256
PREFIX = "test-tiny-prefix"  # declared, like torch hub files, with a prefix in its name


@pytest.fixture(autouse=True)
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, srbench_cache: Path) -> Path:
    """A private torch cache (and no SRBENCH_OFFLINE / SRBENCH_MIRROR) in every test."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


@pytest.fixture(scope="module")
def checkpoint() -> tuple[bytes, dict[str, torch.Tensor]]:
    """The bytes of ``torch.save`` of a tiny Conv2d's state dict, and that state dict."""
    torch.manual_seed(0)
    state = torch.nn.Conv2d(1, 2, 3).state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue(), state


@pytest.fixture
def served(http_server, checkpoint) -> Iterator[dict[str, WeightFile]]:  # noqa: F811
    """The checkpoint on the local server, declared as FULL and PREFIX for the test's duration."""
    data, _ = checkpoint
    digest = hashlib.sha256(data).hexdigest()
    files = {
        FULL: WeightFile(
            FULL, "tiny-full.pth", http_server.url("tiny-full.pth"), digest, "", "test (full)"
        ),
        PREFIX: WeightFile(
            PREFIX,
            f"tiny-{digest[:8]}.pth",
            http_server.url(f"tiny-{digest[:8]}.pth"),
            None,
            digest[:8],
            "test (prefix)",
        ),
    }
    for name, spec in files.items():
        (http_server.root / spec.filename).write_bytes(data)
        WEIGHTS.add(name, spec)
    try:
        yield files
    finally:
        for name in files:
            WEIGHTS.remove(name)


def _corrupt(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))


def test_declared_files_name_their_hash_prefix():
    for name, spec in WEIGHTS.items():
        # a Drive file (direct or not), or a Drive folder holding the file by name
        drive = spec.url.startswith("https://drive.google.com/")
        member = spec.archive_member == spec.filename  # taken out of an archive at the URL
        assert name == spec.name and (spec.url.endswith("/" + spec.filename) or drive or member)
        if not spec.published_hash:  # the authors publish none: the declaration says so
            assert spec.unhashed and not spec.packaged
        elif spec.packaged:
            assert (
                spec.sha256
                and len(spec.sha256) == 64
                and spec.sha256.startswith(spec.sha256_prefix)
            )
        else:
            assert len(spec.sha256_prefix) == 8 and f"-{spec.sha256_prefix}." in spec.filename
    assert {"alexnet", "vgg16", "vgg19", "fid-inception", "lpips-alex-v0.1"} <= dict(
        WEIGHTS.items()
    ).keys()


@pytest.mark.parametrize("torch_imported", [True, False])
def test_hub_dir_is_torch_hubs_rule(torch_home, tmp_path, monkeypatch, torch_imported):
    if not torch_imported:  # the rule by hand, used while torch is not imported
        monkeypatch.delitem(sys.modules, "torch")
    assert weights.hub_dir() == torch_home / "hub" / "checkpoints"
    assert weights.hub_dir() == Path(torch.hub.get_dir()) / "checkpoints"
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert weights.hub_dir() == tmp_path / "xdg" / "torch" / "hub" / "checkpoints"
    assert weights.hub_dir() == Path(torch.hub.get_dir()) / "checkpoints"


def test_missing_file_says_what_where_and_how(served, http_server):
    spec = served[PREFIX]
    with pytest.raises(MissingWeightsError) as caught:
        weights.locate(PREFIX)
    message = str(caught.value)
    for part in (
        spec.used_by,
        spec.filename,
        spec.url,
        str(weights.hub_dir()),
        f"srbench weights --fetch {PREFIX}",
        "TORCH_HOME",
    ):
        assert part in message
    assert weights.path_of(PREFIX) == weights.hub_dir() / spec.filename
    assert not weights.hub_dir().exists() and http_server.hits == []  # nothing fetched
    alexnet = str(pytest.raises(MissingWeightsError, weights.locate, "alexnet").value)
    assert "alexnet-owt-7be5be79.pth" in alexnet and "lpips (alex backbone)" in alexnet


@pytest.mark.parametrize(("name", "detail"), [(FULL, "sha256 ok"), (PREFIX, "sha256 prefix")])
def test_fetch_downloads_into_the_hub_cache_and_verifies(
    served, http_server, checkpoint, name, detail
):
    path = weights.fetch(name, progress=False)
    assert path == weights.hub_dir() / served[name].filename == weights.locate(name)
    loaded = torch.load(path, weights_only=True)
    assert loaded.keys() == checkpoint[1].keys()
    assert all(torch.equal(loaded[k], checkpoint[1][k]) for k in loaded)
    state = weights.verify(name)
    assert (state.present, state.verified, state.path) == (True, True, path)
    assert state.detail.startswith(detail) and state.detail.endswith("ok")
    hits = len(http_server.hits)
    assert weights.fetch(name, progress=False) == path and len(http_server.hits) == hits


@pytest.mark.parametrize("name", [FULL, PREFIX])
def test_corrupted_file_fails_verification(served, checkpoint, name):
    path = weights.fetch(name, progress=False)
    _corrupt(path)
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    state = weights.verify(name)
    assert (state.present, state.verified) == (True, False)
    assert state.detail.startswith("sha256 mismatch: expected ") and state.detail.endswith(got)
    unchecked = weights.status([name])[0]
    assert (unchecked.present, unchecked.verified, unchecked.detail) == (True, None, "present")
    assert weights.status([name], verify=True) == [state]


def test_missing_file_is_not_verified(served):
    state = weights.verify(PREFIX)
    assert (state.present, state.verified, state.detail) == (False, False, "missing")


@pytest.mark.parametrize("name", [FULL, PREFIX])
def test_server_sending_wrong_bytes_keeps_nothing(served, http_server, checkpoint, name):
    spec = served[name]
    http_server.faults[spec.filename] = "wrong-bytes"
    data = checkpoint[0]
    wrong = hashlib.sha256(bytes([data[0] ^ 0xFF]) + data[1:]).hexdigest()
    with pytest.raises(ChecksumError) as caught:
        weights.fetch(name, progress=False)
    assert wrong in str(caught.value) and (spec.sha256 or spec.sha256_prefix) in str(caught.value)
    assert not weights.path_of(name).exists()
    assert list(weights.hub_dir().iterdir()) == []


def test_offline_fetch_raises_without_network(served, http_server, monkeypatch):
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    with pytest.raises(OfflineError, match="SRBENCH_OFFLINE"):
        weights.fetch(PREFIX, progress=False)
    assert http_server.hits == []


def test_packaged_lpips_heads_are_located_and_verified():
    package = Path(importlib.util.find_spec("lpips").submodule_search_locations[0])
    for name, inner in (("lpips-alex-v0.1", "alex.pth"), ("lpips-vgg-v0.1", "vgg.pth")):
        path = package / "weights" / "v0.1" / inner
        assert weights.path_of(name) == weights.locate(name) == weights.fetch(name) == path
        state = weights.verify(name)
        assert (state.present, state.verified, state.detail) == (True, True, "sha256 ok")


def test_packaged_file_missing_names_the_package():
    broken = WeightFile(
        "test-pkg-file",
        "nope.pth",
        "https://x/nope.pth",
        "0" * 64,
        "0",
        "t",
        packaged="lpips:weights/v0.1/nope.pth",
    )
    absent = WeightFile(
        "test-pkg-absent",
        "w.pth",
        "https://x/w.pth",
        "0" * 64,
        "0",
        "t",
        packaged="no_such_package_srbench:w.pth",
    )
    WEIGHTS.add(broken.name, broken)
    WEIGHTS.add(absent.name, absent)
    try:
        with pytest.raises(MissingWeightsError, match="reinstall lpips"):
            weights.fetch(broken.name)
        with pytest.raises(MissingWeightsError, match="pip install no_such_package_srbench"):
            weights.locate(absent.name)
        state = weights.status([absent.name], verify=True)[0]
        assert (state.path, state.present, state.verified) == (None, False, False)
    finally:
        WEIGHTS.remove(broken.name)
        WEIGHTS.remove(absent.name)


def test_unknown_name_suggests_the_close_one():
    with pytest.raises(UnknownNameError, match="Did you mean 'alexnet'"):
        weights.status(["alexnt"])


def test_cli_lists_and_exits_1_when_missing(served):
    result = run_cli("weights", expect=1)
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "state", "used", "by", "path"]
    rows = {line.split()[0]: line for line in lines[1:-1]}
    assert set(rows) == {name for name, _ in WEIGHTS.items()}
    assert " missing " in rows["alexnet"] and " present " in rows["lpips-alex-v0.1"]
    assert str(weights.hub_dir()) in lines[-1]
    assert "srbench weights --fetch alexnet" in result.stderr
    assert "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth" in result.stderr
    out = run_cli("weights", "lpips-alex-v0.1", "lpips-vgg-v0.1", "--verify").stdout
    assert out.splitlines()[0].split()[:3] == ["name", "state", "check"]
    assert all(" ok " in line for line in out.splitlines()[1:3])


def test_cli_fetch_then_verify(served, http_server):
    result = run_cli("weights", FULL, PREFIX, "--fetch", "--no-progress")
    assert f"{FULL}: saved {weights.path_of(FULL)}" in result.stderr
    assert weights.path_of(PREFIX).is_file()
    run_cli("weights", FULL, PREFIX, "--verify")
    _corrupt(weights.path_of(PREFIX))
    failed = run_cli("weights", PREFIX, "--verify", expect=1)
    assert "FAILED" in failed.stdout and "sha256 mismatch" in failed.stderr
    assert "do not have their published hash" in failed.stderr


def test_cli_fetch_failure_and_unknown_name(served, http_server):
    http_server.faults[served[PREFIX].filename] = "404"
    result = run_cli("weights", PREFIX, "--fetch", "--no-progress", expect=1)
    assert f"failed: {PREFIX}" in result.stderr and "HTTP 404" in result.stderr
    assert " missing " in result.stdout
    unknown = run_cli("weights", "alexnt", expect=2)
    assert "Did you mean 'alexnet'" in unknown.stderr
