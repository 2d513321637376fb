"""LPIPS (Zhang et al. 2018) through the ``lpips`` package."""

from __future__ import annotations

from srbench.metrics.base import MetricInfo, register_metric

__all__ = ["LPIPS_METRICS"]


def _load_alex(device: str):  # noqa: ANN202
    raise NotImplementedError


def _load_vgg(device: str):  # noqa: ANN202
    raise NotImplementedError


LPIPS_METRICS = (
    register_metric(
        MetricInfo(
            "lpips",
            higher_is_better=False,
            level="image",
            version="1+alex-v0.1",
            inputs="rgb",
            load=_load_alex,
            weights=("alexnet", "lpips-alex-v0.1"),
            description="LPIPS v0.1 with the AlexNet backbone (the reference); RGB, shaved.",
        )
    ),
    register_metric(
        MetricInfo(
            "lpips-vgg",
            higher_is_better=False,
            level="image",
            version="1+vgg-v0.1",
            inputs="rgb",
            load=_load_vgg,
            weights=("vgg16", "lpips-vgg-v0.1"),
            description="LPIPS v0.1 with the VGG16 backbone; RGB, shaved.",
        )
    ),
)
