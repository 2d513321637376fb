"""What a run iterates over: a named set from the catalog, any folder of images, or ``sample``.

A token on the command line resolves in this order: ``sample`` (built in), a catalog name or
alias (``set5``, ``B100``; fetched into the cache unless offline), then an existing folder. A
folder whose name is also a catalog name is reached with a path (``./set5``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srbench.catalog.install import ensure_dataset
from srbench.catalog.sample import sample_images
from srbench.catalog.schema import load_catalog
from srbench.errors import SrbenchError, UnknownNameError
from srbench.imageio import list_images, read_image
from srbench.system.names import check_name

__all__ = ["Dataset", "expand_datasets", "resolve_dataset"]

SAMPLE = "sample"


@dataclass(frozen=True)
class Dataset:
    """A resolved dataset: its images by id, and what identifies its content.

    Attributes:
        name: The name results are stored under (catalog id, ``sample`` or the folder's name).
        version: Catalog version, or a digest of the files for folders and ``sample``.
        kind: ``catalog``, ``folder`` or ``builtin``.
        location: Where the images are read from.
        image_ids: Image ids (file stems), sorted.
        verified: Whether the pixels were checked against declared digests.
    """

    name: str
    version: str
    kind: str
    location: str
    image_ids: tuple[str, ...]
    verified: bool = False
    _load: Callable[[str], np.ndarray] = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    def load(self, image_id: str) -> np.ndarray:
        """The HR image ``image_id`` as ``uint8`` (gray stays 2-D)."""
        return self._load(image_id)

    def record(self) -> dict[str, object]:
        """What a run manifest records about the dataset."""
        return {
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "location": self.location,
            "images": len(self.image_ids),
            "verified": self.verified,
        }


def _folder(name: str, version: str, kind: str, folder: Path, verified: bool) -> Dataset:
    # results, features and saved images are filed under the dataset's name
    check_name(name, f"dataset {folder}: its name", hint="Rename the folder.")
    files = {p.stem: p for p in list_images(folder)}  # image ids: stems, one file each
    return Dataset(
        name,
        version,
        kind,
        str(folder),
        tuple(sorted(files)),
        verified,
        lambda image_id: read_image(files[image_id]),
    )


def _folder_version(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in list_images(folder):
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return "sha256:" + digest.hexdigest()[:12]


def _sample() -> Dataset:
    images = sample_images()
    digest = hashlib.sha256()
    for name, img in sorted(images.items()):
        digest.update(name.encode() + b"\0" + img.tobytes())
    return Dataset(
        SAMPLE,
        "sha256:" + digest.hexdigest()[:12],
        "builtin",
        "scikit-image data",
        tuple(sorted(images)),
        False,
        images.__getitem__,
    )


def resolve_dataset(
    token: str, *, accept_licence: Sequence[str] = (), progress: bool = True
) -> Dataset:
    """Resolve a dataset token, fetching a catalog set that is not cached yet.

    Raises:
        UnknownNameError: Neither a known name nor an existing folder (with a suggestion).
    """
    token = token.strip()
    if token.lower() == SAMPLE:
        return _sample()
    path = Path(token).expanduser()
    looks_like_path = os.sep in token or token.startswith(".")
    catalog = load_catalog()
    if not looks_like_path:
        try:
            spec = catalog.get(token)
        except UnknownNameError as exc:
            if not path.is_dir():
                raise UnknownNameError(
                    "dataset (or folder)", token, [SAMPLE, *(n for n, _ in catalog.items())]
                ) from exc
        else:
            accepted = {a.lower() for a in accept_licence}
            folder = ensure_dataset(
                spec, accept_licence=spec.id.lower() in accepted, progress=progress
            )
            return _folder(spec.id, spec.version, "catalog", folder, bool(spec.digests))
    if not path.is_dir():
        raise SrbenchError(f"dataset folder {path} does not exist.")
    return _folder(path.resolve().name, _folder_version(path), "folder", path.resolve(), False)


def expand_datasets(tokens: Sequence[str], split: str = "test") -> list[str]:
    """Expand ``all`` to every catalog set of ``split`` (standard test sets by default)."""
    out: list[str] = []
    for token in tokens:
        if token.strip().lower() == "all":
            out += [spec.id for _, spec in load_catalog().items() if spec.split == split]
        else:
            out.append(token.strip())
    return list(dict.fromkeys(out))
