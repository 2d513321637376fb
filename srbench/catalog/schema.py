"""The dataset registry (``catalog/datasets.yaml``): what each set is, where to get it, its pixels.

Loading validates the file (errors name the file, the dataset and the field); :func:`verify_images`
checks a folder against a set's image count and per-image pixel digests. Installing a set into
the cache is :mod:`srbench.catalog.install`'s job.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import unquote, urlparse

import numpy as np
import yaml

from srbench.errors import (
    ImageReadError,
    SrbenchError,
    VerificationError,
)
from srbench.imageio import list_images, read_image, to_rgb
from srbench.registry import Registry

__all__ = [
    "DatasetSpec",
    "Source",
    "load_catalog",
    "pixel_digest",
    "verify_images",
]

DEFAULT_PATH = Path(__file__).with_name("datasets.yaml")
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


#: libyaml's safe loader where PyYAML was built with it: the same data as ``yaml.safe_load``,
#: 10x faster (datasets.yaml: 40 -> 4 ms, on the start of every run and ``ls datasets``).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=1)
def _load_default() -> Registry[DatasetSpec]:
    return _load(DEFAULT_PATH)


def _load(path: Path) -> Registry[DatasetSpec]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
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


#: What identifies an image's pixels: width, height and :func:`pixel_digest`.
Identity = tuple[int, int, str]


def image_identity(img: np.ndarray) -> Identity:
    """Width, height and :func:`pixel_digest` of a decoded image."""
    return int(img.shape[1]), int(img.shape[0]), pixel_digest(img)


def verify_images(
    spec: DatasetSpec, folder: Path, known: Mapping[str, Identity] | None = None
) -> None:
    """Check that ``folder`` holds exactly ``spec``'s images, with the declared pixels.

    Always checks the number of images; when ``spec.digests`` is declared, also checks every
    image's id (file stem), size and :func:`pixel_digest`. ``known`` holds the
    :func:`image_identity` of images the caller decoded already (by id; a run reads every
    image anyway): those files are not decoded again.

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
        problems += _digest_problems(spec, files, known or {})
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


def _digest_problems(
    spec: DatasetSpec, files: Sequence[Path], known: Mapping[str, Identity]
) -> list[str]:
    problems = []
    found = {p.stem: p for p in files}
    for image_id in sorted(spec.digests.keys() - found.keys()):
        problems.append(f"{image_id}: missing")
    for image_id in sorted(found.keys() - spec.digests.keys()):
        problems.append(f"{found[image_id].name}: not an image of {spec.id}")
    for image_id in sorted(found.keys() & spec.digests.keys()):
        problem = _image_problem(found[image_id], spec.digests[image_id], known.get(image_id))
        if problem:
            problems.append(f"{found[image_id].name}: {problem}")
    return problems


def _image_problem(path: Path, expected: Identity, known: Identity | None) -> str | None:
    if known is None:
        try:
            known = image_identity(read_image(path))
        except SrbenchError as exc:
            return f"cannot be read ({exc})"
    width, height, digest = expected
    got_size, got = known[:2], known[2]
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
