"""What identifies a file's content without reading it again: its stat fingerprint, and SHA-256
digests cached by that fingerprint.

Hashing a weights file costs 0.08-0.25 s per 100 MB on the 2-core machine srbench is developed
on (file in the page cache; more from disk), on every run that loads it; a cached lookup takes
0.05 ms (in the process) to 0.25 ms (from the cache file). :func:`sha256_cached` hashes a file
once and remembers the digest in ``$SRBENCH_CACHE/digests.json`` under the file's resolved path
and :func:`stat_key`: size, modification time, status-change time and inode, all in
nanoseconds. Rewriting a file changes its modification time, or (``touch -r``, ``cp -p``,
``rsync -t`` restore that) its status-change time, which no user can set; replacing it
(a rename, a new copy) changes its inode. Any difference means the file is hashed again.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path

from srbench.system.files import sha256_file, write_json

__all__ = ["CACHE_NAME", "sha256_cached", "stat_key"]

CACHE_NAME = "digests.json"
_LOCK = threading.Lock()
_MEMORY: dict[str, tuple[list[int], str]] = {}


def stat_key(path: str | os.PathLike[str]) -> list[int]:
    """``[size, mtime_ns, ctime_ns, inode]`` of ``path`` (following links): equal keys mean an
    unchanged file, short of someone setting the system clock back."""
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _cache_file() -> Path:
    from srbench.hub import cache_root

    return cache_root() / CACHE_NAME


def _read(cache: Path) -> dict[str, dict]:
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def sha256_cached(path: str | os.PathLike[str], fresh: bool = False) -> str:
    """The SHA-256 hex digest of ``path``, read from the cache when the file's :func:`stat_key`
    is the one it was hashed with; otherwise (or with ``fresh``) the file is hashed and the
    cache updated. The cache is a convenience: when it cannot be written, nothing fails."""
    real = os.path.realpath(path)
    key = stat_key(real)
    with _LOCK:
        remembered = _MEMORY.get(real)
    if not fresh and remembered and remembered[0] == key:
        return remembered[1]
    cache = _cache_file()
    entry = _read(cache).get(real) if not fresh else None
    known = entry.get("sha256") if isinstance(entry, dict) and entry.get("stat") == key else None
    if isinstance(known, str):
        digest = known
    else:
        digest = sha256_file(real)
        if stat_key(real) != key:  # changed while it was read: remember nothing
            return digest
        _store(cache, real, key, digest)
    with _LOCK:
        _MEMORY[real] = (key, digest)
    return digest


def _store(cache: Path, real: str, key: list[int], digest: str) -> None:
    with _LOCK:
        entries = _read(cache)
        entries[real] = {"stat": key, "sha256": digest}
        # files that are gone are forgotten, so the cache does not grow forever
        entries = {p: e for p, e in entries.items() if os.path.exists(p)}
        with contextlib.suppress(OSError):
            write_json(cache, entries)
