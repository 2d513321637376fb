"""The dataset registry file, pixel verification and ``ensure_dataset`` against a local server."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from srbench import hub
from srbench.catalog import install
from srbench.catalog import schema as catalog
from srbench.catalog.schema import DatasetSpec, Source
from srbench.errors import (
    ChecksumError,
    DownloadError,
    LicenceError,
    OfflineError,
    SrbenchError,
    UnknownNameError,
    UnsafeArchiveError,
    VerificationError,
)
from srbench.imageio import read_image
from tests.httpserver import http_server_fixture, srbench_cache_fixture  # noqa: F401

pytestmark = pytest.mark.usefixtures("srbench_cache")

HR = "benchmark/Set5/HR/"


def _cache_entries() -> list[str]:
    """Everything in the cache except the (empty) top folders srbench creates."""
    root = hub.cache_root()
    entries = sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []
    return [e for e in entries if e not in ("datasets", "downloads", "verified")]


def _set5(*sources: Source, **changes: object) -> DatasetSpec:
    return dataclasses.replace(catalog.load_catalog().get("Set5"), sources=sources, **changes)


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def _edsr_tar(path: Path, images: dict[str, bytes], extra: tarfile.TarInfo | None = None) -> bytes:
    """A tar in EDSR's ``benchmark.tar`` layout (HR images plus an LR folder to ignore)."""
    with tarfile.open(path, "w") as tf:
        members = {f"{HR}{n}": d for n, d in images.items()}
        members["benchmark/Set5/LR_bicubic/X2/babyx2.png"] = b"not extracted"
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        if extra is not None:
            tf.addfile(extra, io.BytesIO(b"evil") if extra.isreg() else None)
    return path.read_bytes()


@pytest.fixture
def set5_files(shared) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((shared / "benchmark" / "Set5").glob("*.png"))}


@pytest.fixture
def server(http_server, set5_files):
    """The local server with a good ``benchmark.tar`` of the real Set5 images."""
    _edsr_tar(http_server.root / "benchmark.tar", set5_files)
    return http_server


def _source(server, path: str = "benchmark.tar", sha256: str | None = None) -> Source:
    return Source(server.url(path), "tar", sha256, HR)


# --------------------------------------------------------------------------------------------
# The registry file


def test_the_packaged_registry_loads_with_aliases_and_suggestions():
    registry = catalog.load_catalog()
    assert registry is catalog.load_catalog()  # parsed once
    assert registry.get("b100").id == "BSD100" and registry.get(" DIV2K ").id == "DIV2K-valid"
    with pytest.raises(UnknownNameError, match="Did you mean 'set5'"):
        registry.get("set6")
    for _, spec in registry.items():
        assert not spec.digests or len(spec.digests) == spec.images
        assert spec.version and (spec.sources or spec.agreement_required)
        for source in spec.sources:
            assert source.url.startswith(("http://", "https://")) and source.fname
    assert {s.id for _, s in registry.items() if s.digests} == {
        "Set5",
        "Set14",
        "BSD100",
        "Urban100",
        "Manga109",
    }
    source = registry.get("Set5").sources[0]
    assert source.fname == "benchmark.tar" and source.sha256.startswith("md5:")


def test_the_registry_digests_are_those_of_the_shared_csv(shared):
    csv = pd.read_csv(shared / "benchmark" / "pixel_digests.csv")
    registry = catalog.load_catalog()
    for row in csv.itertuples():
        spec = registry.get(row.dataset)
        expected = (row.width, row.height, row.rgb_pixels_sha256)
        assert spec.digests[str(row.image_id)] == expected, (row.dataset, row.image_id)


GOOD = """\
schema_version: 1
datasets:
  - id: Tiny
    split: test
    images: 1
    licence: public
    agreement_required: false
    citation: nobody
    homepage: https://example.org
    version: "1"
    sources:
      - {url: "https://example.org/t.zip", format: zip, sha256: null, hr_dir: HR/}
    digests:
      "0001": "2x1 %s"
""" % ("ab" * 32)


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("    images: 1\n", "", "field 'images' is missing"),
        ("images: 1", "images: one", "field 'images' must be int"),
        ("images: 1", "images: yes", "field 'images' must be int"),
        ("split: test", "split: dev", "field 'split' must be one of"),
        ('version: "1"', "version: 1", "field 'version' must be str"),
        ("format: zip", "format: rar", "'sources[0].format' must be one of"),
        ("sha256: null", "sha256: abc", "'sources[0].sha256' must be a SHA-256"),
        ('"https://example.org/t.zip"', "/tmp/t.zip", "must be an http(s) URL"),
        ('"0001": "2x1', '"0001": "2 x 1', "field 'digests.0001' must be"),
        ('"0001"', "1", "key 1 must be a string: quote it"),
        ("    citation", "    licnce: typo\n    citation", "'licnce' is not a known field"),
        ("images: 1", "images: 2", "has 1 entries for 2 images"),
        ("id: Tiny", "id: ../Tiny", "field 'id' must be letters"),
    ],
)
def test_registry_errors_name_the_file_dataset_and_field(tmp_path, old, new, words):
    assert old in GOOD
    path = tmp_path / "datasets.yaml"
    path.write_text(GOOD.replace(old, new))
    with pytest.raises(SrbenchError) as info:
        catalog.load_catalog(path)
    message = str(info.value)
    assert str(path) in message and "Tiny'" in message and words in message, message


