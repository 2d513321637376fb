"""srbench's download cache: fetching files with mirrors, retries and hashes.

Environment variables:

* ``SRBENCH_CACHE``: the cache folder (default: the OS cache folder, e.g. ``~/.cache/srbench``).
* ``SRBENCH_OFFLINE=1``: never touch the network; only cached files and a local mirror are used.
* ``SRBENCH_MIRROR``: a base URL (``https://host/path``) or a local folder holding files under
  their own names; it *replaces* the declared URLs (an air-gapped site must not reach out, or
  wait on timeouts, when its mirror lacks a file). A local folder works offline.

Every file lands in place with an atomic rename, so an interrupted download or extraction never
leaves a partial file or folder where a complete one is expected.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from srbench.errors import (
    ChecksumError,
    DownloadError,
    OfflineError,
)
from srbench.system.files import atomic_path

if TYPE_CHECKING:
    import requests

# pooch and requests are imported where a file is fetched or hashed, not here: together they
# take about 0.1 s, and most commands (ls, run on cached data) never download.

__all__ = ["HTTP_TIMEOUT_S", "cache_root", "download", "offline"]

HTTP_TIMEOUT_S = 30
"""Seconds to wait for a connection or for the next bytes of a response (requests' timeout)."""

RETRY_WAIT_S = 1.0
"""Pause before retry ``n`` is ``n * RETRY_WAIT_S`` seconds."""

_CHUNK_BYTES = 1 << 16  # pooch's default of 1 KiB makes a flush per KiB on large archives
_TRUTHY = ("1", "true", "yes")
_TRANSIENT_HTTP = (408, 429, 500, 502, 503, 504)


def cache_root() -> Path:
    """The cache folder: ``$SRBENCH_CACHE`` if set, else the OS cache folder for srbench."""
    env = os.environ.get("SRBENCH_CACHE", "").strip()
    return Path(env).expanduser() if env else _os_cache("srbench")


def _os_cache(project: str) -> Path:
    """``pooch.os_cache(project)`` without importing pooch (which imports requests): pooch's is
    ``platformdirs.user_cache_dir``, and platformdirs is pooch's own dependency."""
    try:
        import platformdirs
    except ImportError:  # a pooch that no longer uses platformdirs
        import pooch

        return Path(pooch.os_cache(project))
    return Path(platformdirs.user_cache_dir(project))


def offline() -> bool:
    """Whether ``$SRBENCH_OFFLINE`` forbids network access (``1``, ``true`` or ``yes``)."""
    return os.environ.get("SRBENCH_OFFLINE", "").strip().lower() in _TRUTHY


# --------------------------------------------------------------------------------------------
# Downloads


class _Failed(Exception):
    """One candidate URL failed; ``checksum`` marks a hash mismatch rather than a transfer error."""

    def __init__(self, why: str, checksum: bool = False) -> None:
        super().__init__(why)
        self.checksum = checksum


def download(
    urls: Sequence[str],
    fname: str,
    dest: Path,
    sha256: str | None = None,
    progress: bool = True,
    retries: int = 2,
) -> Path:
    """Fetch ``fname`` into folder ``dest`` from each of ``urls`` in turn (or only the mirror).

    Args:
        urls: Where the file is published, preferred first.
        fname: The file name in ``dest`` (and in ``$SRBENCH_MIRROR``).
        dest: The folder to store it in (created if needed).
        sha256: The published hash: a SHA-256 hex digest, or ``"md5:<hex>"`` / ``"sha256:<hex>"``
            where only that is published. ``None`` when unknown (then any content is accepted).
        progress: Show a progress bar on stderr.
        retries: Extra attempts per URL after a transient failure (connection, timeout, 5xx).

    Returns:
        ``dest / fname``. An existing file with the right hash (or any existing file when no
        hash is known) is returned without touching the network.

    Raises:
        OfflineError: ``$SRBENCH_OFFLINE`` is set and no cached or local-mirror copy exists.
        ChecksumError: A URL served content with another hash (nothing is kept).
        DownloadError: No URL could be fetched; every URL is listed with its error.
    """
    dest = Path(dest)
    target = dest / fname
    if target.is_file() and (sha256 is None or _hash_error(target, sha256) is None):
        return target
    candidates = _candidates(urls, fname)
    if offline():
        candidates = [c for c in candidates if not _is_url(c)]
        if not candidates:
            raise _offline_error(urls, fname, target)
    dest.mkdir(parents=True, exist_ok=True)
    failures: list[tuple[str, _Failed]] = []
    for candidate in candidates:
        try:
            _fetch(candidate, target, sha256, progress, retries)
            return target
        except _Failed as exc:
            failures.append((candidate, exc))
    if offline():
        raise _offline_error(urls, fname, target, failures)
    raise _download_error(fname, target, sha256, failures, urls)


def _candidates(urls: Sequence[str], fname: str) -> list[str]:
    mirror = os.environ.get("SRBENCH_MIRROR", "").strip()
    if not mirror:
        return list(urls)
    if _is_url(mirror):
        return [f"{mirror.rstrip('/')}/{fname}"]
    if mirror.startswith("file://"):
        mirror = unquote(urlparse(mirror).path)
    return [str(Path(mirror).expanduser() / fname)]


def _is_url(location: str) -> bool:
    return location.split("://", 1)[0].lower() in ("http", "https", "ftp")


def _fetch(candidate: str, target: Path, sha256: str | None, progress: bool, retries: int) -> None:
    if not _is_url(candidate):
        _copy_local(Path(candidate), target, sha256)
        return
    import requests

    for attempt in range(retries + 1):
        try:
            _download_once(candidate, target, sha256, progress)
            return
        except requests.RequestException as exc:
            if attempt == retries or not _transient(exc):
                raise _Failed(_describe(exc)) from None
            time.sleep(RETRY_WAIT_S * (attempt + 1))


def _download_once(url: str, target: Path, sha256: str | None, progress: bool) -> None:
    import pooch

    downloader = pooch.HTTPDownloader(
        progressbar=progress, chunk_size=_CHUNK_BYTES, timeout=HTTP_TIMEOUT_S
    )
    with atomic_path(target) as tmp:
        downloader(url, str(tmp), None)
        _check_hash(tmp, sha256)


def _copy_local(source: Path, target: Path, sha256: str | None) -> None:
    if not source.is_file():
        raise _Failed(f"not found in the mirror folder {source.parent}")
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
        _check_hash(tmp, sha256)


def _check_hash(path: Path, sha256: str | None) -> None:
    error = None if sha256 is None else _hash_error(path, sha256)
    if error:
        raise _Failed(error, checksum=True)


def _split_hash(expected: str) -> tuple[str, str]:
    alg, _, value = expected.strip().rpartition(":")
    return (alg.lower() or "sha256"), value.lower()


def _hash_error(path: Path, expected: str) -> str | None:
    """``None`` when ``path`` has the ``expected`` hash, else a sentence saying both hashes."""
    import pooch

    alg, want = _split_hash(expected)
    got = pooch.file_hash(str(path), alg=alg)
    return None if got == want else f"its {alg} is {got}, expected {want}"


def _transient(exc: requests.RequestException) -> bool:
    import requests

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return exc.response.status_code in _TRANSIENT_HTTP
    return isinstance(
        exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
    )


def _describe(exc: requests.RequestException) -> str:
    import requests

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason or ''}".rstrip()
    if isinstance(exc, requests.Timeout):
        return f"no answer within {HTTP_TIMEOUT_S} s ({_root_cause(exc)})"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return f"transfer cut short, fewer bytes than announced ({_root_cause(exc)})"
    if isinstance(exc, requests.ConnectionError):
        return f"connection failed ({_root_cause(exc)})"
    return f"{type(exc).__name__}: {_root_cause(exc)}"


