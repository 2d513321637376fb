"""Downloads (against a real local HTTP server with faults) and safe archive extraction."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

import pooch
import pytest

from srbench import hub
from srbench.errors import (
    ChecksumError,
    DownloadError,
    OfflineError,
    SrbenchError,
    UnsafeArchiveError,
)
from tests.httpserver import http_server_fixture, srbench_cache_fixture  # noqa: F401

pytestmark = pytest.mark.usefixtures("srbench_cache")

DATA = bytes(range(256)) * 2000  # 512 kB: several chunks, so truncation happens mid-stream
SHA = hashlib.sha256(DATA).hexdigest()


def _entries(folder: Path) -> list[str]:
    """Everything under ``folder`` (files and folders, hidden ones too), relative."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def served(http_server):
    (http_server.root / "data.bin").write_bytes(DATA)
    return http_server


# --------------------------------------------------------------------------------------------
# Settings


def test_cache_root_and_offline_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SRBENCH_CACHE", str(tmp_path / "c"))
    assert hub.cache_root() == tmp_path / "c"
    monkeypatch.delenv("SRBENCH_CACHE")
    assert hub.cache_root() == Path(pooch.os_cache("srbench"))
    for value, expected in [("1", True), ("TRUE", True), ("yes", True), ("0", False), ("", False)]:
        monkeypatch.setenv("SRBENCH_OFFLINE", value)
        assert hub.offline() is expected
    assert 0 < hub.HTTP_TIMEOUT_S <= 60


# --------------------------------------------------------------------------------------------
# download


def test_download_checks_the_hash_and_then_uses_the_cached_file(served, tmp_path):
    dest = tmp_path / "dl"
    path = hub.download([served.url("data.bin")], "data.bin", dest, SHA, progress=True)
    assert path == dest / "data.bin" and path.read_bytes() == DATA
    assert _entries(dest) == ["data.bin"]
    served.faults["data.bin"] = "drop"  # a second call must not need the network
    assert hub.download([served.url("data.bin")], "data.bin", dest, SHA) == path
    assert hub.download([served.url("data.bin")], "data.bin", dest, None) == path
    assert served.hits == ["data.bin"]


def test_download_accepts_a_published_md5(served, tmp_path):
    md5 = "md5:" + hashlib.md5(DATA).hexdigest()
    assert hub.download([served.url("data.bin")], "data.bin", tmp_path, md5, progress=False)


def test_a_cached_file_with_another_hash_is_downloaded_again(served, tmp_path):
    (tmp_path / "data.bin").write_bytes(b"stale")
    path = hub.download([served.url("data.bin")], "data.bin", tmp_path, SHA, progress=False)
    assert path.read_bytes() == DATA and served.hits == ["data.bin"]


@pytest.mark.parametrize(
    ("fault", "error", "words", "attempts"),
    [
        ("wrong-bytes", ChecksumError, ["sha256 is", f"expected {SHA}"], 1),
        ("truncate", DownloadError, ["cut short", "IncompleteRead"], 3),
        ("404", DownloadError, ["HTTP 404"], 1),
        ("drop", DownloadError, ["connection failed", "closed connection"], 3),
    ],
)
def test_a_failed_download_leaves_nothing_and_the_next_one_works(
    served, tmp_path, fault, error, words, attempts
):
    served.faults["data.bin"] = fault
    url = served.url("data.bin")
    with pytest.raises(error) as info:
        hub.download([url], "data.bin", tmp_path / "dl", SHA, progress=False, retries=2)
    message = str(info.value)
    assert url in message and "data.bin" in message and "Fix:" in message
    assert all(w in message for w in words), message
    assert _entries(tmp_path / "dl") == []
    assert len(served.hits) == attempts  # transient faults are retried, 404 and bad bytes not

    del served.faults["data.bin"]
    path = hub.download([url], "data.bin", tmp_path / "dl", SHA, progress=False)
    assert path.read_bytes() == DATA and _entries(tmp_path / "dl") == ["data.bin"]