def test_a_valid_registry_file_loads(tmp_path):
    (tmp_path / "d.yaml").write_text(GOOD)
    spec = catalog.load_catalog(tmp_path / "d.yaml").get("tiny")
    assert spec.digests == {"0001": (2, 1, "ab" * 32)} and spec.sources[0].fname == "t.zip"
    assert spec.aliases == () and spec.notes == ""


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("datasets: []", "schema_version: 1"),
        ("schema_version: 1\ndatasets: []", "non-empty list"),
        ("schema_version: 1\ndatasets: [[1]]", "dataset #1"),
        ("a: [", "not valid YAML"),
    ],
)
def test_malformed_registry_files_are_refused(tmp_path, text, words):
    (tmp_path / "d.yaml").write_text(text)
    with pytest.raises(SrbenchError, match=words):
        catalog.load_catalog(tmp_path / "d.yaml")


# --------------------------------------------------------------------------------------------
# Pixel verification


def test_pixel_digest_replicates_gray_to_rgb():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    rgb = np.repeat(gray[..., None], 3, axis=2)
    assert catalog.pixel_digest(gray) == catalog.pixel_digest(rgb)
    assert catalog.pixel_digest(rgb) == hashlib.sha256(rgb.tobytes()).hexdigest()
    assert catalog.pixel_digest(rgb[:, ::-1]) != catalog.pixel_digest(rgb)  # views are copied
    with pytest.raises(TypeError):
        catalog.pixel_digest(gray.astype(np.float32))


def test_verify_accepts_the_real_set5(shared):
    catalog.verify_images(catalog.load_catalog().get("Set5"), shared / "benchmark" / "Set5")


