"""Metric metadata and the metric registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from srbench.registry import Registry

__all__ = ["METRICS", "MetricInfo", "register_metric"]

ImageMetricFn = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class MetricInfo:
    """Everything srbench knows about a metric, on one object.

    Attributes:
        name: Registry name, also the column name in results.
        higher_is_better: Direction, used by rankings and regression checks.
        level: ``"image"`` (one value per image; the set score is the mean) or ``"set"``
            (one value per set, such as FID).
        version: Bumped whenever the value for the same input changes; recorded with results.
        compute: For image-level metrics, ``compute(sr, hr)`` on the float64 ``(H, W, C)`` arrays
            a :class:`~srbench.metrics.protocols.Protocol` prepares.
        unit: Printed beside the values (``"dB"``).
        description: One line for listings.
    """

    name: str
    higher_is_better: bool
    level: Literal["image", "set"]
    version: str
    compute: ImageMetricFn | None = None
    unit: str = ""
    description: str = ""


METRICS: Registry[MetricInfo] = Registry("metric")


def register_metric(info: MetricInfo) -> MetricInfo:
    """Add a metric to the registry."""
    METRICS.add(info.name, info)
    return info
