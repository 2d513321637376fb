"""The worker process of ``srbench run --isolate``: one method, created there from its spec,
answering one image at a time (:func:`serve`), and the runner's end of it
(:class:`WorkerProcess`). :mod:`srbench.run.isolation` says how the runner uses them.

This module imports only srbench's method modules and numpy, so that a worker starts quickly.
"""

from __future__ import annotations

import contextlib
import multiprocessing.connection
import signal
from typing import Any

import numpy as np

from srbench.errors import UnknownNameError
from srbench.methods.base import ImageContext, Tiling
from srbench.methods.inference import Outcome, failure_message, infer, timeout_message
from srbench.methods.plugins import create_method, load_method_file, prepare_method
from srbench.system.memory import keep_freed_memory

__all__ = ["WorkerProcess", "serve"]


def serve(
    conn: Any,
    spec: str,
    device: str,
    method_files: tuple[str, ...],
    scales: tuple[int, ...] = (),
) -> None:
    """The worker process: create the method and prepare it for ``scales`` (as the runner
    prepared its own instance), then answer ``infer`` requests until told to stop or the
    runner is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runner's to handle
    keep_freed_memory()
    try:
        for target in method_files:
            load_method_file(target)
        method = create_method(spec, device)[1]
        prepare_method(method, scales, spec)
    except BaseException as exc:
        message = failure_message(exc)
        if isinstance(exc, UnknownNameError):
            message += (
                " (a worker process knows srbench's methods, entry points and --method-file "
                "files; not a class registered by a script in its own process)"
            )
        conn.send(("failed", message))
        return
    conn.send(("ready",))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):  # the runner is gone
            return
        if request is None:
            return
        _, lr, context, tiling = request
        notes: list[str] = []
        try:
            sr, seconds = infer(method, lr, context, tiling, warn=notes.append)
        except KeyboardInterrupt:
            reply: tuple[Any, ...] = ("interrupt",)
        except BaseException as exc:  # SystemExit too: a method must not end the worker
            reply = ("error", failure_message(exc), notes)
        else:
            reply = ("ok", sr, seconds, notes)
        conn.send(reply)


_TIMEOUT, _DEAD = object(), object()  # what _receive returns instead of a reply


class WorkerProcess:
    """The runner's end of one method's worker process: started by :meth:`start`, asked one
    image at a time by :meth:`call`, restarted after a timeout (which kills it) or a death."""

    def __init__(
        self,
        context: Any,
        label: str,
        spec: str | None,
        device: str,
        method_files: tuple[str, ...],
        scales: tuple[int, ...] = (),
    ) -> None:
        self.context, self.label, self.spec = context, label, spec
        self.device, self.method_files, self.scales = device, method_files, scales
        self.process: Any = None
        self.conn: Any = None
        self.ready = self.busy = False
        self.broken: str | None = None if spec else "not run: the method has no spec to create it"

    def start(self) -> None:
        if self.broken:
            return
        self.conn, child = self.context.Pipe()
        self.process = self.context.Process(
            target=serve,
            args=(child, self.spec, self.device, self.method_files, self.scales),
            name=f"srbench-{self.label}",
        )
        self.process.start()
        child.close()
        self.ready = False

    def call(
        self, lr: np.ndarray, context: ImageContext, tiling: Tiling, timeout: float | None
    ) -> tuple[Outcome, bool]:
        """The outcome, and whether the worker was restarted."""
        if not self.broken and not self.ready:
            self._await_ready()
        if self.broken:
            return Outcome(error=self.broken), False
        self.busy = True
        try:
            self.conn.send(("infer", lr, context, tiling))
            reply = self._receive(timeout)
        except (OSError, EOFError):
            reply = _DEAD
        self.busy = False
        if reply is _TIMEOUT:
            self._kill()
            self.start()
            what = "its worker process was killed and a fresh one started for the next image"
            return Outcome(error=timeout_message(timeout or 0, what)), True
        if reply is _DEAD:
            message = self._died("on this image") + "; a fresh one was started for the next image."
            self.start()
            return Outcome(error=message), True
        kind, *payload = reply
        if kind == "interrupt":
            raise KeyboardInterrupt
        if kind == "error":
            return Outcome(error=payload[0], warnings=tuple(payload[1])), False
        sr, seconds, notes = payload
        return Outcome(sr, seconds, warnings=tuple(notes)), False

    def _await_ready(self) -> None:
        # No time limit: creating a method (loading its weights) is not what --timeout bounds.
        reply = self._receive(None)
        if reply is _DEAD:
            self.broken = "not run: " + self._died("while creating the method")
        elif reply[0] == "failed":
            self.broken = f"not run: creating the method in its worker process failed: {reply[1]}"
            self.process.join()
        else:
            self.ready = True

    def _receive(self, timeout: float | None) -> Any:
        ready = multiprocessing.connection.wait([self.conn, self.process.sentinel], timeout)
        if not ready:
            return _TIMEOUT
        if self.conn in ready or self.conn.poll():
            try:
                return self.conn.recv()
            except (OSError, EOFError):
                return _DEAD
        return _DEAD

    def _died(self, when: str) -> str:
        self.process.join(5)
        code = self.process.exitcode
        if code is None:
            self._kill()
            return f"the method's worker process stopped answering {when}"
        self.conn.close()
        if code < 0:
            why = "a crash in the method or a library it uses"
            if -code == signal.SIGKILL:
                why += ", or the out-of-memory killer"
            name = _signal_name(-code)
            return f"the method's worker process was killed by signal {name} {when} ({why})"
        return (
            f"the method's worker process exited with status {code} {when} (the method or a "
            "library it uses ended the process, e.g. with os._exit)"
        )

    def _kill(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.process.kill()
        self.process.join()
        self.conn.close()

    def stop(self) -> None:
        """End the worker: asked to quit when idle, killed when busy or slow to quit."""
        if self.process is None or self.process.exitcode is not None:
            return
        if self.ready and not self.busy:
            with contextlib.suppress(OSError, ValueError):
                self.conn.send(None)
            self.process.join(2)
        if self.process.exitcode is None:
            self._kill()
        with contextlib.suppress(OSError):
            self.conn.close()


def _signal_name(number: int) -> str:
    try:
        return f"{signal.Signals(number).name} ({number})"
    except ValueError:
        return str(number)
