"""Whether a folder dataset holds a catalog set's images, proved by their pixels.

A folder named like a catalog set (``B100`` is an alias of ``BSD100``) may hold anything: a
crop, a re-encoding, another split. :func:`catalog_identity` checks the folder against the
catalog entry exactly as an installed set is verified (:func:`srbench.catalog.verify_images`:
image count, ids, sizes and the SHA-256 of every image's decoded pixels), so a result on the
folder can stand for the catalog set (a paper's table) only when the pixels are the same.
Verifying decodes every image once (Set5 0.09 s, Set14 0.3 s, B100 0.6-1.4 s on the shared
2-core development machine), so a run does not verify before its work: :class:`SeenPixels`
keeps the identity of every image the run decodes anyway, and the check at the end of the run
decodes only the images the run did not read (none, unless it was resumed or distributed).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from srbench.catalog.resolve import Dataset
from srbench.catalog.schema import (
    DatasetSpec,
    Identity,
    image_identity,
    load_catalog,
    verify_images,
)
from srbench.errors import UnknownNameError, VerificationError

__all__ = [
    "SeenPixels",
    "catalog_identity",
    "identity_datasets",
    "named_catalog_set",
    "record_catalog_identities",
]


class SeenPixels:
    """The :func:`~srbench.catalog.schema.image_identity` of the images a run decodes, for the
    datasets it will check (:func:`catalog_identity`); filled from any thread."""

    def __init__(self, datasets: Iterable[str]) -> None:
        self._seen: dict[str, dict[str, Identity]] = {name: {} for name in datasets}
        self._lock = threading.Lock()

    def add(self, dataset: str, image_id: str, image: np.ndarray) -> None:
        """Remember ``image``'s identity when ``dataset`` is checked (else do nothing)."""
        seen = self._seen.get(dataset)
        if seen is None or image_id in seen or image.dtype != np.uint8:
            return
        identity = image_identity(image)  # outside the lock: a SHA-256 of the pixels
        with self._lock:
            seen[image_id] = identity

    def of(self, dataset: str) -> Mapping[str, Identity]:
        """The identities seen of ``dataset``'s images, by image id."""
        with self._lock:
            return dict(self._seen.get(dataset, {}))


def named_catalog_set(name: str) -> DatasetSpec | None:
    """The catalog entry whose id or alias is ``name`` (case-insensitive), else ``None``."""
    try:
        return load_catalog().get(name)
    except UnknownNameError:
        return None


def catalog_identity(
    dataset: Dataset, known: Mapping[str, Identity] | None = None
) -> dict[str, object] | None:
    """What a run manifest records about a folder dataset named like a catalog set: the
    catalog id and version it was checked against, ``same_pixels`` (every image's pixels are
    the catalog's) and, when not, the first ``problem`` found. ``None`` for catalog sets (they
    are the catalog's by construction), ``sample``, folders named like no catalog set, and
    catalog entries that declare no pixel digests (nothing to prove sameness with). ``known``:
    the identities of images already decoded (:class:`SeenPixels`), not decoded again."""
    if dataset.kind != "folder":
        return None
    spec = named_catalog_set(dataset.name)
    if spec is None or not spec.digests:
        return None
    record: dict[str, object] = {"id": spec.id, "version": spec.version}
    try:
        verify_images(spec, Path(dataset.location), known)
    except VerificationError as exc:
        lines = str(exc).splitlines()
        return {**record, "same_pixels": False, "problem": " ".join(lines[:2]).strip()}
    return {**record, "same_pixels": True}


def identity_datasets(datasets: Iterable[Dataset], methods: Iterable[Any]) -> list[Dataset]:
    """The folder datasets named like a catalog set for which one of ``methods`` (their cards)
    publishes values: a run's manifest records whether their pixels are the catalog's."""
    published = {p.dataset for m in methods for p in m.card.published}
    out = []
    for dataset in datasets:
        spec = named_catalog_set(dataset.name) if dataset.kind == "folder" else None
        if spec is not None and spec.id in published:
            out.append(dataset)
    return out


def record_catalog_identities(
    manifest: dict[str, Any], datasets: Iterable[Dataset], seen: SeenPixels
) -> None:
    """Add ``catalog`` (:func:`catalog_identity`) to the record of each of ``datasets`` in a
    run's ``manifest``, from the pixels in ``seen`` and the images the run did not read."""
    records = {r.get("name"): r for r in manifest.get("datasets", [])}
    for dataset in datasets:
        if dataset.name in records:
            records[dataset.name]["catalog"] = catalog_identity(dataset, seen.of(dataset.name))
