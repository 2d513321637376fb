"""Set-level metrics (FID, KID) inside a run: patch features per image, one value per set.

The runner scores image by image, but FID and KID compare whole sets. So each image's patch
features are written as it is scored, and the set value is computed when every image of a
(dataset, scale, degradation, method) group is done:

* HR features depend only on the dataset version, scale, shave, patch protocol, seed (random
  patches) and extractor, so they are cached across runs under
  ``<cache>/features/<extractor>/<dataset>@<version>/x<scale>-shave<s>-<patches>/<image>.npy``,
  where ``<extractor>`` carries its weights' short hash (``pt_inception-2015-12-05.6726825d``):
  features of other weights are never reused.
* SR features live in the run folder (``features/<dataset>/x<scale>/<degradation>/<method>/``)
  until the group's value is stored, so a killed run resumes without recomputing them; the folder is
  removed once every group's set rows are stored.

Dataset names, degradations and method labels become folder names through
:func:`srbench.system.names.slug`, which refuses any that would still be ``.``, ``..`` or hidden,
so no label writes outside the run's ``features/`` folder.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from srbench.hub import cache_root
from srbench.metrics import batching
from srbench.metrics.batching import Batcher
from srbench.metrics.distribution import (
    PatchSpec,
    SetMetricSpec,
    fid_from_features,
    kid_from_features,
    patches,
)
from srbench.system.files import atomic_path
from srbench.system.names import slug

__all__ = ["Features", "SetValue", "score_set"]


def _slug(text: str) -> str:
    """A file name's stem (an image id): the same characters as :func:`slug`, not checked (a
    file name with its suffix cannot leave its folder)."""
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", text).strip("_") or "_"


@dataclass
class Features:
    """A feature extractor (``extractor(uint8 patches) -> (n, d)``) and where features go.

    With ``batch`` (by default on an accelerator: :func:`batches_on` of the extractor's
    ``device``), the patches of images being scored at the same time (the HR image being
    prepared, every method's output) go through the network together, in batches of at most
    the extractor's ``batch_size`` patches; each image still gets exactly its own rows of
    features, and its own error if it fails.
    """

    extractor: Any
    batch: bool | None = None

    def __post_init__(self) -> None:
        if self.batch is None:
            self.batch = batching.batches_on(str(getattr(self.extractor, "device", "cpu")))
        self._batcher: Batcher[np.ndarray, np.ndarray] | None = None
        if self.batch:
            self._batcher = Batcher(
                _split_features(self.extractor),
                max(int(getattr(self.extractor, "batch_size", 64)), 1),
                size=len,
                key=lambda cut: (cut.shape[1:], cut.dtype.str),
            )

    def __getstate__(self) -> dict[str, Any]:
        # a copy (another process, a Ray task) starts with its own empty queue
        return {"extractor": self.extractor, "batch": self.batch}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    @property
    def identity(self) -> str:
        """The extractor's name in cache keys: ``pt_inception-2015-12-05.6726825d`` (its weights'
        short hash), or ``random``."""
        return str(getattr(self.extractor, "identity", type(self.extractor).__name__))

    def hr_file(
        self,
        dataset: str,
        version: str,
        image: str,
        scale: int,
        shave: int,
        spec: PatchSpec,
        seed: int,
    ) -> Path:
        """Cache file of one HR image's patch features."""
        sampling = f"-seed{seed}" if spec.count is not None else ""
        folder = f"x{scale}-shave{shave}-{spec.key()}{sampling}"
        return (
            cache_root()
            / "features"
            / slug(self.identity, "feature extractor")
            / slug(f"{dataset}@{version}", "dataset")
            / folder
            / f"{_slug(image)}.npy"
        )

    @staticmethod
    def sr_file(
        run_dir: Path,
        dataset: str,
        scale: int,
        degradation: str,
        label: str,
        image: str,
        spec: PatchSpec,
    ) -> Path:
        """Run file of one SR image's patch features."""
        return (
            sr_folder(run_dir, dataset, scale, degradation, label)
            / f"{_slug(image)}.{spec.key()}.npy"
        )

    def ensure(
        self, path: Path, image: np.ndarray, spec: PatchSpec, rng_key: Sequence[Any]
    ) -> None:
        """Compute and store the features of ``image`` (shaved RGB ``uint8``) unless ``path``
        exists already."""
        if path.is_file():
            return
        cut = patches(image, spec, rng_key)
        feats = self.extractor(cut) if self._batcher is None else self._batcher(cut)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.save(handle, feats)


def _split_features(extractor: Any) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    """``extractor`` on several images' patches at once, its rows split back per image."""

    def run(cuts: list[np.ndarray]) -> list[np.ndarray]:
        feats = extractor(np.concatenate(cuts))
        if len(feats) != sum(len(cut) for cut in cuts):
            raise RuntimeError(f"{len(feats)} feature rows for {sum(map(len, cuts))} patches")
        return np.split(feats, np.cumsum([len(cut) for cut in cuts])[:-1])

    return run


def sr_folder(run_dir: Path, dataset: str, scale: int, degradation: str, label: str) -> Path:
    """The run folder holding one group's SR features."""
    return (
        run_dir
        / "features"
        / slug(dataset, "dataset")
        / f"x{scale}"
        / slug(degradation, "degradation")
        / slug(label, "method label")
    )


@dataclass(frozen=True)
class SetValue:
    """One set-level value: ``value``, ``spread`` (KID's std over subsets, else NaN) and the
    number of ``samples`` (patches per set)."""

    value: float
    spread: float
    samples: int


def score_set(
    spec: SetMetricSpec, hr: Sequence[np.ndarray], sr: Sequence[np.ndarray], seed: int = 0
) -> SetValue:
    """FID or KID of the SR patch features against the HR ones (per-image arrays, same order).

    Raises:
        ValueError: Too few patches (images smaller than the patch, or fewer than two).
    """
    a, b = np.concatenate(list(hr)), np.concatenate(list(sr))
    if len(a) != len(b):  # same boxes on same-size images: anything else is a bug upstream
        raise ValueError(f"HR and SR have {len(a)} and {len(b)} patches; they must match.")
    if len(a) < 2:
        raise ValueError(
            f"only {len(a)} patch(es) of {spec.patches.patch} px fit in these images; "
            f"use a smaller patch ({spec.metric}:patch=32) or more images."
        )
    if spec.metric == "fid":
        return SetValue(fid_from_features(b, a), float("nan"), len(a))
    value, spread = kid_from_features(b, a, spec.subsets, spec.subset_size, seed)
    return SetValue(value, spread, len(a))