def test_verify_names_each_bad_image(shared, tmp_path):
    for path in (shared / "benchmark" / "Set5").glob("*.png"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    img = read_image(tmp_path / "bird.png")
    img[0, 0, 0] ^= 1
    (tmp_path / "bird.png").write_bytes(_png(img))
    (tmp_path / "head.png").rename(tmp_path / "face.png")
    with pytest.raises(VerificationError) as info:
        catalog.verify_images(catalog.load_catalog().get("Set5"), tmp_path)
    message = str(info.value)
    spec = catalog.load_catalog().get("Set5")
    assert f"bird.png: expected 288x288 pixels with digest {spec.digests['bird'][2]}" in message
    assert f"got 288x288 with digest {catalog.pixel_digest(img)}" in message
    assert "head: missing" in message and "face.png: not an image of Set5" in message
    assert "baby" not in message and f"delete {tmp_path}" in message


def test_verify_checks_the_count_when_no_digests_are_declared(tmp_path):
    spec = _set5(digests={}, images=2)
    (tmp_path / "a.png").write_bytes(_png(np.zeros((2, 2), np.uint8)))
    with pytest.raises(VerificationError, match="1 images found, 2 expected"):
        catalog.verify_images(spec, tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(VerificationError, match="no images found"):
        catalog.verify_images(spec, tmp_path / "empty")


# --------------------------------------------------------------------------------------------
# ensure_dataset


def test_ensure_downloads_verifies_and_then_needs_no_network(server):
    spec = _set5(_source(server))
    assert install.state(spec) == "missing"
    folder = install.ensure_dataset(spec, progress=False)
    assert folder == hub.cache_root() / "datasets" / "Set5" == install.dataset_dir(spec)
    assert install.state(spec) == "verified"
    assert _cache_entries() == [
        "datasets/Set5",
        *(f"datasets/Set5/{n}.png" for n in ("baby", "bird", "butterfly", "head", "woman")),
        "downloads/benchmark.tar",
        "verified/Set5.json",  # the record is beside the set, never in it
    ]
    server.faults["benchmark.tar"] = "drop"
    assert install.ensure_dataset(spec) == folder
    assert server.hits == ["benchmark.tar"]


def test_a_changed_registry_entry_is_verified_again(server):
    spec = _set5(_source(server))
    install.ensure_dataset(spec, progress=False)
    bumped = dataclasses.replace(spec, version="2")
    assert install.state(bumped) == "cached"
    assert install.ensure_dataset(bumped) == install.dataset_dir(spec)
    assert install.state(bumped) == "verified" and install.state(spec) == "cached"
    assert server.hits == ["benchmark.tar"]


def test_images_placed_by_hand_are_verified_in_place(shared):
    spec = _set5()  # no source at all
    folder = install.dataset_dir(spec)
    folder.mkdir(parents=True)
    shared_set5 = list((shared / "benchmark" / "Set5").glob("*.png"))
    for path in shared_set5:
        (folder / path.name).write_bytes(path.read_bytes())
    assert install.state(spec) == "cached"
    assert install.ensure_dataset(spec) == folder and install.state(spec) == "verified"
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in shared_set5)
    (folder / "woman.png").unlink()  # the record no longer matches the folder
    assert install.state(spec) == "cached"
    with pytest.raises(VerificationError, match="woman: missing"):
        install.ensure_dataset(spec)
    assert install.state(spec) == "cached"


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        ("wrong-bytes", ChecksumError, "expected"),
        ("truncate", DownloadError, "cut short"),
        ("404", DownloadError, "HTTP 404"),
        ("drop", DownloadError, "connection failed"),
    ],
)
def test_a_failed_download_leaves_nothing_and_the_next_attempt_works(server, fault, error, words):
    sha = hashlib.sha256((server.root / "benchmark.tar").read_bytes()).hexdigest()
    spec = _set5(_source(server, sha256=sha))
    server.faults["benchmark.tar"] = fault
    with pytest.raises(error) as info:
        install.ensure_dataset(spec, progress=False)
    assert words in str(info.value) and server.url("benchmark.tar") in str(info.value)
    assert _cache_entries() == [] and install.state(spec) == "missing"

    del server.faults["benchmark.tar"]
    assert install.ensure_dataset(spec, progress=False).is_dir()
    assert install.state(spec) == "verified"


def test_an_altered_pixel_is_refused_and_the_archive_dropped(server, set5_files):
    img = np.array(Image.open(io.BytesIO(set5_files["butterfly.png"])))
    img[10, 20, 1] = 255 - img[10, 20, 1]
    _edsr_tar(server.root / "bad.tar", {**set5_files, "butterfly.png": _png(img)})
    spec = _set5(_source(server, "bad.tar"))
    with pytest.raises(VerificationError) as info:
        install.ensure_dataset(spec, progress=False)
    message = str(info.value)
    assert "butterfly.png: expected 256x256 pixels" in message and "bird" not in message
    assert server.url("bad.tar") in message
    assert _cache_entries() == [] and install.state(spec) == "missing"

    (server.root / "bad.tar").write_bytes((server.root / "benchmark.tar").read_bytes())
    install.ensure_dataset(spec, progress=False)
    assert server.hits == ["bad.tar", "bad.tar"] and install.state(spec) == "verified"


def test_an_archive_with_its_published_hash_is_kept_when_its_pixels_differ(server, set5_files):
    """Downloading the publisher's exact file again could not help; only the images go."""
    img = np.array(Image.open(io.BytesIO(set5_files["bird.png"])))
    img[0, 0] = 255 - img[0, 0]
    _edsr_tar(server.root / "bad.tar", {**set5_files, "bird.png": _png(img)})
    sha = hashlib.sha256((server.root / "bad.tar").read_bytes()).hexdigest()
    spec = _set5(_source(server, "bad.tar", sha256=sha))
    for _ in range(2):
        with pytest.raises(VerificationError, match="bird.png"):
            install.ensure_dataset(spec, progress=False)
    assert _cache_entries() == ["downloads/bad.tar"] and server.hits == ["bad.tar"]


def test_an_archive_member_escaping_the_folder_is_refused(server, set5_files):
    evil = tarfile.TarInfo("../evil.png")
    evil.size = 4
    _edsr_tar(server.root / "evil.tar", set5_files, extra=evil)
    spec = _set5(_source(server, "evil.tar"))
    with pytest.raises(UnsafeArchiveError, match=r"'\.\./evil\.png'"):
        install.ensure_dataset(spec, progress=False)
    assert _cache_entries() == [] and not (hub.cache_root().parent / "evil.png").exists()


