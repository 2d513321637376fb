"""FID and KID between the SR and HR images of a set, over patches.

A test set has 5 to 100 images, far fewer than the 2048 dimensions of the Inception features, so
whole-image FID has a singular covariance and means little. srbench follows the patch protocol
of learned-compression and SR papers: both the SR and the HR image (RGB, shaved like the
fidelity metrics) are cut into the same patches, and the statistics compare the two patch sets.

Patch protocol (the parameters of a ``fid:...`` / ``kid:...`` spec, recorded in the protocol
string such as ``rgb-shave4-patch64-stride64``):

* ``patch`` (default 64): side of the square patches, in HR pixels.
* ``stride`` (default ``patch``): step of the regular grid of patches, from the top-left corner.
* ``count``: instead of the grid, this many patches per image at uniformly random positions,
  drawn from a generator seeded by the run's seed, the dataset, image and scale (the same
  positions for the HR image and every method).
* KID only: ``subsets`` (default 100) and ``subset_size`` (default 1000, or the number of
  patches when smaller). KID is the mean over subsets of the unbiased MMD^2 estimate with the
  cubic polynomial kernel (``piq.KID``); its ``spread`` is the standard deviation over subsets.

Features are the 2048-d pool3 activations of the FID Inception (``pytorch_fid.InceptionV3``,
which resizes each patch to 299x299 bilinearly and scales [0, 1] to [-1, 1]). FID is
``pytorch_fid.fid_score.calculate_frechet_distance`` of the two sets' means and covariances.
Every row records its number of samples; with fewer than 2048 the covariance is singular and
tables mark the value unreliable.

The Inception file is the declared ``pt_inception-2015-12-05-6726825d.pth``, checked against its
hash before it is loaded; its short hash is in the metric version (``1+inception.6726825d``)
and in the extractor's identity, which keys the HR feature cache, so features of another file
are never reused.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from srbench.errors import SpecError
from srbench.metrics.base import MetricInfo, register_metric, weights_version
from srbench.metrics.batching import batches_on
from srbench.specs import convert, split_spec
from srbench.weights.backbones import FID_INCEPTION

__all__ = [
    "FEATURE_DIM",
    "InceptionFeatures",
    "PatchSpec",
    "SetMetricSpec",
    "fid_from_features",
    "kid_from_features",
    "parse_set_metric",
    "patches",
]

FEATURE_DIM = 2048
#: The extractor's name; with its weights' short hash it keys the HR feature cache.
EXTRACTOR = "pt_inception-2015-12-05"
#: The FID and KID version: the formula's, and the Inception file's short SHA-256.
VERSION = weights_version("1", inception=FID_INCEPTION)


@dataclass(frozen=True)
class PatchSpec:
    """Which patches of an image become feature samples (see the module docstring)."""

    patch: int = 64
    stride: int | None = None
    count: int | None = None

    def key(self) -> str:
        """``patch64-stride64`` or ``patch64-count32``: part of protocols and cache keys."""
        if self.count is not None:
            return f"patch{self.patch}-count{self.count}"
        return f"patch{self.patch}-stride{self.stride or self.patch}"

    def boxes(self, height: int, width: int, rng_key: Sequence[Any] = ()) -> np.ndarray:
        """``(n, 2)`` top-left corners of the patches of a ``height x width`` image.

        Random positions (``count``) come from a generator seeded by ``rng_key`` (run seed,
        dataset, image, scale), so the HR image and every method get the same patches.
        """
        p = self.patch
        if height < p or width < p:
            return np.zeros((0, 2), dtype=np.int64)
        if self.count is not None:
            rng = np.random.default_rng([zlib.crc32(repr(tuple(rng_key)).encode())])
            tops = rng.integers(0, height - p + 1, self.count)
            lefts = rng.integers(0, width - p + 1, self.count)
            return np.stack([tops, lefts], axis=1)
        step = self.stride or p
        tops, lefts = np.meshgrid(
            np.arange(0, height - p + 1, step), np.arange(0, width - p + 1, step), indexing="ij"
        )
        return np.stack([tops.ravel(), lefts.ravel()], axis=1)


def patches(image: np.ndarray, spec: PatchSpec, rng_key: Sequence[Any] = ()) -> np.ndarray:
    """The patches of a ``uint8`` ``(H, W, 3)`` image as ``(n, patch, patch, 3)`` (a copy)."""
    boxes = spec.boxes(image.shape[0], image.shape[1], rng_key)
    p = spec.patch
    windows = np.lib.stride_tricks.sliding_window_view(image, (p, p), axis=(0, 1))
    # windows[t, l] is (3, p, p); gather the chosen corners without looping over pixels
    return np.ascontiguousarray(windows[boxes[:, 0], boxes[:, 1]].transpose(0, 2, 3, 1))


@dataclass(frozen=True)
class SetMetricSpec:
    """A parsed ``fid:...`` or ``kid:...`` spec."""

    metric: str
    patches: PatchSpec
    subsets: int = 100
    subset_size: int = 1000

    def protocol(self, shave: int) -> str:
        """The protocol string stored with the values."""
        key = f"rgb-shave{shave}-{self.patches.key()}"
        return f"{key}-subsets{self.subsets}x{self.subset_size}" if self.metric == "kid" else key


_PARAMS = {
    "fid": {"patch": int, "stride": int, "count": int},
    "kid": {"patch": int, "stride": int, "count": int, "subsets": int, "subset_size": int},
}


def parse_set_metric(spec: str) -> SetMetricSpec:
    """Parse ``fid``, ``fid:patch=128,stride=64`` or ``kid:count=16,subsets=50``.

    Example:
        >>> parse_set_metric("kid:patch=32").protocol(4)
        'rgb-shave4-patch32-stride32-subsets100x1000'
    """
    name, raw = split_spec(spec, "metric")
    name = name.lower()
    allowed = _PARAMS[name]
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise SpecError(
            f"metric {spec!r}: unknown parameter(s) {', '.join(unknown)}; "
            f"{name} takes {', '.join(allowed)}."
        )
    values = {k: convert(spec, "metric", k, v, allowed[k]) for k, v in raw.items()}
    for key, value in values.items():
        if value < 1:
            raise SpecError(f"metric {spec!r}: {key} must be a positive integer, got {value}.")
    if "count" in values and "stride" in values:
        raise SpecError(f"metric {spec!r}: give stride (a grid) or count (random), not both.")
    patch_spec = PatchSpec(values.get("patch", 64), values.get("stride"), values.get("count"))
    return SetMetricSpec(
        name, patch_spec, values.get("subsets", 100), values.get("subset_size", 1000)
    )


class InceptionFeatures:
    """The FID Inception as a batched feature extractor: ``uint8`` patches in, ``(n, 2048)``
    float32 features out.

    Args:
        device: Torch device.
        batch_size: Patches per forward pass (results do not depend on it beyond float
            rounding).
        random_weights: Same network, random weights: the tests' code path, never for numbers.

    Attributes:
        identity: ``pt_inception-2015-12-05.<short SHA-256 of the file loaded>`` (``random``
            for random weights): the HR feature cache's key.
        weights: The weights file loaded, by name: ``{"file": path, "sha256": digest}``.

    Raises:
        MissingWeightsError: The FID Inception weights are not in the torch hub cache.
        ChecksumError: The file there is not the declared one.
    """

    def __init__(self, device: str = "cpu", batch_size: int = 64, random_weights: bool = False):
        import torch

        from srbench.system.extras import require
        from srbench.weights import files as weights

        inception = require("pytorch_fid.inception", "FID/KID")
        state = None
        self.weights: dict[str, Any] = {FID_INCEPTION.name: "random weights (tests only)"}
        self.identity = "random"
        if not random_weights:
            record = weights.record(FID_INCEPTION.name)  # checked against its hash
            state = torch.load(record["file"], map_location="cpu", weights_only=True)
            self.weights = {FID_INCEPTION.name: record}
            self.identity = f"{EXTRACTOR}.{record['sha256'][:8]}"
        with _fid_weights(inception, state):
            model = inception.InceptionV3([inception.InceptionV3.BLOCK_INDEX_BY_DIM[FEATURE_DIM]])
        if random_weights:
            _randomise(model)
        self.model = model.eval().to(device)
        self.device, self.batch_size = device, batch_size

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Features of ``(n, h, w, 3)`` ``uint8`` patches."""
        import torch

        out = np.zeros((len(batch), FEATURE_DIM), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(batch), self.batch_size):
                part = torch.from_numpy(batch[start : start + self.batch_size])
                x = part.permute(0, 3, 1, 2).to(self.device, torch.float32) / 255.0
                feats = self.model(x)[0]
                out[start : start + len(part)] = feats.flatten(1).cpu().numpy()
        return out


