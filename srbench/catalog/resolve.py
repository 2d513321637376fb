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

from srbench import hub
from srbench.catalog.install import dataset_dir, ensure_dataset
from srbench.catalog.sample import sample_images
from srbench.catalog.schema import DatasetSpec, load_catalog
from srbench.errors import DownloadError, LicenceError, OfflineError, SrbenchError, UnknownNameError
from srbench.hub import cache_root
from srbench.imageio import list_images, read_image
from srbench.system.names import check_name

__all__ = [
    "Dataset",
    "catalog_spec",
    "expand_datasets",
    "resolve_dataset",
    "unavailable_message",
    "unavailable_reason",
]

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
    _pixels: Callable[[str], int] | None = field(repr=False, compare=False, default=None)

    def load(self, image_id: str) -> np.ndarray:
        """The HR image ``image_id`` as ``uint8`` (gray stays 2-D)."""
        return self._load(image_id)

    def pixels(self, image_id: str) -> int:
        """Height x width of image ``image_id``, from the file's header where there is one (the
        image is not decoded): what sizes the runner's memory."""
        if self._pixels is not None:
            return self._pixels(image_id)
        shape = self.load(image_id).shape
        return int(shape[0] * shape[1])

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
        lambda image_id: _header_pixels(files[image_id]),
    )