def test_download_lists_every_url_it_tried_and_uses_the_next_one(served, tmp_path):
    gone, dropped, good = (served.url(p) for p in ("gone.bin", "dropped.bin", "data.bin"))
    served.faults["dropped.bin"] = "drop"
    with pytest.raises(DownloadError) as info:
        hub.download([gone, dropped], "data.bin", tmp_path, SHA, progress=False, retries=0)
    assert f"{gone}: HTTP 404" in str(info.value)
    assert f"{dropped}: connection failed" in str(info.value)
    assert hub.download([gone, good], "data.bin", tmp_path, SHA, progress=False).is_file()


def test_a_mirror_url_serves_the_file(served, tmp_path, monkeypatch):
    (served.root / "mirror").mkdir()
    (served.root / "mirror" / "data.bin").write_bytes(DATA)
    monkeypatch.setenv("SRBENCH_MIRROR", served.url("mirror/"))
    path = hub.download([served.url("data.bin")], "data.bin", tmp_path, SHA, progress=False)
    assert path.read_bytes() == DATA and served.hits == ["mirror/data.bin"]


def test_a_mirror_replaces_the_declared_urls(served, tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_MIRROR", served.url("mirror"))
    with pytest.raises(DownloadError, match="replaces the published URLs") as info:
        hub.download([served.url("data.bin")], "data.bin", tmp_path, SHA, progress=False)
    assert served.hits == ["mirror/data.bin"] and served.url("data.bin") in str(info.value)


def test_a_mirror_folder_is_copied_and_works_offline(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "data.bin").write_bytes(DATA)
    monkeypatch.setenv("SRBENCH_MIRROR", str(mirror))
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    url = "http://127.0.0.1:9/data.bin"  # nothing listens: the network is not used
    path = hub.download([url], "data.bin", tmp_path / "dl", SHA, progress=False)
    assert path.read_bytes() == DATA and (mirror / "data.bin").exists()

    (mirror / "bad.bin").write_bytes(b"not it")
    monkeypatch.delenv("SRBENCH_OFFLINE")
    with pytest.raises(ChecksumError, match=str(mirror / "bad.bin")):
        hub.download([], "bad.bin", tmp_path / "dl", SHA, progress=False)
    assert _entries(tmp_path / "dl") == ["data.bin"]


def test_offline_without_a_local_copy_says_where_to_put_the_file(served, tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_OFFLINE", "yes")
    url = served.url("data.bin")
    with pytest.raises(OfflineError) as info:
        hub.download([url], "data.bin", tmp_path / "dl", SHA, progress=False)
    message = str(info.value)
    assert "data.bin" in message and url in message and "SRBENCH_OFFLINE" in message
    assert str(tmp_path / "dl" / "data.bin") in message
    assert served.hits == [] and _entries(tmp_path / "dl") == []


# --------------------------------------------------------------------------------------------
# extract


def _tar(path: Path, members: dict[str, bytes], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


MEMBERS = {
    "benchmark/Set5/HR/a.png": b"A",
    "./benchmark/Set5/HR/b.png": b"B",
    "benchmark/Set5/LR_bicubic/X2/ax2.png": b"a",
}


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda p: _tar(p, MEMBERS), "plain.tar"),
        (lambda p: _tar(p, MEMBERS, "w:gz"), "compressed.tgz"),
        (lambda p: _tar(p, MEMBERS, "w:gz"), "misnamed.zip"),
        (lambda p: _zip(p, MEMBERS), "misnamed.tar"),
    ],
)
def test_extract_detects_the_format_from_the_content(tmp_path, build, name):
    archive = build(tmp_path / name)
    out = hub.extract(archive, tmp_path / "out", members="benchmark/Set5/HR")
    assert out == tmp_path / "out"
    assert _entries(out) == [
        "benchmark",
        "benchmark/Set5",
        "benchmark/Set5/HR",
        "benchmark/Set5/HR/a.png",
        "benchmark/Set5/HR/b.png",
    ]
    assert (out / "benchmark/Set5/HR/b.png").read_bytes() == b"B"
    assert len(_entries(hub.extract(archive, tmp_path / "all"))) == 8
    assert sorted(os.listdir(tmp_path)) == sorted([name, "out", "all"])