def _root_cause(exc: BaseException) -> str:
    # requests wraps urllib3 wraps http.client: the innermost exception says what happened
    # (urllib3's MaxRetryError keeps it in `reason`, the others as their last argument).
    seen = {id(exc)}
    while True:
        inner = getattr(exc, "reason", None)
        if not isinstance(inner, BaseException) and exc.args:
            inner = exc.args[-1]
        if not isinstance(inner, BaseException) or id(inner) in seen:
            break
        seen.add(id(inner))
        exc = inner
    text = str(exc) or type(exc).__name__
    # urllib3 prefixes the connection's repr: "HTTPSConnection(host='h', port=443): Failed to..."
    head, sep, rest = text.partition("): ")
    return rest if sep and head.startswith("HTTP") and "Connection(" in head else text


def _tried(error: DownloadError, failures: Sequence[tuple[str, _Failed]]) -> DownloadError:
    """``error`` with ``tried``: ``(where, why)`` of every location that failed, for callers
    that summarise several failed files in one message (``srbench run`` without network)."""
    error.tried = [(where, str(exc)) for where, exc in failures]  # type: ignore[attr-defined]
    return error


def _offline_error(
    urls: Sequence[str], fname: str, target: Path, failures: Sequence[tuple[str, _Failed]] = ()
) -> OfflineError:
    error = OfflineError(_offline_message(urls, fname, target, failures))
    return _tried(error, failures)  # type: ignore[return-value]


