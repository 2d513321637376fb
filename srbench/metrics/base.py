"""Metric metadata and the metric registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from srbench.registry import Registry

if TYPE_CHECKING:
    from srbench.weights.files import WeightFile

__all__ = ["METRICS", "MetricInfo", "register_metric", "weights_version"]

ImageMetricFn = Callable[[np.ndarray, np.ndarray], float]
#: ``load(device)`` builds what a model-backed metric computes with (once per run).
Loader = Callable[[str], Any]


@dataclass(frozen=True)
class MetricInfo:
    """Everything srbench knows about a metric, on one object.

    Attributes:
        name: Registry name, also the column name in results.
        higher_is_better: Direction, used by rankings and regression checks.
        level: ``"image"`` (one value per image; the set score is the mean) or ``"set"``
            (one value per set, such as FID).
        version: Bumped whenever the value for the same input changes; recorded with results.
            A model-backed metric ends it with each weights file's short SHA-256
            (:func:`weights_version`), so other weights never share a version.
        compute: For image-level metrics, ``compute(sr, hr)`` on the float64 ``(H, W, C)`` arrays
            a :class:`~srbench.metrics.protocols.Protocol` prepares.
        unit: Printed beside the values (``"dB"``).
        description: One line for listings.
        inputs: What ``compute`` receives. ``"protocol"``: the arrays the chosen protocol
            prepares (Y or RGB, float64). ``"rgb"``: the shaved ``uint8`` RGB images (perceptual
            and no-reference metrics, which are defined on RGB whatever ``--protocol`` says).
        load: For metrics backed by a model: ``load(device)`` returns the ``compute`` function
            (image level) or the set scorer (set level), built once per run. It raises
            :class:`~srbench.errors.MissingWeightsError` when weights are absent.
        weights: Names in :data:`srbench.weights.WEIGHTS` the metric needs.
        reference: False for no-reference metrics (the HR image is not used).
        min_samples: Set level: below this many samples (the feature dimension for FID) the
            value is unreliable and tables mark it.
    """

    name: str
    higher_is_better: bool
    level: Literal["image", "set"]
    version: str
    compute: ImageMetricFn | None = None
    unit: str = ""
    description: str = ""
    inputs: Literal["protocol", "rgb"] = "protocol"
    load: Loader | None = None
    weights: tuple[str, ...] = ()
    reference: bool = True
    min_samples: int | None = None


METRICS: Registry[MetricInfo] = Registry("metric")


def register_metric(info: MetricInfo) -> MetricInfo:
    """Add a metric to the registry."""
    METRICS.add(info.name, info)
    return info


def weights_version(version: str, **files: WeightFile) -> str:
    """``version`` followed by ``+<label>.<first 8 hex digits of the file's SHA-256>`` per file.

    The hash is the declared one, and :func:`srbench.weights.locate` refuses to load a file
    with another, so the version names the files a value was computed with: other weights,
    another version (and another feature cache).

    Example:
        >>> from srbench.weights.backbones import FID_INCEPTION
        >>> weights_version("1", inception=FID_INCEPTION)
        '1+inception.6726825d'
    """
    return "+".join([version, *(f"{label}.{w.short_hash}" for label, w in files.items())])
