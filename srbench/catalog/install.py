"""Installing catalog datasets into the cache: download, extract, verify, rename into place.

:func:`ensure_dataset` turns a :class:`~srbench.catalog.DatasetSpec` into a verified folder of HR
images (``cache_root()/datasets/<id>/``): it downloads an archive from the first source that
works, extracts the HR images, and checks their count, sizes and pixel digests before renaming
the folder into place. A folder that failed verification never becomes the dataset folder.

Verification records: srbench never writes into a dataset folder, which may be the user's own
(placed by hand, or linked into the cache as ``.ci/regression`` links ``../shared``). A set that
passed verification is recorded in ``cache_root()/verified/<id>.json``: the registry entry it was
verified against (a digest of id, version, image count and pixel digests), the folder it was
found in (resolved through links), and each image file's name with its stat fingerprint (size,
modification and status-change times in ns, inode; :func:`srbench.system.digests.stat_key`).
The set counts as verified only while all of these still match, so a changed, added, removed or
replaced file, another registry entry, or the link pointing elsewhere means it is verified again.
A fingerprint is one ``stat`` per file; hashing the files' contents on every use instead would
read every byte (3.5 GB for DIV2K-train) each time, and verification itself decodes the pixels.
The modification time alone would miss a rewrite that restores it (``cp -p``, ``touch -r``); the
status-change time cannot be set by a user, and a replaced file has a new inode.

Environment variables (besides those of :mod:`srbench.hub`):

* ``SRBENCH_ACCEPT_LICENCE=<id>[,<id>...]``: accept the licence of sets that need an agreement,
  like ``--accept-licence <id>``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from srbench import hub
from srbench.catalog.schema import DatasetSpec, Source, verify_images
from srbench.errors import (
    DownloadError,
    LicenceError,
    OfflineError,
    SrbenchError,
    VerificationError,
)
from srbench.imageio import IMAGE_SUFFIXES, list_images
from srbench.system.digests import stat_key
from srbench.system.files import write_json
from srbench.system.names import check_name

__all__ = ["dataset_dir", "ensure_dataset", "licence_accepted", "record_path", "state"]

RECORD_FORMAT = "srbench-verified/2"


def dataset_dir(spec: DatasetSpec) -> Path:
    """Where ``spec``'s HR images live in the cache: ``cache_root()/datasets/<id>``."""
    return hub.cache_root() / "datasets" / check_name(spec.id, "dataset id")


def record_path(spec: DatasetSpec) -> Path:
    """Where ``spec``'s verification record lives: ``cache_root()/verified/<id>.json`` (never
    inside the dataset folder)."""
    return hub.cache_root() / "verified" / f"{check_name(spec.id, 'dataset id')}.json"


