"""Running one method on one image: timing, timeouts, output checks, out-of-memory tiling."""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from srbench.errors import MethodOutputError, MethodTimeoutError
from srbench.imageio import quantize
from srbench.methods import ImageContext, SRMethod, Tiling
from srbench.system.device import synchronize

__all__ = ["MIN_TILE", "check_output", "deadline", "infer"]

#: Smallest LR tile the out-of-memory fallback tries before giving up.
MIN_TILE = 48


def infer(
    method: SRMethod,
    lr: np.ndarray,
    context: ImageContext,
    tiling: Tiling,
    timeout: float | None = None,
) -> tuple[np.ndarray, float]:
    """Run a method on one LR image; returns the checked ``uint8`` output and its seconds.

    Images that do not fit (``MemoryError``, CUDA out of memory) are retried in tiles of half
    the size, down to :data:`MIN_TILE`. ``timeout`` interrupts a method that takes too long.

    Raises:
        MethodOutputError: Wrong shape, or NaN/inf values.
        MethodTimeoutError: Longer than ``timeout`` seconds.
    """
    while True:
        try:
            with deadline(timeout):
                start = time.perf_counter()
                sr = method.super_resolve(lr, context, tiling)
                synchronize(method.device)
                seconds = time.perf_counter() - start
            return check_output(sr, lr, context.scale), seconds
        except Exception as exc:
            current = tiling.tile or max(lr.shape[:2])
            if not _out_of_memory(exc) or current // 2 < max(MIN_TILE, 2 * tiling.overlap + 1):
                raise
            tiling = dataclasses.replace(tiling, tile=current // 2)
            _free_gpu_memory(method.device)


def check_output(sr: Any, lr: np.ndarray, scale: int) -> np.ndarray:
    """``sr`` as ``uint8`` after checking its shape (x``scale`` of ``lr``) and finiteness."""
    sr = np.asarray(sr)
    want = (lr.shape[0] * scale, lr.shape[1] * scale)
    if sr.shape[:2] != want or sr.ndim not in (2, 3) or (sr.ndim == 3 and sr.shape[2] != 3):
        raise MethodOutputError(
            f"output shape {sr.shape}, expected {(*want, 3)} (x{scale} of LR {lr.shape[:2]})."
        )
    if sr.dtype == np.uint8:
        return sr
    if not np.issubdtype(sr.dtype, np.number) or not np.isfinite(sr).all():
        bad = "non-numeric" if not np.issubdtype(sr.dtype, np.number) else "NaN or inf"
        raise MethodOutputError(f"output has {bad} values (dtype {sr.dtype}).")
    return quantize(sr)


def _out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"


def _free_gpu_memory(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (POSIX main thread; elsewhere no limit)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not seconds or not usable:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise MethodTimeoutError(f"took longer than --timeout {seconds:g} s on this image.")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
