"""Installing catalog datasets into the cache: download, extract, verify, rename into place.

:func:`ensure_dataset` turns a :class:`~srbench.catalog.DatasetSpec` into a verified folder of HR
images (``cache_root()/datasets/<id>/``): it downloads an archive from the first source that
works, extracts the HR images, and checks their count, sizes and pixel digests before renaming
the folder into place. A folder that failed verification never becomes the dataset folder.

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
from srbench.imageio import IMAGE_SUFFIXES
from srbench.system.files import write_json

__all__ = ["MARKER", "dataset_dir", "ensure_dataset", "licence_accepted", "state"]

MARKER = ".srbench-verified.json"


def dataset_dir(spec: DatasetSpec) -> Path:
    """Where ``spec``'s HR images live in the cache: ``cache_root()/datasets/<id>``."""
    return hub.cache_root() / "datasets" / spec.id


def state(spec: DatasetSpec) -> Literal["missing", "cached", "verified"]:
    """``"verified"`` if the cached folder passed verification against the current registry
    entry, ``"cached"`` if it exists but was not (or was against another version), else
    ``"missing"``."""
    folder = dataset_dir(spec)
    if not folder.is_dir():
        return "missing"
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "cached"
    return "verified" if marker.get("declared") == _declared_digest(spec) else "cached"


def _declared_digest(spec: DatasetSpec) -> str:
    declared = {
        "id": spec.id,
        "version": spec.version,
        "images": spec.images,
        "digests": {k: list(v) for k, v in sorted(spec.digests.items())},
    }
    return hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()


def _write_marker(spec: DatasetSpec, folder: Path) -> None:
    marker = {"dataset": spec.id, "version": spec.version, "declared": _declared_digest(spec)}
    write_json(folder / MARKER, marker)


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

    A cached folder that is not yet verified (placed by hand, or the registry entry changed) is
    verified in place. Otherwise each source is tried in order: download the archive (kept in
    ``cache_root()/downloads/``), extract ``hr_dir``, flatten, verify, rename into place.

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
        verify_images(spec, folder)
        _write_marker(spec, folder)
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
            verify_images(spec, flat)
        except SrbenchError:
            # An archive without a published hash is suspect and must not satisfy the next
            # attempt; one that matched its hash is the publisher's file, and fetching it again
            # (250 MB for EDSR's benchmark.tar, shared by three sets) could not change anything.
            if source.sha256 is None:
                archive.unlink(missing_ok=True)
            raise
        _write_marker(spec, flat)
        return _move_into_place(spec, flat, folder)
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


def _move_into_place(spec: DatasetSpec, flat: Path, folder: Path) -> Path:
    try:
        os.replace(flat, folder)
    except OSError:
        # Another process may have installed the same set meanwhile.
        if state(spec) != "verified":
            raise
    return folder


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
