"""Running one method on one image: its own read-only input, timing, output checks, the messages
of failed calls, out-of-memory tiling.

This is the one code path from a method's output to the ``uint8`` image srbench scores or writes
(``srbench run``, ``srbench upscale``, the report's recomputed images). Timeouts and worker
processes are the runner's (:mod:`srbench.run.isolation`): they need to stop *waiting* for a
call, which no code inside the call can do.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from srbench.errors import MethodOutputError, SrbenchError
from srbench.imageio import quantize
from srbench.methods import ImageContext, SRMethod, Tiling
from srbench.resize import warn_uint8_upscales
from srbench.system.device import synchronize

__all__ = [
    "MIN_TILE",
    "Outcome",
    "check_output",
    "failure_message",
    "infer",
    "read_only_copy",
    "timeout_message",
]

#: Smallest LR tile the out-of-memory fallback tries before giving up.
MIN_TILE = 48

Warn = Callable[[str], None]


def infer(
    method: SRMethod,
    lr: np.ndarray,
    context: ImageContext,
    tiling: Tiling,
    *,
    warn: Warn | None = None,
) -> tuple[np.ndarray, float]:
    """Run a method on one LR image; returns the checked ``uint8`` output and its seconds.

    The method gets its own read-only copy of ``lr`` (each attempt a fresh one), so it can
    change neither the caller's image nor what the next method sees; writing into it raises.
    The output is a new ``uint8`` array (a ``uint8`` output is copied), so a method that reuses
    its output buffer cannot change an image being scored. ``warn`` is called with a message
    when the output looks like a [0, 1] image (:func:`check_output`), and when the method
    upscales a ``uint8`` image with ``imresize`` (:func:`srbench.resize.warn_uint8_upscales`;
    not for methods with ``uint8_imresize = True``, the interpolation baselines).

    Images that do not fit (``MemoryError``, CUDA out of memory) are retried in tiles of half
    the size, down to :data:`MIN_TILE`.

    Raises:
        MethodOutputError: Wrong shape, or NaN/inf values.
        BaseException: Whatever the method raised (:func:`failure_message` words it).
    """
    while True:
        try:
            start = time.perf_counter()
            with warn_uint8_upscales(None if method.uint8_imresize else warn):
                sr = method.super_resolve(read_only_copy(lr), context, tiling)
            synchronize(method.device)
            seconds = time.perf_counter() - start
            return check_output(sr, lr, context.scale, warn), seconds
        except Exception as exc:
            current = tiling.tile or max(lr.shape[:2])
            if not _out_of_memory(exc) or current // 2 < max(MIN_TILE, 2 * tiling.overlap + 1):
                raise
            tiling = dataclasses.replace(tiling, tile=current // 2)
            _free_gpu_memory(method.device)


@dataclass(frozen=True)
class Outcome:
    """One method call: the ``uint8`` output (srbench's own array) and its seconds, or the
    failure message; ``warnings`` about the output (a [0, 1] range) either way."""

    sr: np.ndarray | None = None
    seconds: float = 0.0
    error: str | None = None
    warnings: tuple[str, ...] = ()


def timeout_message(seconds: float, what: str) -> str:
    """The failure message of a call that overran ``--timeout``; ``what`` says what was done."""
    return f"timeout: took longer than --timeout {seconds:g} s on this image; {what}."


def read_only_copy(image: np.ndarray) -> np.ndarray:
    """A private copy of ``image`` that cannot be written through (``flags.writeable`` off)."""
    out = np.array(image, copy=True)
    out.flags.writeable = False
    return out


def check_output(sr: Any, lr: np.ndarray, scale: int, warn: Warn | None = None) -> np.ndarray:
    """``sr`` as a new ``uint8`` array after checking its shape (x``scale`` of ``lr``) and
    finiteness. Floats are rounded half away from zero and clamped (as MATLAB's
    ``uint8()``); a float output whose maximum is at most 1.0 calls ``warn`` (it looks like a
    [0, 1] image, where srbench expects 0..255) and is quantised as given."""
    sr = np.asarray(sr)
    want = (lr.shape[0] * scale, lr.shape[1] * scale)
    if sr.shape[:2] != want or sr.ndim not in (2, 3) or (sr.ndim == 3 and sr.shape[2] != 3):
        raise MethodOutputError(
            f"output shape {sr.shape}, expected {(*want, 3)} (x{scale} of LR {lr.shape[:2]})."
        )
    if sr.dtype == np.uint8:
        return sr.copy()
    if not np.issubdtype(sr.dtype, np.number) or not np.isfinite(sr).all():
        bad = "non-numeric" if not np.issubdtype(sr.dtype, np.number) else "NaN or inf"
        raise MethodOutputError(f"output has {bad} values (dtype {sr.dtype}).")
    if warn is not None and np.issubdtype(sr.dtype, np.floating) and sr.max() <= 1.0:
        warn(
            f"its output looks like a [0, 1] image ({sr.dtype}, maximum {float(sr.max()):g})"
            "; srbench expects values on 0..255 (the plug-in contract, methods/README.md) "
            "and scores them as given, so its scores are those of a nearly black image. "
            "Fix: return the image times 255."
        )
    return quantize(sr)


def failure_message(exc: BaseException) -> str:
    """What a failed method call records: srbench's own message, else the exception's type and
    text, with what to do for the failures a plug-in author may not expect."""
    if isinstance(exc, SystemExit):
        return (
            f"the method called sys.exit({exc.code!r}) (SystemExit); srbench recorded this image "
            "as failed and went on. A method should raise an exception instead."
        )
    text = str(exc) if isinstance(exc, SrbenchError) else f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ValueError) and "read-only" in str(exc):
        text += (
            " (the method wrote into its input, which is read-only so that no method can change "
            "what another one sees; copy it first: lr = lr.copy())"
        )
    return text


def _out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"


def _free_gpu_memory(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()
