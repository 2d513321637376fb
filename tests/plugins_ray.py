"""SR methods that kill the process they run in, for the Ray executor's tests (loaded with
--method-file): a Ray worker that dies loses its task, which Ray runs again."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from srbench.methods import MethodCard, SRMethod


def _replicate(lr: np.ndarray, scale: int) -> np.ndarray:
    return np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)


class DiesOnce(SRMethod):
    """Kills its worker on its first call anywhere (the marker file says a call was made);
    every later call, in any process, replicates pixels."""

    card = MethodCard("diesonce", "os._exit on the first call only", uses_device=False)

    def __init__(self, device: str = "cpu", *, marker: str = "") -> None:
        super().__init__(device)
        self.marker = Path(marker)

    def upscale(self, lr, scale):
        try:
            self.marker.open("x").close()  # atomic: exactly one call anywhere creates it
        except FileExistsError:
            return _replicate(lr, scale)
        os._exit(7)


class AlwaysDies(SRMethod):
    """Kills its worker on every call."""

    card = MethodCard("alwaysdies", "os._exit on every call", uses_device=False)

    def upscale(self, lr, scale):
        os._exit(9)
