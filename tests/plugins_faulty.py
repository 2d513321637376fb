"""Faulty and slow SR methods for the runner's tests (loaded with --method-file)."""

from __future__ import annotations

import time

import numpy as np

from srbench.methods import MethodCard, SRMethod


def _replicate(lr: np.ndarray, scale: int) -> np.ndarray:
    return np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)


class Raises(SRMethod):
    card = MethodCard("raises", "raises on the image 'camera'")

    def upscale(self, lr, scale):
        if lr.shape[:2] == (512 // scale, 512 // scale) and (lr[..., 0] == lr[..., 1]).all():
            raise RuntimeError("kaboom on a gray image")
        return _replicate(lr, scale)


class WrongShape(SRMethod):
    card = MethodCard("wrongshape", "one pixel short")

    def upscale(self, lr, scale):
        return _replicate(lr, scale)[:-1]


class NaNs(SRMethod):
    card = MethodCard("nans", "returns NaN")

    def upscale(self, lr, scale):
        out = _replicate(lr, scale).astype(np.float32)
        out[0, 0, 0] = np.nan
        return out


class Slow(SRMethod):
    card = MethodCard("slow", "sleeps on gray images", scales=(2, 4))

    def upscale(self, lr, scale):
        if (lr[..., 0] == lr[..., 1]).all():
            time.sleep(5)
        return _replicate(lr, scale)


class Sleepy(SRMethod):
    card = MethodCard("sleepy", "pixel replication after a short sleep")

    def upscale(self, lr, scale):
        time.sleep(0.25)
        return _replicate(lr, scale)