def test_extract_replaces_an_existing_folder(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("old")
    hub.extract(_tar(tmp_path / "a.tar", {"x.png": b"x"}), tmp_path / "out")
    assert _entries(tmp_path / "out") == ["x.png"]
    assert sorted(os.listdir(tmp_path)) == ["a.tar", "out"]


@pytest.mark.parametrize(
    ("build", "member"),
    [
        (lambda p: _tar(p, {"ok.png": b"1", "../evil.png": b"2"}), "../evil.png"),
        (lambda p: _tar(p, {"benchmark/Set5/HR/../../../../evil.png": b"2"}), "../../evil"),
        (lambda p: _tar(p, {"/etc/evil.png": b"2"}), "/etc/evil.png"),
        (lambda p: _zip(p, {"../evil.png": b"2"}), "../evil.png"),
        (lambda p: _zip(p, {"C:/evil.png": b"2"}), "C:/evil.png"),
        (lambda p: _zip(p, {"..\\evil.png": b"2"}), "evil.png"),
    ],
)
def test_extract_refuses_members_that_escape_and_leaves_nothing(tmp_path, build, member):
    archive = build(tmp_path / "evil.archive")
    with pytest.raises(UnsafeArchiveError, match="outside the extraction folder") as info:
        hub.extract(archive, tmp_path / "out", members="benchmark/Set5/HR/")
    assert member in str(info.value)
    assert os.listdir(tmp_path) == ["evil.archive"]
    assert not (tmp_path.parent / "evil.png").exists()


def test_extract_skips_links_devices_and_fifos(tmp_path):
    archive = tmp_path / "links.tar"
    with tarfile.open(archive, "w") as tf:
        info = tarfile.TarInfo("d/real.png")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"r"))
        for name, kind, target in [
            ("d/sym.png", tarfile.SYMTYPE, "/etc/passwd"),
            ("d/up.png", tarfile.SYMTYPE, "../../outside.png"),
            ("d/hard.png", tarfile.LNKTYPE, "d/real.png"),
            ("d/fifo", tarfile.FIFOTYPE, ""),
            ("d/dev", tarfile.CHRTYPE, ""),
        ]:
            link = tarfile.TarInfo(name)
            link.type, link.linkname = kind, target
            tf.addfile(link)
    assert _entries(hub.extract(archive, tmp_path / "out")) == ["d", "d/real.png"]


def test_extract_skips_zip_symlinks(tmp_path):
    archive = tmp_path / "links.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("real.png", b"r")
        link = zipfile.ZipInfo("link.png")
        link.external_attr = (0o120777 << 16) | 0x20  # S_IFLNK: the content is the target
        zf.writestr(link, "/etc/passwd")
    assert _entries(hub.extract(archive, tmp_path / "out")) == ["real.png"]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"<html>404</html>", "not a zip or tar archive"),
        (b"", "not a zip or tar archive"),
    ],
)
def test_extract_rejects_files_that_are_not_archives(tmp_path, content, words):
    (tmp_path / "x.tar").write_bytes(content)
    with pytest.raises(SrbenchError, match=words):
        hub.extract(tmp_path / "x.tar", tmp_path / "out")
    assert os.listdir(tmp_path) == ["x.tar"]


def test_extract_reports_a_truncated_archive_and_leaves_nothing(tmp_path):
    full = _tar(tmp_path / "full.tgz", {"a.png": os.urandom(200_000)}, "w:gz").read_bytes()
    (tmp_path / "cut.tgz").write_bytes(full[: len(full) // 2])
    with pytest.raises(SrbenchError, match="corrupt or truncated"):
        hub.extract(tmp_path / "cut.tgz", tmp_path / "out")
    assert sorted(os.listdir(tmp_path)) == ["cut.tgz", "full.tgz"]


def test_extract_says_when_the_prefix_matches_nothing(tmp_path):
    archive = _tar(tmp_path / "a.tar", {"other/a.png": b"a"})
    with pytest.raises(SrbenchError, match="no file under 'benchmark/Set5/HR/'"):
        hub.extract(archive, tmp_path / "out", members="benchmark/Set5/HR/")
    assert os.listdir(tmp_path) == ["a.tar"]
