"""Training pairs: random HR patches and their LR made on the fly by the benchmark's degradations.

Every sample is a pure function of ``(seed, sample index)``: the image, crop, augmentation and any
random degradation come from a generator seeded by both. Batches therefore do not depend on the
number of DataLoader workers, and a resumed training sees exactly the batches an uninterrupted
one would have.

The LR patch equals the same crop of the whole degraded image: the HR crop is taken with a margin
(clipped at the image's edges, where the whole image's border handling applies anyway), degraded,
and the margin is cut off again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from srbench.catalog.resolve import Dataset, resolve_dataset
from srbench.degradations import DegradationContext, ParsedSpec
from srbench.errors import SrbenchError
from srbench.imageio import IMAGE_SUFFIXES, modcrop, to_rgb
from srbench.system.cpus import available_cpus

__all__ = [
    "PatchPairs",
    "TrainingImages",
    "ValidationSet",
    "load_images",
    "loader_workers",
    "validation_set",
]

# LR pixels of context degraded around a patch: wider than bicubic's support (2 LR px) and the
# blur kernels srbench declares, so the patch's LR equals the whole image's LR.
MARGIN = 8


@dataclass(frozen=True)
class TrainingImages:
    """Decoded training images and, for a folder of class folders, their class labels.

    Attributes:
        record: What the model card records (name, version, kind, images used, classes).
        images: RGB ``uint8`` images at least the HR patch on both sides.
        labels: Class index of each image, or ``None`` for unlabelled data.
        classes: Class names (the class folders' names, sorted), empty when unlabelled.
        small: Ids of the images too small for a patch (not used).
    """

    record: dict[str, Any]
    images: list[np.ndarray]
    labels: tuple[int, ...] | None = None
    classes: tuple[str, ...] = ()
    small: list[str] = field(default_factory=list)


def class_folders(token: str) -> list[Path]:
    """The class folders of a labelled training folder: a folder holding no image itself and
    two or more sub-folders of images (ImageNet's train/<class>/ layout); else ``[]``."""
    folder = Path(token).expanduser()
    if not folder.is_dir() or any(_is_image(p) for p in folder.iterdir()):
        return []
    subs = sorted(p for p in folder.iterdir() if p.is_dir() and any(map(_is_image, p.iterdir())))
    return subs if len(subs) >= 2 else []


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def load_images(
    token: str,
    min_side: int,
    accept_licence: Sequence[str] = (),
    progress: bool = True,
    labels: bool = True,
) -> TrainingImages:
    """Decode every image of a dataset or folder once (RGB ``uint8``), keeping those at least
    ``min_side`` pixels on both sides. A folder of class folders (:func:`class_folders`) gives
    each image its class label, unless ``labels`` is false (then the classes are pooled).

    Raises:
        SrbenchError: No image is large enough.
    """
    classes = class_folders(token)
    sources = [str(c) for c in classes] or [token]
    datasets = [
        resolve_dataset(s, accept_licence=accept_licence, progress=progress) for s in sources
    ]
    images, image_labels, small = [], [], []
    for label, dataset in enumerate(datasets):
        for image_id in dataset.image_ids:
            image = to_rgb(dataset.load(image_id))
            if min(image.shape[:2]) >= min_side:
                images.append(image)
                image_labels.append(label)
            else:
                small.append(f"{dataset.name}/{image_id}" if classes else image_id)
    if not images:
        raise SrbenchError(
            f"training data {token} has no image of at least {min_side}x{min_side} pixels "
            f"({len(small)} smaller). Fix: a smaller data.patch, or other data."
        )
    record = {**_record(token, datasets, classes), "used": len(images)}
    if not (classes and labels):
        return TrainingImages(record, images, small=small)
    names = tuple(c.name for c in classes)
    return TrainingImages(
        {**record, "classes": list(names)}, images, tuple(image_labels), names, small
    )


def _record(token: str, datasets: list[Dataset], classes: list[Path]) -> dict[str, Any]:
    """The dataset record; for class folders one record whose version covers every class."""
    if not classes:
        return datasets[0].record()
    digest = hashlib.sha256("".join(f"{d.name}={d.version};" for d in datasets).encode())
    folder = Path(token).expanduser().resolve()
    return {
        **datasets[0].record(),
        "name": folder.name,
        "version": "sha256:" + digest.hexdigest()[:12],
        "location": str(folder),
        "images": sum(len(d.image_ids) for d in datasets),
    }


@dataclass(frozen=True)
class PatchPairs:
    """A map-style dataset: sample ``k`` is the ``k``-th training pair of the whole run.

    Attributes:
        images: Decoded HR images (RGB ``uint8``), shared by reference with the workers.
        scales: Training scales; the batch of iteration ``t`` uses ``scales[t % len(scales)]``.
        patch: LR patch side.
        batch: Batch size (to know a sample's iteration).
        degradation: The LR maker, as in ``srbench run``.
        augment: Random flips and 90-degree rotations.
        seed: The training seed.
        length: Number of samples (iterations x batch).
        labels: Class index of each image (ACGAN discriminators), or ``None``.
    """

    images: Sequence[np.ndarray]
    scales: tuple[int, ...]
    patch: int
    batch: int
    degradation: ParsedSpec
    augment: bool
    seed: int
    length: int
    labels: Sequence[int] | None = None

    def __len__(self) -> int:
        return self.length

    def scale_of(self, index: int) -> int:
        """The scale of sample ``index`` (all samples of a batch share it)."""
        return self.scales[(index // self.batch) % len(self.scales)]

    def pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Sample ``index`` as ``(lr, hr)`` RGB ``uint8`` arrays."""
        return self._sample(index)[:2]

    def _sample(self, index: int) -> tuple[np.ndarray, np.ndarray, int]:
        """``(lr, hr, image index)`` of sample ``index``."""
        rng = np.random.default_rng([self.seed, index])
        scale = self.scale_of(index)
        chosen = int(rng.integers(len(self.images)))
        image = modcrop(self.images[chosen], scale)
        lh, lw = image.shape[0] // scale, image.shape[1] // scale
        if min(lh, lw) < self.patch:
            raise SrbenchError(f"an image of {image.shape[:2]} is below the patch at x{scale}.")
        y, x = int(rng.integers(lh - self.patch + 1)), int(rng.integers(lw - self.patch + 1))
        y0, x0 = max(y - MARGIN, 0), max(x - MARGIN, 0)
        y1, x1 = min(y + self.patch + MARGIN, lh), min(x + self.patch + MARGIN, lw)
        region = image[y0 * scale : y1 * scale, x0 * scale : x1 * scale]
        params = self.degradation.resolved(scale)
        lr = self.degradation.degradation.apply(region, scale, params, rng)
        lr = lr[y - y0 : y - y0 + self.patch, x - x0 : x - x0 + self.patch]
        side = self.patch * scale
        hr = region[(y - y0) * scale :, (x - x0) * scale :][:side, :side]
        if self.augment:
            lr, hr = _augment(lr, hr, rng)
        return lr, hr, chosen

    def __getitem__(self, index: int) -> tuple[Any, Any, int]:
        """``(lr, hr, label)`` tensors in [0, 1]; the label is -1 for unlabelled data."""
        import torch

        lr, hr, chosen = self._sample(index)
        label = self.labels[chosen] if self.labels is not None else -1
        return _tensor(torch, lr), _tensor(torch, hr), label


def loader_workers(configured: int, log: Callable[[str], None] = lambda _: None) -> int:
    """The DataLoader workers to start: the configured count (``data.workers``, an upper bound),
    lowered to the CPUs this process may use, with a line saying so when it is lowered.

    Workers beyond the CPUs only compete for them (and torch warns about it); samples depend on
    ``(seed, index)`` only, so the count never changes a batch.
    """
    cpus = available_cpus()
    if configured <= cpus:
        return configured
    log(
        f"DataLoader workers: {cpus}, not the configured {configured}: this process may use "
        f"{cpus} CPU{'s' if cpus > 1 else ''} (batches do not depend on the count)"
    )
    return cpus


def _augment(
    lr: np.ndarray, hr: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The same random flip and 90-degree rotation of both images (8 symmetries)."""
    hflip, vflip, turn = rng.integers(2, size=3)
    out = []
    for img in (lr, hr):
        img = img[:, ::-1] if hflip else img
        img = img[::-1] if vflip else img
        out.append(np.rot90(img) if turn else img)
    return out[0], out[1]


def _tensor(torch: Any, img: np.ndarray) -> Any:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float().div_(255.0)


@dataclass(frozen=True)
class ValidationSet:
    """Held-out images degraded exactly as ``srbench run`` degrades them."""

    name: str
    record: dict[str, object]
    pairs: list[tuple[str, np.ndarray, np.ndarray]]  # (image id, LR, HR), RGB uint8


def validation_set(
    token: str,
    scale: int,
    degradation: ParsedSpec,
    images: int,
    seed: int,
    accept_licence: Sequence[str] = (),
) -> ValidationSet:
    """The first ``images`` images of a dataset or folder as LR/HR pairs at ``scale``."""
    dataset = resolve_dataset(token, accept_licence=accept_licence, progress=False)
    pairs = []
    for image_id in dataset.image_ids[:images]:
        hr = modcrop(to_rgb(dataset.load(image_id)), scale)
        context = DegradationContext(dataset.name, image_id, seed)
        pairs.append((image_id, degradation(hr, scale, context), hr))
    return ValidationSet(dataset.name, dataset.record(), pairs)