def test_macos_resource_forks_in_the_archive_are_ignored(server, set5_files):
    _edsr_tar(server.root / "mac.tar", {**set5_files, "._baby.png": b"\x00\x05\x16\x07"})
    folder = install.ensure_dataset(_set5(_source(server, "mac.tar")), progress=False)
    assert sorted(p.name for p in folder.iterdir())[0] == "baby.png"


def test_a_symlink_member_is_skipped(server, set5_files):
    link = tarfile.TarInfo(f"{HR}passwd.png")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    _edsr_tar(server.root / "link.tar", set5_files, extra=link)
    folder = install.ensure_dataset(_set5(_source(server, "link.tar")), progress=False)
    assert not (folder / "passwd.png").exists() and len(list(folder.glob("*.png"))) == 5


def test_the_second_source_is_used_when_the_first_fails(server):
    spec = _set5(_source(server, "gone.tar"), _source(server))
    assert install.ensure_dataset(spec, progress=False).is_dir()
    assert server.hits == ["gone.tar", "benchmark.tar"]
    assert _cache_entries()[-2:] == ["downloads/benchmark.tar", "verified/Set5.json"]


def test_every_failed_source_is_listed(server):
    server.faults["benchmark.tar"] = "wrong-bytes"
    spec = _set5(_source(server, "gone.tar"), _source(server, sha256="md5:" + "0" * 32))
    with pytest.raises(DownloadError) as info:
        install.ensure_dataset(spec, progress=False)
    message = str(info.value)
    assert type(info.value) is DownloadError  # mixed failures: the common base class
    assert f"1. {server.url('gone.tar')}" in message and "HTTP 404" in message
    assert f"2. {server.url('benchmark.tar')}" in message and "md5 is" in message
    assert _cache_entries() == []


def test_a_mirror_url_serves_the_archive(server, monkeypatch):
    (server.root / "mirror").mkdir()
    (server.root / "benchmark.tar").rename(server.root / "mirror" / "benchmark.tar")
    monkeypatch.setenv("SRBENCH_MIRROR", server.url("mirror"))
    install.ensure_dataset(_set5(_source(server)), progress=False)
    assert server.hits == ["mirror/benchmark.tar"]


def test_a_mirror_folder_works_offline(server, monkeypatch, tmp_path):
    (tmp_path / "mirror").mkdir()
    (server.root / "benchmark.tar").rename(tmp_path / "mirror" / "benchmark.tar")
    monkeypatch.setenv("SRBENCH_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    assert install.ensure_dataset(_set5(_source(server)), progress=False).is_dir()
    assert server.hits == []


def test_offline_without_a_cached_copy_says_what_to_do(monkeypatch):
    monkeypatch.setenv("SRBENCH_OFFLINE", "true")
    url = "http://127.0.0.1:9/benchmark.tar"
    with pytest.raises(OfflineError) as info:
        install.ensure_dataset(_set5(Source(url, "tar", None, HR)), progress=False)
    message = str(info.value)
    assert "Set5" in message and url in message and "SRBENCH_OFFLINE" in message
    assert str(hub.cache_root() / "downloads" / "benchmark.tar") in message
    assert str(hub.cache_root() / "datasets" / "Set5") in message
    assert _cache_entries() == []


def test_a_licence_needs_an_explicit_opt_in(http_server):
    spec = _set5(Source(http_server.url("benchmark.tar"), "tar", None, HR), agreement_required=True)
    with pytest.raises(LicenceError) as info:
        install.ensure_dataset(spec)
    message = str(info.value)
    assert spec.licence in message and spec.homepage in message
    assert "--accept-licence Set5" in message and "SRBENCH_ACCEPT_LICENCE=Set5" in message
    assert http_server.hits == [] and _cache_entries() == []


@pytest.mark.parametrize("how", ["flag", "env", "env-alias"])
def test_a_licence_opt_in_by_flag_or_environment(server, monkeypatch, how):
    spec = _set5(_source(server), agreement_required=True)
    env = {"env": "DIV2K, set5", "env-alias": "SET5"}.get(how)
    if env:
        monkeypatch.setenv("SRBENCH_ACCEPT_LICENCE", env)
    assert install.licence_accepted(spec, accept_licence=how == "flag")
    assert install.ensure_dataset(spec, accept_licence=how == "flag", progress=False).is_dir()


def test_a_set_without_public_download_says_where_to_put_it():
    spec = catalog.load_catalog().get("Manga109")
    with pytest.raises(DownloadError) as info:
        install.ensure_dataset(spec, accept_licence=True)
    message = str(info.value)
    assert "no public download" in message and spec.homepage in message
    assert str(install.dataset_dir(spec)) in message
    assert json.dumps(spec.images) in message