def _header_pixels(path: Path) -> int:
    """Width x height as the image file's header states them (0 when it cannot be read: the
    read itself reports that, per image)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return int(im.width * im.height)
    except (OSError, ValueError, SyntaxError):
        return 0


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
        lambda image_id: int(images[image_id].shape[0] * images[image_id].shape[1]),
    )


def catalog_spec(token: str) -> DatasetSpec | None:
    """The catalog entry a dataset token names, or ``None`` for ``sample`` and folders; checks
    the name without fetching anything.

    Raises:
        UnknownNameError: Neither a known name nor an existing folder (with a suggestion).
        SrbenchError: A path (``./x``, ``a/b``) that is not a folder.
    """
    token = token.strip()
    if token.lower() == SAMPLE:
        return None
    path = Path(token).expanduser()
    looks_like_path = os.sep in token or token.startswith(".")
    catalog = load_catalog()
    if not looks_like_path:
        try:
            return catalog.get(token)
        except UnknownNameError as exc:
            if not path.is_dir():
                raise UnknownNameError(
                    "dataset (or folder)", token, [SAMPLE, *(n for n, _ in catalog.items())]
                ) from exc
    if not path.is_dir():
        raise SrbenchError(f"dataset folder {path} does not exist.")
    return None


def resolve_dataset(
    token: str, *, accept_licence: Sequence[str] = (), progress: bool = True
) -> Dataset:
    """Resolve a dataset token, fetching a catalog set that is not cached yet.

    Raises:
        UnknownNameError: Neither a known name nor an existing folder (with a suggestion).
        LicenceError, DownloadError, VerificationError: A catalog set that cannot be installed
            (see :func:`srbench.catalog.ensure_dataset`).
    """
    token = token.strip()
    spec = catalog_spec(token)
    if spec is not None:
        accepted = {a.lower() for a in accept_licence}
        folder = ensure_dataset(spec, accept_licence=spec.id.lower() in accepted, progress=progress)
        return _folder(spec.id, spec.version, "catalog", folder, bool(spec.digests))
    if token.lower() == SAMPLE:
        return _sample()
    path = Path(token).expanduser()
    return _folder(path.resolve().name, _folder_version(path), "folder", path.resolve(), False)


def unavailable_reason(spec: DatasetSpec, error: SrbenchError) -> str:
    """One line: why ``spec`` could not be installed (``error`` from :func:`ensure_dataset`).

    Example:
        >>> from srbench.errors import LicenceError
        >>> unavailable_reason(load_catalog().get("manga109"), LicenceError("..."))
        'its licence needs your agreement (--accept-licence Manga109)'
    """
    if isinstance(error, LicenceError):
        return f"its licence needs your agreement (--accept-licence {spec.id})"
    if not spec.sources:
        return f"it has no public download: put its {spec.images} HR images in {dataset_dir(spec)}"
    failures = getattr(error, "failures", None)
    if failures is None:  # a cached folder that fails verification, or an unexpected error
        return _first_line(error)
    if isinstance(error, OfflineError):
        archives = " or ".join(source.fname for source, _ in failures)
        tried = [f"{where}: {why}" for _, exc in failures for where, why in _tried(exc)]
        return (
            f"not in the cache, and SRBENCH_OFFLINE is set (it needs {archives} in "
            f"{cache_root() / 'downloads'})" + (f"; tried {'; '.join(tried)}" if tried else "")
        )
    parts = []
    for source, exc in failures:
        tried = _tried(exc)
        parts += [f"{where}: {why}" for where, why in tried] or [
            f"{source.fname}: {_first_line(exc)}"
        ]
    return ("download failed: " if isinstance(error, DownloadError) else "") + "; ".join(parts)


def _tried(error: SrbenchError) -> list[tuple[str, str]]:
    return [(where, why.splitlines()[0]) for where, why in getattr(error, "tried", [])]


def _first_line(error: BaseException) -> str:
    lines = str(error).splitlines()
    return lines[0].rstrip(":") if lines else type(error).__name__


def unavailable_message(
    missing: Sequence[tuple[DatasetSpec, SrbenchError]],
    skipped: Sequence[tuple[DatasetSpec, SrbenchError]] = (),
    ready: Sequence[str] = (),
) -> str:
    """One message for every catalog set a run needs but could not install: each set and why,
    then the ways forward (the offline sample, a folder, a mirror, ``srbench download``).

    Args:
        missing: Each set that is needed, with the error :func:`ensure_dataset` raised for it.
        skipped: Sets ``all`` brought in that need a licence agreement (listed, not needed).
        ready: The names of the sets that are installed (nothing runs until all are).

    Example:
        >>> from srbench.errors import OfflineError
        >>> print(unavailable_message([(load_catalog().get("manga109"), OfflineError("x"))]))
        ... # doctest: +ELLIPSIS
        1 dataset is not available here; nothing was run:
          Manga109: it has no public download: put its 109 HR images in .../datasets/Manga109
        Ways forward:
          --datasets sample: the built-in 5-image sample (no download; works offline)
          --datasets path/to/HR: any folder of HR images (PNG, BMP, JPEG or TIFF)
    """
    n = len(missing)
    head = f"{n} dataset{'s are' if n > 1 else ' is'} not available here"
    if ready:
        head += f" ({', '.join(ready)} {'are' if len(ready) > 1 else 'is'} ready)"
    lines = [head + "; nothing was run:"]
    width = max(len(spec.id) for spec, _ in [*missing, *skipped]) + 1
    for spec, error in missing:
        lines.append(f"  {spec.id + ':':<{width}} {unavailable_reason(spec, error)}")
    for spec, error in skipped:
        lines.append(f"  {spec.id + ':':<{width}} skipped, {unavailable_reason(spec, error)}")
    lines += [
        "Ways forward:",
        "  --datasets sample: the built-in 5-image sample (no download; works offline)",
        "  --datasets path/to/HR: any folder of HR images (PNG, BMP, JPEG or TIFF)",
    ]
    fetchable = [spec for spec, _ in missing if spec.sources]
    if fetchable:
        archives = dict.fromkeys(source.fname for spec in fetchable for source in spec.sources)
        licences = "".join(
            f" --accept-licence {spec.id}" for spec in fetchable if spec.agreement_required
        )
        names = ",".join(spec.id.lower() for spec in fetchable)
        lines += [
            f"  SRBENCH_MIRROR=URL_OR_FOLDER: a server or folder holding {', '.join(archives)} "
            "(a folder works offline)",
            f"  srbench download -D {names}{licences} on a machine with network access, then "
            f"copy its cache ({cache_root()}) here or point SRBENCH_CACHE at it",
        ]
        if hub.offline():
            lines.append("  unset SRBENCH_OFFLINE (or drop --offline) to let srbench download them")
    return "\n".join(lines)


def expand_datasets(tokens: Sequence[str], split: str = "test") -> list[str]:
    """Expand ``all`` to every catalog set of ``split`` (standard test sets by default)."""
    out: list[str] = []
    for token in tokens:
        if token.strip().lower() == "all":
            out += [spec.id for _, spec in load_catalog().items() if spec.split == split]
        else:
            out.append(token.strip())
    return list(dict.fromkeys(out))
