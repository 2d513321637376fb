"""A stochastic SR method for the runner's tests (loaded with --method-file): bicubic plus
seeded Gaussian noise. ``calls=PATH`` appends each draw's seed to PATH; with ``interrupt=K`` as
well, the draw after the K-th raises KeyboardInterrupt (as Ctrl-C would), once: PATH.stopped
marks that it did, so a resumed run goes on."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from srbench.methods import MethodCard, SRMethod
from srbench.resize import imresize


class NoisyBicubic(SRMethod):
    card = MethodCard("noisybicubic", "bicubic plus seeded noise", params=0, stochastic=True)

    def __init__(
        self, device: str = "cpu", *, sigma: float = 8.0, calls: str = "", interrupt: int = -1
    ) -> None:
        super().__init__(device)
        self.sigma, self.calls, self.interrupt = sigma, calls, interrupt

    def upscale(self, lr: np.ndarray, scale: int) -> np.ndarray:
        return self.upscale_sample(lr, scale, 0)

    def upscale_sample(self, lr: np.ndarray, scale: int, seed: int) -> np.ndarray:
        if self.calls:  # one line per draw: tests count them across processes and sessions
            made = len(Path(self.calls).read_text().split()) if Path(self.calls).exists() else 0
            stopped = Path(f"{self.calls}.stopped")
            if made == self.interrupt and not stopped.exists():
                stopped.touch()
                raise KeyboardInterrupt
            with open(self.calls, "a") as handle:
                handle.write(f"{seed}\n")
                handle.flush()
                os.fsync(handle.fileno())
        base = imresize(lr.astype(np.float64), scale=scale)
        noise = np.random.default_rng(seed).normal(0.0, self.sigma, base.shape)
        return np.clip(base + noise, 0, 255)
