"""What the loss modules share: torch, the distances by config name and argument checks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from srbench.errors import SpecError
from srbench.system.extras import require

torch = require("torch", "Training losses")
nn = torch.nn
F = torch.nn.functional
Tensor = torch.Tensor

#: Distances between two tensors, by config name (means over all elements).
CRITERIA = {"l1": F.l1_loss, "mse": F.mse_loss}


def choice(what: str, value: Any, accepted: Iterable[str]) -> str:
    """``value`` if it is one of ``accepted``, else a :class:`SpecError` listing them."""
    accepted = tuple(accepted)
    if value not in accepted:
        raise SpecError(
            f"Unknown {what} {value!r}. Accepted: {', '.join(accepted)}. "
            "Fix: use one of those names."
        )
    return value


def check_pair(sr: Tensor, hr: Tensor) -> None:
    """An output and its target must have one shape."""
    if sr.shape != hr.shape:
        raise ValueError(
            f"sr and hr must have one shape, got {tuple(sr.shape)} and {tuple(hr.shape)}."
        )


def positive_int(what: str, value: Any) -> int:
    """``value`` if it is an integer >= 1 (not a bool), else a :class:`SpecError`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"{what} must be a positive integer, got {value!r}.")
    return value
