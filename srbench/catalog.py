"""The dataset registry (``srbench/datasets.yaml``): what each set is, where to get it, its pixels.

:func:`ensure_dataset` turns a :class:`DatasetSpec` into a verified folder of HR images in the
cache (``cache_root()/datasets/<id>/``): it downloads an archive from the first source that
works, extracts the HR images, and checks their count, sizes and pixel digests before renaming
the folder into place. A folder that failed verification never becomes the dataset folder.

Environment variables (besides those of :mod:`srbench.hub`):

* ``SRBENCH_ACCEPT_LICENCE=<id>[,<id>...]``: accept the licence of sets that need an agreement,
  like ``--accept-licence <id>``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import unquote, urlparse

import numpy as np
import yaml

from srbench import hub
from srbench.errors import (
    DownloadError,
    ImageReadError,
    LicenceError,
    OfflineError,
    SrbenchError,
    VerificationError,
)
from srbench.fsutil import write_json
from srbench.imageio import IMAGE_SUFFIXES, list_images, read_image, to_rgb
from srbench.registry import Registry

__all__ = [
    "DatasetSpec",
    "Source",
    "dataset_dir",
    "ensure_dataset",
    "licence_accepted",
    "load_catalog",
    "pixel_digest",
    "state",
    "verify_images",
]

DEFAULT_PATH = Path(__file__).with_name("datasets.yaml")
MARKER = ".srbench-verified.json"
_FORMATS = ("zip", "tar", "tar.gz")
_SPLITS = ("test", "train", "validation")
_HASH = re.compile(r"^(md5:[0-9a-f]{32}|(sha256:)?[0-9a-f]{64})$")
_DIGEST = re.compile(r"^(\d+)x(\d+) ([0-9a-f]{64})$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # it names the cache folder


@dataclass(frozen=True)
class Source:
    """One archive that holds a dataset's HR images."""

    url: str
    format: Literal["zip", "tar", "tar.gz"]
    sha256: str | None
    """``<sha256 hex>``, ``md5:<hex>`` or ``sha256:<hex>``; ``None`` when none is published."""
    hr_dir: str
    """Path prefix of the HR images inside the archive, e.g. ``benchmark/Set5/HR/``."""

    @property
    def fname(self) -> str:
        """The archive's file name (last URL path segment), in the cache and in mirrors."""
        return unquote(PurePosixPath(urlparse(self.url).path).name)


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of the registry (see the field list at the top of ``datasets.yaml``)."""

    id: str
    aliases: tuple[str, ...]
    split: Literal["test", "train", "validation"]
    images: int
    licence: str
    agreement_required: bool
    citation: str
    homepage: str
    notes: str
    version: str
    sources: tuple[Source, ...]
    digests: Mapping[str, tuple[int, int, str]] = field(default_factory=dict)
    """Image id -> ``(width, height, pixel sha256)``; empty when only the count is checked."""


# --------------------------------------------------------------------------------------------
# Loading and validating the registry file


def load_catalog(path: Path | None = None) -> Registry[DatasetSpec]:
    """The datasets declared in ``path`` (default: the packaged ``datasets.yaml``), by name.

    Names are case-insensitive and include aliases; an unknown name raises
    :class:`~srbench.errors.UnknownNameError` with a did-you-mean hint. The default file is
    parsed once per process.

    Raises:
        SrbenchError: The file is missing, not YAML, or a field is missing or ill-typed (the
            message names the file, the dataset and the field).
    """
    if path is None:
        return _load_default()
    return _load(Path(path))


@functools.lru_cache(maxsize=1)
def _load_default() -> Registry[DatasetSpec]:
    return _load(DEFAULT_PATH)


def _load(path: Path) -> Registry[DatasetSpec]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SrbenchError(f"{path}: cannot read the dataset registry ({exc}).") from None
    except yaml.YAMLError as exc:
        raise SrbenchError(f"{path}: not valid YAML ({exc}).") from None
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        raise SrbenchError(f"{path}: expected a mapping with `schema_version: 1` at the top.")
    entries = data.get("datasets")
    if not isinstance(entries, list) or not entries:
        raise SrbenchError(f"{path}: `datasets` must be a non-empty list.")
    registry: Registry[DatasetSpec] = Registry("dataset")
    for index, entry in enumerate(entries):
        spec = _parse_dataset(_Where(path, f"#{index + 1}"), entry)
        # The YAML lists lower-case spellings of the id as aliases; the registry needs no such.
        aliases = tuple(dict.fromkeys(a for a in spec.aliases if a.lower() != spec.id.lower()))
        try:
            registry.add(spec.id, spec, aliases=aliases)
        except ValueError as exc:
            raise SrbenchError(f"{path}: dataset {spec.id!r}: {exc} Rename one of them.") from None
    return registry


@dataclass(frozen=True)
class _Where:
    """Where a value sits, for error messages."""

    path: Path
    dataset: str

    def error(self, field_name: str, problem: str) -> SrbenchError:
        return SrbenchError(
            f"{self.path}: dataset {self.dataset}: field {field_name!r} {problem}. "
            "Fix the registry file (its header lists every field)."
        )


_DATASET_FIELDS = {
    "id": str,
    "aliases": list,
    "split": str,
    "images": int,
    "licence": str,
    "agreement_required": bool,
    "citation": str,
    "homepage": str,
    "notes": str,
    "version": str,
    "sources": list,
    "digests": dict,
}
_OPTIONAL = {"aliases": [], "notes": "", "sources": [], "digests": {}}


def _parse_dataset(where: _Where, entry: Any) -> DatasetSpec:
    if not isinstance(entry, dict):
        raise where.error("(entry)", "must be a mapping of fields")
    if isinstance(entry.get("id"), str):
        where = _Where(where.path, repr(entry["id"]))
    values = _typed_fields(where, entry, _DATASET_FIELDS, _OPTIONAL)
    if not _ID.match(values["id"]):
        raise where.error("id", "must be letters, digits, '_', '.' or '-' (it names a folder)")
    if values["split"] not in _SPLITS:
        raise where.error("split", f"must be one of {', '.join(_SPLITS)}")
    if values["images"] <= 0:
        raise where.error("images", "must be a positive number of images")
    if not all(isinstance(a, str) for a in values["aliases"]):
        raise where.error("aliases", "must be a list of names")
    digests = _parse_digests(where, values["digests"])
    if digests and len(digests) != values["images"]:
        raise where.error("digests", f"has {len(digests)} entries for {values['images']} images")
    sources = tuple(_parse_source(where, i, s) for i, s in enumerate(values["sources"]))
    return DatasetSpec(
        **{k: values[k] for k in ("id", "split", "images", "licence", "citation", "homepage")},
        aliases=tuple(values["aliases"]),
        agreement_required=values["agreement_required"],
        notes=values["notes"],
        version=values["version"],
        sources=sources,
        digests=digests,
    )


def _typed_fields(
    where: _Where, entry: dict, types: Mapping[str, type], optional: Mapping[str, Any]
) -> dict[str, Any]:
    unknown = sorted(set(entry) - set(types))
    if unknown:
        raise where.error(unknown[0], f"is not a known field (known: {', '.join(types)})")
    values: dict[str, Any] = {}
    for name, kind in types.items():
        if name not in entry or (entry[name] is None and name in optional):
            if name not in optional:
                raise where.error(name, "is missing")
            values[name] = optional[name]
            continue
        value = entry[name]
        # bool is an int in Python, and YAML turns `images: yes` into True.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise where.error(name, f"must be {kind.__name__}, got {value!r}")
        values[name] = value
    return values


_SOURCE_FIELDS = {"url": str, "format": str, "sha256": str, "hr_dir": str}


def _parse_source(where: _Where, index: int, entry: Any) -> Source:
    name = f"sources[{index}]"
    if not isinstance(entry, dict):
        raise where.error(name, "must be a mapping with url, format, sha256 and hr_dir")
    values = _typed_fields(
        _Where(where.path, f"{where.dataset} {name}"),
        entry,
        _SOURCE_FIELDS,
        {"sha256": None, "hr_dir": ""},
    )
    if urlparse(values["url"]).scheme not in ("http", "https", "ftp"):
        raise where.error(f"{name}.url", f"must be an http(s) URL, got {values['url']!r}")
    if values["format"] not in _FORMATS:
        raise where.error(f"{name}.format", f"must be one of {', '.join(_FORMATS)}")
    sha = values["sha256"]
    if sha is not None and not _HASH.match(sha.lower()):
        raise where.error(f"{name}.sha256", "must be a SHA-256 hex digest, md5:<hex> or null")
    return Source(values["url"], values["format"], sha and sha.lower(), values["hr_dir"])


def _parse_digests(where: _Where, raw: dict) -> dict[str, tuple[int, int, str]]:
    digests: dict[str, tuple[int, int, str]] = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            raise where.error("digests", f"key {key!r} must be a string: quote it in the YAML")
        match = _DIGEST.match(value) if isinstance(value, str) else None
        if not match:
            raise where.error(
                f"digests.{key}", f'must be "<width>x<height> <sha256>", got {value!r}'
            )
        digests[key] = (int(match[1]), int(match[2]), match[3])
    return digests


# --------------------------------------------------------------------------------------------
# Verification


def pixel_digest(img: np.ndarray) -> str:
    """SHA-256 of an image's decoded pixels: gray replicated to RGB, ``uint8``, HxWx3, C order.

    The digest ignores the file encoding (PNG compression, metadata), so a re-encoded copy of
    the same pixels has the same digest; it is what ``pixel_digests.csv`` and the registry hold.
    """
    if img.dtype != np.uint8:
        raise TypeError(f"pixel_digest expects uint8, got {img.dtype}.")
    return hashlib.sha256(np.ascontiguousarray(to_rgb(img)).tobytes()).hexdigest()


def verify_images(spec: DatasetSpec, folder: Path) -> None:
    """Check that ``folder`` holds exactly ``spec``'s images, with the declared pixels.

    Always checks the number of images; when ``spec.digests`` is declared, also checks every
    image's id (file stem), size and :func:`pixel_digest`.

    Raises:
        VerificationError: Listing each missing, unexpected or different image (expected vs
            got) and how to fix it.
    """
    folder = Path(folder)
    try:
        files = list_images(folder)
    except ImageReadError as exc:
        raise VerificationError(f"{spec.id}: {exc}\n{_verify_fix(folder)}") from None
    problems = _count_problems(spec, files)
    if spec.digests:
        problems += _digest_problems(spec, files)
    if problems:
        lines = [f"{spec.id}: the images in {folder} are not the registered ones:"]
        lines += [f"  {p}" for p in problems[:20]]
        if len(problems) > 20:
            lines.append(f"  ... and {len(problems) - 20} more")
        lines.append(_verify_fix(folder))
        raise VerificationError("\n".join(lines))


def _count_problems(spec: DatasetSpec, files: Sequence[Path]) -> list[str]:
    if len(files) == spec.images:
        return []
    return [f"{len(files)} images found, {spec.images} expected"]


def _digest_problems(spec: DatasetSpec, files: Sequence[Path]) -> list[str]:
    problems = []
    found = {p.stem: p for p in files}
    for image_id in sorted(spec.digests.keys() - found.keys()):
        problems.append(f"{image_id}: missing")
    for image_id in sorted(found.keys() - spec.digests.keys()):
        problems.append(f"{found[image_id].name}: not an image of {spec.id}")
    for image_id in sorted(found.keys() & spec.digests.keys()):
        problem = _image_problem(found[image_id], spec.digests[image_id])
        if problem:
            problems.append(f"{found[image_id].name}: {problem}")
    return problems


def _image_problem(path: Path, expected: tuple[int, int, str]) -> str | None:
    try:
        img = read_image(path)
    except SrbenchError as exc:
        return f"cannot be read ({exc})"
    width, height, digest = expected
    got_size = (img.shape[1], img.shape[0])
    got = pixel_digest(img)
    if got_size == (width, height) and got == digest:
        return None
    return (
        f"expected {width}x{height} pixels with digest {digest}, "
        f"got {got_size[0]}x{got_size[1]} with digest {got}"
    )


def _verify_fix(folder: Path) -> str:
    return (
        f"Fix: delete {folder} and run again to download a fresh copy; if you use "
        "SRBENCH_MIRROR or placed the images yourself, check they are the original release."
    )


# --------------------------------------------------------------------------------------------
# The cache


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
    return kind("\n".join(lines))
