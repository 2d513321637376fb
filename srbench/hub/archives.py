"""Safe extraction of downloaded archives (zip, tar, compressed tar) into the cache.

Members are extracted under their archive paths; links, devices and FIFOs are skipped, paths that
lead outside the destination are refused, and the destination folder appears in one rename.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import IO, TypeVar

from srbench.errors import SrbenchError, UnsafeArchiveError
from srbench.system.files import atomic_path

__all__ = ["extract", "extract_member"]

_CHUNK_BYTES = 1 << 16
_M = TypeVar("_M", zipfile.ZipInfo, tarfile.TarInfo)


def extract(archive: Path, dest: Path, members: str | None = None) -> Path:
    """Extract a zip, tar or compressed tar ``archive`` into folder ``dest``, safely.

    The format is read from the file's content, not its name. Members are extracted under their
    archive paths; links, devices and FIFOs are skipped. Extraction goes to a temporary folder
    beside ``dest`` which then replaces ``dest`` in one rename, so ``dest`` is either absent,
    its old self, or complete.

    Args:
        archive: The archive file.
        dest: The folder to create (an existing one is replaced).
        members: Only extract members under this path prefix (e.g. ``"benchmark/Set5/HR/"``).

    Returns:
        ``dest``.

    Raises:
        UnsafeArchiveError: A member path is absolute or leads outside ``dest`` (``../``).
        SrbenchError: The file is not a zip or tar archive, is corrupt, or has no member under
            ``members``.
    """
    archive, dest = Path(archive), Path(dest)
    prefix = _normalize_prefix(members)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        count = _extract_into(archive, tmp, prefix)
        if count == 0:
            raise SrbenchError(
                f"{archive}: no file under {prefix!r} in the archive; the archive's layout is not "
                "the one the registry declares (wrong file, or a different release)."
            )
        _replace_dir(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _extract_into(archive: Path, out: Path, prefix: str) -> int:
    kind = _archive_kind(archive)
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                return _extract_zip(zf, out, prefix, archive)
        with tarfile.open(archive, "r:*") as tf:
            return _extract_tar(tf, out, prefix, archive)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise SrbenchError(
            f"{archive}: the archive is corrupt or truncated ({exc}). Delete it and download it "
            "again."
        ) from None


def _archive_kind(archive: Path) -> str:
    with open(archive, "rb") as fh:
        head = fh.read(512)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    compressed = head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"))
    if compressed or head[257:262] == b"ustar" or tarfile.is_tarfile(archive):
        return "tar"
    raise SrbenchError(
        f"{archive}: not a zip or tar archive (it starts with {head[:8]!r}). The server may have "
        "sent an error page; delete the file and download it again."
    )


def _normalize_prefix(members: str | None) -> str:
    if not members:
        return ""
    prefix = _clean_name(members)
    return prefix if prefix.endswith("/") else prefix + "/"


def _clean_name(name: str) -> str:
    name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


def _safe_relative(name: str, archive: Path) -> str:
    """``name`` as a safe relative POSIX path, or raise :class:`UnsafeArchiveError`."""
    clean = _clean_name(name)
    normal = posixpath.normpath(clean) if clean else clean
    drive = len(clean) > 1 and clean[1] == ":"
    if clean.startswith("/") or drive or normal == ".." or normal.startswith("../"):
        raise UnsafeArchiveError(
            f"{archive}: member {name!r} would be written outside the extraction folder "
            "(absolute path or '..'). srbench refuses the whole archive; it is corrupt or "
            "malicious. Delete it and use another source."
        )
    return "" if normal == "." else normal


def _extract_tar(tf: tarfile.TarFile, out: Path, prefix: str, archive: Path) -> int:
    wanted: list[tuple[str, tarfile.TarInfo]] = []
    for member in tf.getmembers():
        if not (member.isreg() or member.isdir()):
            continue  # symlinks, hard links, devices, FIFOs: never created
        rel = _safe_relative(member.name, archive)
        if member.isreg() and rel.startswith(prefix):
            wanted.append((rel, member))
    for rel, member in wanted:
        source = tf.extractfile(member)
        if source is not None:
            with source:
                _write_member(source, out, rel)
    return len(wanted)


def _extract_zip(zf: zipfile.ZipFile, out: Path, prefix: str, archive: Path) -> int:
    wanted: list[tuple[str, zipfile.ZipInfo]] = []
    for info in zf.infolist():
        if info.is_dir() or not _zip_regular(info):
            continue
        rel = _safe_relative(info.filename, archive)
        if rel.startswith(prefix):
            wanted.append((rel, info))
    for rel, info in wanted:
        with zf.open(info) as source:
            _write_member(source, out, rel)
    return len(wanted)


def _zip_regular(info: zipfile.ZipInfo) -> bool:
    # Unix zips keep st_mode in the high 16 bits; 0 means "no type recorded" (a plain file).
    mode = info.external_attr >> 16
    return stat.S_IFMT(mode) in (0, stat.S_IFREG)


def _write_member(source: IO[bytes], out: Path, rel: str) -> None:
    path = out / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        shutil.copyfileobj(source, fh, _CHUNK_BYTES)


def _replace_dir(tmp: Path, dest: Path) -> None:
    if not dest.exists():
        os.replace(tmp, dest)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".old", dir=dest.parent))
    os.replace(dest, old / dest.name)
    os.replace(tmp, dest)
    shutil.rmtree(old, ignore_errors=True)


def extract_member(archive: Path, name: str, target: Path) -> Path:
    """Write the one regular member of ``archive`` whose file name is ``name`` (at any depth)
    to ``target`` (atomically: ``target`` is absent or complete); returns ``target``.

    Raises:
        UnsafeArchiveError: A member path is absolute or leads outside the archive's root.
        SrbenchError: The archive is corrupt, or holds no member (or several) of that name.
    """
    archive = Path(archive)
    kind = _archive_kind(archive)
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                infos = [i for i in zf.infolist() if not i.is_dir() and _zip_regular(i)]
                found = _one_member(archive, name, [(i.filename, i) for i in infos])
                with zf.open(found) as source:
                    return _write_target(source, target)
        with tarfile.open(archive, "r:*") as tf:
            members = [(m.name, m) for m in tf.getmembers() if m.isreg()]
            source = tf.extractfile(_one_member(archive, name, members))
            assert source is not None  # a regular member always has content
            with source:
                return _write_target(source, target)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise SrbenchError(
            f"{archive}: the archive is corrupt or truncated ({exc}). Delete it and download it "
            "again."
        ) from None


def _one_member(archive: Path, name: str, members: list[tuple[str, _M]]) -> _M:
    hits = [m for path, m in members if posixpath.basename(_safe_relative(path, archive)) == name]
    if len(hits) != 1:
        listed = ", ".join(p for p, _ in members[:5]) or "nothing"
        raise SrbenchError(
            f"{archive}: {'no' if not hits else len(hits)} member(s) named {name!r} (it holds "
            f"{len(members)} files: {listed}...); the archive is not the release srbench declares."
        )
    return hits[0]


def _write_target(source: IO[bytes], target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        shutil.copyfileobj(source, fh, _CHUNK_BYTES)
    return target
