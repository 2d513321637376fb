"""A thread-safe SR method for the runner's tests (loaded with --method-file): MATLAB bicubic,
whose first two calls wait for each other (for up to ``wait`` seconds, default 10; 0: they do
not), so a run that does not make them at the same time fails both. ``fail=ID`` raises on image
ID; ``unit=1`` returns a [0, 1] image; ``interrupt=PATH`` raises KeyboardInterrupt on image
``d`` (as Ctrl-C would), once: it creates PATH, and a resumed run goes on; ``slow=ID`` sleeps 3 s
on image ID."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import numpy as np

from srbench.methods import ImageContext, MethodCard, SRMethod, Tiling
from srbench.resize import imresize


class Meeting(SRMethod):
    card = MethodCard("meeting", "bicubic whose first two calls meet", params=0)
    thread_safe = True
    uint8_imresize = True

    def __init__(
        self,
        device: str = "cpu",
        *,
        fail: str = "",
        unit: int = 0,
        wait: float = 10.0,
        interrupt: str = "",
        slow: str = "",
    ) -> None:
        super().__init__(device)
        self.slow = slow
        self.fail, self.unit, self.interrupt, self.wait = fail, unit, interrupt, wait
        self.meeting = threading.Barrier(2, timeout=wait)  # broken by a call that waits alone
        self.calls = itertools.count()  # next() is atomic under the GIL

    def super_resolve(self, lr: np.ndarray, context: ImageContext, tiling: Tiling) -> np.ndarray:
        if next(self.calls) < 2 and self.wait:
            self.meeting.wait()
        if self.interrupt and context.image_id == "d" and not Path(self.interrupt).exists():
            Path(self.interrupt).touch()
            raise KeyboardInterrupt
        if context.image_id == self.slow:
            time.sleep(3)
        if context.image_id == self.fail:
            raise RuntimeError(f"failed on {context.image_id} on purpose")
        sr = imresize(lr, context.scale)
        return sr / 255.0 if self.unit else sr

    def upscale(self, lr: np.ndarray, scale: int) -> np.ndarray:
        return imresize(lr, scale)
