"""Pixel losses: mean absolute or squared difference."""

from __future__ import annotations

from srbench.training.losses.common import CRITERIA, Tensor, check_pair, choice, nn


class PixelLoss(nn.Module):
    """Mean absolute (``"l1"``) or squared (``"mse"``) difference of the pixels.

    Args:
        kind: A key of :data:`CRITERIA`.
    """

    def __init__(self, kind: str = "l1") -> None:
        super().__init__()
        self.kind = choice("pixel loss kind", kind, CRITERIA)

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        """The loss of ``sr`` against ``hr`` (same shape)."""
        check_pair(sr, hr)
        return CRITERIA[self.kind](sr, hr)
