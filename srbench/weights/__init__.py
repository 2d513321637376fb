"""Weights: every pretrained file srbench may need, declared once with its URL and hash and found
in the torch hub cache (``files``); trained weights by tag in the weights store (``tags``); and
reading weights and checkpoints into networks with clear errors (``loading``)."""

from srbench.weights.files import (
    WEIGHTS,
    WeightFile,
    WeightStatus,
    fetch,
    hub_dir,
    locate,
    path_of,
    status,
    verify,
)

__all__ = [
    "WEIGHTS",
    "WeightFile",
    "WeightStatus",
    "fetch",
    "hub_dir",
    "locate",
    "path_of",
    "status",
    "verify",
]