def state(spec: DatasetSpec) -> Literal["missing", "cached", "verified"]:
    """``"verified"`` if the cached folder passed verification against the current registry
    entry and its image files are unchanged since (see the module docstring), ``"cached"`` if
    it exists but was not (or was against another version, or a file changed since), else
    ``"missing"``."""
    folder = dataset_dir(spec)
    if not folder.is_dir():
        return "missing"
    try:
        record = json.loads(record_path(spec).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "cached"
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
        return "cached"
    if record.get("declared") != _declared_digest(spec):
        return "cached"
    try:
        current = _fingerprint(folder)
    except (OSError, SrbenchError):
        return "cached"
    return "verified" if record.get("files") == current else "cached"


def _fingerprint(folder: Path) -> dict[str, object]:
    """The folder (resolved) and each image file's :func:`stat_key`, as a verification record
    holds them."""
    return {
        "folder": str(folder.resolve()),
        "images": {p.name: stat_key(p) for p in list_images(folder)},
    }


def _declared_digest(spec: DatasetSpec) -> str:
    declared = {
        "id": spec.id,
        "version": spec.version,
        "images": spec.images,
        "digests": {k: list(v) for k, v in sorted(spec.digests.items())},
    }
    return hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()


def _verify(spec: DatasetSpec, folder: Path) -> dict[str, object]:
    """Verify ``folder`` against ``spec``; returns the fingerprint taken *before* reading the
    images, so a file changed meanwhile no longer matches the record and is verified again."""
    try:
        fingerprint = _fingerprint(folder)
    except (OSError, SrbenchError):
        fingerprint = {}  # verify_images says what is wrong; an empty record never matches
    verify_images(spec, folder)
    return fingerprint


def _write_record(spec: DatasetSpec, fingerprint: dict[str, object]) -> None:
    record = {
        "format": RECORD_FORMAT,
        "dataset": spec.id,
        "version": spec.version,
        "declared": _declared_digest(spec),
        "files": fingerprint,
    }
    write_json(record_path(spec), record)


def licence_accepted(spec: DatasetSpec, accept_licence: bool = False) -> bool:
    """Whether ``spec`` may be fetched: no agreement needed, ``accept_licence``, or its id (or an
    alias) is in ``$SRBENCH_ACCEPT_LICENCE`` (comma-separated, case-insensitive)."""
    if not spec.agreement_required or accept_licence:
        return True
    accepted = {n.strip().lower() for n in os.environ.get("SRBENCH_ACCEPT_LICENCE", "").split(",")}
    return bool(accepted & {n.lower() for n in (spec.id, *spec.aliases)})


def ensure_dataset(
    spec: DatasetSpec, *, accept_licence: bool = False, progress: bool = True
) -> Path:
    """The verified folder of ``spec``'s HR images, downloading it into the cache if needed.

    A cached folder that is not yet verified (placed by hand or linked in, a file changed since,
    or the registry entry changed) is verified in place, without writing into it: the record
    goes to :func:`record_path`. Otherwise each source is tried in order: download the archive
    (kept in ``cache_root()/downloads/``), extract ``hr_dir``, flatten, verify, rename into
    place.

    Raises:
        LicenceError: The set needs an agreement and it was not given (``accept_licence`` or
            ``$SRBENCH_ACCEPT_LICENCE``).
        OfflineError: ``$SRBENCH_OFFLINE`` is set and no source archive is available locally.
        VerificationError: The cached folder, or every source, has other images than declared.
        DownloadError: No source worked; each is listed with its reason (also raised, with the
            homepage, for sets without a public download).
    """
    folder = dataset_dir(spec)
    current = state(spec)
    if current == "verified":
        return folder
    if current == "cached":
        # a set placed by hand, linked in, changed, or verified against another entry
        _write_record(spec, _verify(spec, folder))
        return folder
    if not licence_accepted(spec, accept_licence):
        raise LicenceError(_licence_message(spec))
    if not spec.sources:
        raise DownloadError(_no_source_message(spec, folder))
    failures: list[tuple[Source, SrbenchError]] = []
    for source in spec.sources:
        try:
            return _install(spec, source, progress)
        except SrbenchError as exc:
            failures.append((source, exc))
    raise _all_failed(spec, folder, failures)


def _install(spec: DatasetSpec, source: Source, progress: bool) -> Path:
    archive = hub.download(
        [source.url], source.fname, hub.cache_root() / "downloads", source.sha256, progress
    )
    folder = dataset_dir(spec)
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{spec.id}.", suffix=".partial", dir=folder.parent))
    try:
        try:
            extracted = hub.extract(archive, work / "archive", members=source.hr_dir or None)
            flat = _flatten(extracted / source.hr_dir, work / "hr")
            fingerprint = _verify(spec, flat)
        except SrbenchError:
            # An archive without a published hash is suspect and must not satisfy the next
            # attempt; one that matched its hash is the publisher's file, and fetching it again
            # (250 MB for EDSR's benchmark.tar, shared by three sets) could not change anything.
            if source.sha256 is None:
                archive.unlink(missing_ok=True)
            raise
        placed = _move_into_place(spec, flat, folder)
        if placed == "moved":  # renaming the folder leaves its files' fingerprints as they were
            _write_record(spec, {**fingerprint, "folder": str(folder.resolve())})
        return folder
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _flatten(src: Path, out: Path) -> Path:
    """Move every image file under ``src`` directly into the new folder ``out``."""
    out.mkdir()
    for path in sorted(src.rglob("*")):
        # Archives made on macOS carry "._name.png" resource forks that are not images.
        if path.name.startswith(".") or "__MACOSX" in path.parts:
            continue
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            target = out / path.name
            if target.exists():
                raise VerificationError(
                    f"{path.name} appears twice under the archive's HR folder; the archive's "
                    "layout is not the declared one."
                )
            os.replace(path, target)
    return out


def _move_into_place(spec: DatasetSpec, flat: Path, folder: Path) -> str:
    """``"moved"``, or ``"there"`` when another process installed the same set meanwhile."""
    try:
        os.replace(flat, folder)
    except OSError:
        if state(spec) != "verified":
            raise
        return "there"
    return "moved"


def _licence_message(spec: DatasetSpec) -> str:
    return (
        f"{spec.id} may only be used under its licence: {spec.licence}. srbench downloads it "
        f"only after you accept the terms published at {spec.homepage}. Read them, then pass "
        f"--accept-licence {spec.id} or set SRBENCH_ACCEPT_LICENCE={spec.id} (comma-separate "
        "several ids)."
    )


def _no_source_message(spec: DatasetSpec, folder: Path) -> str:
    note = f" {spec.notes}" if spec.notes else ""
    return (
        f"{spec.id} has no public download ({spec.licence}).{note}\n"
        f"Fix: obtain it from {spec.homepage}, then put its {spec.images} HR images directly in "
        f"{folder}; srbench verifies them on first use."
    )


def _all_failed(
    spec: DatasetSpec, folder: Path, failures: Sequence[tuple[Source, SrbenchError]]
) -> SrbenchError:
    kinds = {type(exc) for _, exc in failures}
    kind = kinds.pop() if len(kinds) == 1 else DownloadError
    lines = [f"Could not install {spec.id} into {folder} from any of its sources:"]
    for number, (source, exc) in enumerate(failures, 1):
        lines.append(f"  {number}. {source.url}")
        lines += [f"     {line}" for line in str(exc).splitlines()]
    if kind is OfflineError:
        lines.append(
            f"Or put the {spec.images} HR images directly in {folder}, or unset SRBENCH_OFFLINE."
        )
    error = kind("\n".join(lines))
    # Each source and its error, for one summary of several sets (srbench.catalog.resolve).
    error.failures = list(failures)  # type: ignore[attr-defined]
    return error