@contextlib.contextmanager
def _fid_weights(inception: Any, state: dict[str, Any] | None) -> Iterator[None]:
    """Hand pytorch-fid the weights srbench located instead of letting it download them.

    ``pytorch_fid.inception.fid_inception_v3`` calls ``load_state_dict_from_url``; it gets the
    checkpoint from the torch hub cache, or (random weights) no load at all.
    """
    from unittest import mock

    import torchvision

    with contextlib.ExitStack() as stack:
        stack.enter_context(
            mock.patch.object(inception, "load_state_dict_from_url", return_value=state or {})
        )
        if state is None:
            stack.enter_context(
                mock.patch.object(
                    torchvision.models.Inception3, "load_state_dict", return_value=None
                )
            )
        yield


def _randomise(model: Any) -> None:
    """Seeded He-initialised convolutions: activations keep their scale through the depth
    (PyTorch's default init shrinks them to ~1e-8 at pool3, where every set looks alike)."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")


def fid_from_features(a: np.ndarray, b: np.ndarray) -> float:
    """FID between two feature sets ``(n, d)``.

    With at least ``d`` samples per set this is pytorch-fid's own
    ``calculate_frechet_distance`` of the means and covariances. With fewer (a test set's
    patches; tables mark such values unreliable) both covariances are singular, scipy's
    ``sqrtm`` of their product is slow (tens of seconds at d = 2048) and inaccurate, so the trace
    term is computed exactly in the samples' span instead: with ``S1 = A A^T`` and
    ``S2 = B B^T`` (centred samples over ``sqrt(n - 1)``), ``tr sqrt(S1 S2)`` is the sum of the
    singular values of ``A^T B``.

    Raises:
        ValueError: Fewer than two samples in a set.
    """
    for feats in (a, b):
        if len(feats) < 2:
            raise ValueError(f"FID needs at least 2 samples per set, got {len(feats)}.")
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
    if min(len(a), len(b)) >= a.shape[1]:
        from pytorch_fid.fid_score import calculate_frechet_distance

        sigma1, sigma2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        return float(calculate_frechet_distance(mu1, sigma1, mu2, sigma2))
    ca = (a - mu1) / np.sqrt(len(a) - 1)
    cb = (b - mu2) / np.sqrt(len(b) - 1)
    trace_sqrt = np.linalg.svd(ca @ cb.T, compute_uv=False).sum()
    diff = mu1 - mu2
    return float(diff @ diff + (ca * ca).sum() + (cb * cb).sum() - 2 * trace_sqrt)


def kid_from_features(
    a: np.ndarray, b: np.ndarray, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Unbiased KID (``piq.KID``) averaged over seeded random subsets, and its standard deviation
    over them (``ddof=1``; 0 with one subset).

    Each subset draws ``min(subset_size, len(a), len(b))`` samples without replacement from each
    set.
    """
    import piq
    import torch

    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError(f"KID needs at least 2 samples per set, got {len(a)} and {len(b)}.")
    rng = np.random.default_rng(seed)
    kid = piq.KID()
    values = np.empty(subsets)
    ta, tb = (
        torch.from_numpy(np.asarray(a, np.float64)),
        torch.from_numpy(np.asarray(b, np.float64)),
    )
    for i in range(subsets):
        ia = torch.from_numpy(rng.choice(len(a), size, replace=False))
        ib = torch.from_numpy(rng.choice(len(b), size, replace=False))
        values[i] = float(kid(ta[ia], tb[ib]))
    spread = float(values.std(ddof=1)) if subsets > 1 else 0.0
    return float(values.mean()), spread


def _load(device: str) -> InceptionFeatures:
    # On an accelerator the runner batches several images' patches (srbench.run.setlevel) up
    # to this many per forward pass; the largest activation (64 x 147 x 147 floats a patch)
    # is then 0.7 GB.
    return InceptionFeatures(device, 128 if batches_on(device) else 64)


register_metric(
    MetricInfo(
        "fid",
        higher_is_better=False,
        level="set",
        version=VERSION,
        inputs="rgb",
        load=_load,
        weights=(FID_INCEPTION.name,),
        min_samples=FEATURE_DIM,
        description="Frechet Inception Distance of SR vs HR patch sets (pytorch-fid).",
    )
)
register_metric(
    MetricInfo(
        "kid",
        higher_is_better=False,
        level="set",
        version=VERSION,
        inputs="rgb",
        load=_load,
        weights=(FID_INCEPTION.name,),
        description="Kernel Inception Distance, unbiased, mean (spread: std) over subsets (piq)",
    )
)