def _offline_message(
    urls: Sequence[str], fname: str, target: Path, failures: Sequence[tuple[str, _Failed]] = ()
) -> str:
    state = "has another hash than the published one" if target.exists() else "is not in the cache"
    lines = [f"{fname} {state}, and SRBENCH_OFFLINE is set, so srbench will not download it."]
    lines += [f"  published at {url}" for url in urls]
    lines += [f"  tried {where}: {exc}" for where, exc in failures]
    lines.append(
        f"Fix: download it yourself and save it as {target} (or put it in the folder named by "
        "SRBENCH_MIRROR), or unset SRBENCH_OFFLINE to let srbench download it."
    )
    return "\n".join(lines)


def _download_error(
    fname: str,
    target: Path,
    sha256: str | None,
    failures: Sequence[tuple[str, _Failed]],
    urls: Sequence[str],
) -> DownloadError:
    tried = [f"  {where}: {exc}" for where, exc in failures]
    if any(exc.checksum for _, exc in failures):
        return _tried(_checksum_error(fname, sha256, tried), failures)
    return _tried(_network_error(fname, target, tried, urls), failures)


def _checksum_error(fname: str, sha256: str | None, tried: list[str]) -> ChecksumError:
    return ChecksumError(
        "\n".join(
            [f"{fname} was downloaded but does not have its published hash ({sha256}):"]
            + tried
            + [
                "Nothing was kept. The server's copy changed or was corrupted on the way. "
                "Fix: try again later or set SRBENCH_MIRROR to a trusted copy; if the "
                "publisher changed the file on purpose, the registry's hash needs an update."
            ]
        )
    )


def _network_error(
    fname: str, target: Path, tried: list[str], urls: Sequence[str]
) -> DownloadError:
    mirror = os.environ.get("SRBENCH_MIRROR", "").strip()
    return DownloadError(
        "\n".join(
            [f"Could not download {fname}:"]
            + tried
            + (
                [f"SRBENCH_MIRROR={mirror} replaces the published URLs: {', '.join(urls)}."]
                if mirror
                else []
            )
            + [
                "Fix: check your network connection (and proxy settings), set SRBENCH_MIRROR to a "
                f"folder or server holding {fname}, or download it yourself and save it as "
                f"{target}."
            ]
        )
    )


def download_member(url: str, member: str, target: Path, progress: bool = True) -> Path:
    """Fetch the archive (zip or tar) at ``url`` into ``cache_root()/archives`` (once: it stays
    there for the other files it holds) and write its member named ``member`` (at any depth) to
    ``target``; for files published only inside an archive (RCAN's models). Returns ``target``.

    Raises:
        OfflineError, DownloadError: As :func:`download`.
        SrbenchError: The archive is corrupt or holds no (or several) members of that name.
    """
    from srbench.hub.archives import extract_member

    # The URL's digest in the name: share links (Drive's ``uc?id=...``) all end in one path.
    name = Path(unquote(urlparse(url).path)).name or "archive"
    name = f"{hashlib.sha256(url.encode()).hexdigest()[:12]}-{name}"
    archive = download([url], name, cache_root() / "archives", progress=progress)
    return extract_member(archive, member, target)
