"""Faulty and slow SR methods for the runner's tests (loaded with --method-file)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import sys
import threading
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

    def __init__(self, device: str = "cpu", *, pids: str = "") -> None:
        super().__init__(device)
        self.pids = pids  # a file to log the process of each call to

    def upscale(self, lr, scale):
        if self.pids:
            with open(self.pids, "a") as log:
                log.write(f"{os.getpid()}\n")
        time.sleep(0.25)
        return _replicate(lr, scale)


# ---------------------------------------------------------------------------------------------
# Faults that once gave a silently wrong number or ended the run (tests/test_faults_methods.py)

#: How long the stuck methods below hold on to a gray image: far beyond the tests' --timeout.
STUCK_SECONDS = 15.0


def _gray(lr: np.ndarray) -> bool:
    return bool((lr[..., 0] == lr[..., 1]).all())


class InPlace(SRMethod):
    card = MethodCard(
        "inplace", "darkens its input in place, then replicates it", uses_device=False
    )

    def upscale(self, lr, scale):
        lr //= 4  # a method must not do this: the next method would see the darkened image
        return _replicate(lr, scale)


class Stubborn(SRMethod):
    card = MethodCard(
        "stubborn", "sleeps on gray images and swallows every exception", uses_device=False
    )

    def upscale(self, lr, scale):
        if _gray(lr):
            end = time.monotonic() + STUCK_SECONDS
            while (left := end - time.monotonic()) > 0:
                with contextlib.suppress(BaseException):  # the point: a timeout is lost
                    time.sleep(left)
        return _replicate(lr, scale)


class CCall(SRMethod):
    card = MethodCard("ccall", "one long C call on gray images", uses_device=False)

    def upscale(self, lr, scale):
        if _gray(lr):
            c_wait(STUCK_SECONDS)
        return _replicate(lr, scale)


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def c_wait(seconds: float) -> None:
    """Wait inside C: ``pthread_cond_timedwait`` on a condition nobody signals (a signal does
    not interrupt it), as a long BLAS call or GPU synchronisation would."""
    libc = ctypes.CDLL(None)
    mutex, cond = ctypes.create_string_buffer(64), ctypes.create_string_buffer(64)  # zeroed:
    end = time.time() + seconds  # glibc's static initialisers
    libc.pthread_mutex_lock(mutex)
    while time.time() < end:  # only a spurious wake-up returns early
        when = _Timespec(int(end), int(end % 1 * 1e9))
        libc.pthread_cond_timedwait(cond, mutex, ctypes.byref(when))
    libc.pthread_mutex_unlock(mutex)


class Exits(SRMethod):
    card = MethodCard("exits", "calls sys.exit(7) on gray images", uses_device=False)

    def upscale(self, lr, scale):
        if _gray(lr):
            sys.exit(7)
        return _replicate(lr, scale)


class UnitRange(SRMethod):
    card = MethodCard(
        "unitrange", "returns floats in [0, 1] (the contract says 0..255)", uses_device=False
    )

    def upscale(self, lr, scale):
        return _replicate(lr, scale).astype(np.float32) / 255.0


class FloatOut(SRMethod):
    card = MethodCard(
        "floatout", "float32 on 0..255, as trained networks return", uses_device=False
    )

    def upscale(self, lr, scale):
        return _replicate(lr, scale).astype(np.float32) + 0.49


class Segfaults(SRMethod):
    """Only for --isolate: it kills the process it runs in."""

    card = MethodCard("segfaults", "a segmentation fault on gray images", uses_device=False)

    def upscale(self, lr, scale):
        if _gray(lr):
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file
            os.kill(os.getpid(), signal.SIGSEGV)
        return _replicate(lr, scale)


class Exits3(SRMethod):
    """Only for --isolate: it ends the process it runs in."""

    card = MethodCard("exits3", "os._exit(3) on gray images", uses_device=False)

    def upscale(self, lr, scale):
        if _gray(lr):
            os._exit(3)
        return _replicate(lr, scale)


class Hangs(SRMethod):
    """Writes ``<gray> <pid>`` per call to ``pids`` (when given), then hangs on gray images."""

    card = MethodCard(
        "hangs", "hangs on gray images; logs the process of each call", uses_device=False
    )

    def __init__(self, device: str = "cpu", *, pids: str = "") -> None:
        super().__init__(device)
        self.pids = pids

    def upscale(self, lr, scale):
        if self.pids:
            with open(self.pids, "a") as log:
                log.write(f"{int(_gray(lr))} {os.getpid()}\n")
        if _gray(lr):
            time.sleep(STUCK_SECONDS)
        return _replicate(lr, scale)


#: Set to let :class:`Blocks` return.
RELEASE = threading.Event()


class Blocks(SRMethod):
    card = MethodCard("blocks", "waits until RELEASE is set (at most a minute)", uses_device=False)

    def upscale(self, lr, scale):
        RELEASE.wait(60)
        return _replicate(lr, scale)


class Interrupts(SRMethod):
    card = MethodCard("interrupts", "raises KeyboardInterrupt itself", uses_device=False)

    def upscale(self, lr, scale):
        raise KeyboardInterrupt
