"""FID and KID over patches, with the FID Inception of ``pytorch-fid``."""

from __future__ import annotations

from srbench.metrics.base import MetricInfo, register_metric

__all__ = ["FEATURE_DIM"]

FEATURE_DIM = 2048


def _load(device: str):  # noqa: ANN202
    raise NotImplementedError


register_metric(
    MetricInfo(
        "fid",
        higher_is_better=False,
        level="set",
        version="1+pt_inception-2015-12-05",
        inputs="rgb",
        load=_load,
        weights=("fid-inception",),
        min_samples=FEATURE_DIM,
        description="Frechet Inception Distance between SR and HR patch sets (pytorch-fid).",
    )
)
register_metric(
    MetricInfo(
        "kid",
        higher_is_better=False,
        level="set",
        version="1+pt_inception-2015-12-05",
        inputs="rgb",
        load=_load,
        weights=("fid-inception",),
        description="Kernel Inception Distance (unbiased, mean over subsets; spread = their std).",
    )
)
