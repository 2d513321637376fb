"""How the runner calls methods: in its own process, or each method in a worker process.

:func:`method_runner` gives the runner a :class:`Runner`; ``runner.call(label, lr, context,
tiling)`` returns an :class:`Outcome`, the checked output or the message of a failure, and never
raises for what a method does (an exception, ``sys.exit``, a wrong output, a timeout, a crash of
its worker). Only ``KeyboardInterrupt`` goes through: Ctrl-C stops the run, which saves.

**In-process** (the default). Without ``--timeout`` a method runs in the caller's thread, a plain
call; a thread-safe method (:attr:`~srbench.methods.SRMethod.thread_safe`: the interpolators) may be
called from several threads at once (:meth:`Runner.concurrent`), which the runner uses to spread its
images over the cores. With ``--timeout`` each method runs in a thread of its own (one per method,
kept for every image) and the main thread waits at most ``--timeout`` seconds for it. Python cannot
stop a thread, so a call that overruns is abandoned: its cell gets a ``timeout`` failure row, the
thread is left to finish (or not) on its own, and the method instance it holds is retired; the next
image gets a fresh instance created from the method's spec, so a stuck call can never touch a later
image's result, and the run goes on. Each abandoned call keeps its instance (its weights) in memory,
so after :data:`MAX_STUCK` of one method are still running its remaining images fail at once, saying
to use ``--isolate``. A thread-safe method's calls under ``--timeout`` each get a thread of their
own instead (they may run at the same time), and an abandoned call keeps the instance: its calls
share no state. A call that holds the GIL inside C code for long (rare: numpy and torch
release it) also holds up the main thread until it returns.

**Isolated** (``--isolate``). Each method runs in a long-lived worker process of its own
(``multiprocessing``, ``spawn``), created there from its spec, so models stay loaded across
images. A call that overruns ``--timeout`` kills its worker (SIGKILL); a worker that dies on an
image (a segfault, ``os._exit``, the out-of-memory killer) fails that image with its exit status
or signal. Either way a fresh worker starts at once for the next image. Outputs equal the
in-process ones (the same :func:`~srbench.methods.inference.infer` runs in the worker); the cost
is one process start per method (plus one per restart) and a copy of each LR and SR image
through a pipe. A library user who runs isolated from a script needs the usual
``if __name__ == "__main__":`` guard of ``spawn``.
"""

from __future__ import annotations

import atexit
import functools
import multiprocessing
import multiprocessing.util  # its exit hook is registered on import, before ours (below)
import queue
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from typing import Any

import numpy as np

from srbench.methods import ImageContext, SRMethod, Tiling, create_method, prepare_method
from srbench.methods.inference import Outcome, failure_message, infer, timeout_message
from srbench.methods.worker import WorkerProcess

__all__ = ["MAX_STUCK", "Outcome", "Runner", "method_runner"]

#: Abandoned calls of one method (still running after ``--timeout``) that an in-process run
#: tolerates before it stops calling that method.
MAX_STUCK = 3


class Runner:
    """Calls methods by label; :meth:`close` releases threads and processes. ``events``
    counts, per label, the calls abandoned (in-process) or the workers restarted (isolated)."""

    mode = "in-process"

    def __init__(self) -> None:
        self.events: dict[str, int] = {}

    def call(self, label: str, lr: np.ndarray, context: ImageContext, tiling: Tiling) -> Outcome:
        raise NotImplementedError

    def concurrent(self, label: str) -> bool:
        """Whether :meth:`call` may run for ``label`` in several threads at once (on different
        images); otherwise the caller makes one call at a time."""
        return False

    def close(self) -> None:
        """Release what the runner holds."""

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _count(self, label: str) -> None:
        self.events[label] = self.events.get(label, 0) + 1

    def record(self, execution: dict[str, Any]) -> None:
        """Add the events to a manifest's ``execution`` record (``abandoned_calls`` or
        ``worker_restarts`` per label, summed over resumed sessions), once."""
        if self.events:
            key = "worker_restarts" if self.mode == "isolated" else "abandoned_calls"
            counts = execution.setdefault(key, {})
            for label, n in self.events.items():
                counts[label] = counts.get(label, 0) + n
            self.events.clear()


def method_runner(
    methods: Mapping[str, SRMethod],
    device: str,
    timeout: float | None,
    *,
    isolate: bool = False,
    method_files: Iterable[str] = (),
    labels: Iterable[str] | None = None,
) -> Runner:
    """The runner for a run's methods: in-process, or (``isolate``) one worker process per
    method of ``labels`` (default: all), started at once so they load in parallel."""
    timeout = timeout if timeout and timeout > 0 else None
    if isolate:
        chosen = list(methods) if labels is None else list(labels)
        return Isolated({k: methods[k] for k in chosen}, device, timeout, tuple(method_files))
    return InProcess(methods, device, timeout)


def _call(job: Callable[[], tuple[np.ndarray, float]], notes: list[str]) -> Outcome:
    """Run ``job`` here: every failure but Ctrl-C becomes the outcome's message."""
    try:
        sr, seconds = job()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit too: a method must not end the run
        return Outcome(error=failure_message(exc), warnings=tuple(notes))
    return Outcome(sr, seconds, warnings=tuple(notes))


class InProcess(Runner):
    """Methods in this process: the main thread, or a thread per method under a timeout."""

    def __init__(self, methods: Mapping[str, SRMethod], device: str, timeout: float | None):
        super().__init__()
        self.methods, self.device, self.timeout = dict(methods), device, timeout
        self._threads: dict[str, _MethodThread] = {}
        self._stuck: dict[str, list[_MethodThread]] = {}
        self._retired: set[str] = set()
        self._broken: dict[str, str] = {}
        self._lock = threading.Lock()  # stuck calls and events, for concurrent calls

    def concurrent(self, label: str) -> bool:
        """A thread-safe method (:attr:`SRMethod.thread_safe`): a plain call in any thread, or
        under ``--timeout`` a thread of its own per call. Other methods' calls go one at a time
        through the method's thread, so that an abandoned call retires exactly one instance."""
        return self.methods[label].thread_safe

    def call(self, label: str, lr: np.ndarray, context: ImageContext, tiling: Tiling) -> Outcome:
        if label in self._retired:
            self._renew(label)
        if label in self._broken:
            return Outcome(error=self._broken[label])
        notes: list[str] = []
        job = functools.partial(infer, self.methods[label], lr, context, tiling, warn=notes.append)
        if self.timeout is None:
            return _call(job, notes)
        if self.methods[label].thread_safe:
            return self._call_alone(label, job, notes)
        refused = self._too_many_stuck(label)
        if refused is not None:
            return refused
        stuck = self._stuck[label]
        thread = self._threads.get(label) or self._threads.setdefault(label, _MethodThread(label))
        future = thread.submit(functools.partial(_call, job, notes))
        if not wait_futures([future], timeout=self.timeout).done:
            thread.abandon()
            del self._threads[label]
            stuck.append(thread)
            self._retired.add(label)
            self._count(label)
            return Outcome(
                error=timeout_message(
                    self.timeout,
                    "the call was abandoned (a thread cannot be stopped) and the method is "
                    "created afresh for the next image; --isolate kills such a call instead",
                )
            )
        return future.result()

    def _too_many_stuck(self, label: str) -> Outcome | None:
        """The failure of a call not made because :data:`MAX_STUCK` abandoned calls of the
        method are still running (else ``None``)."""
        with self._lock:
            stuck = [t for t in self._stuck.get(label, []) if t.alive]
            self._stuck[label] = stuck
        if len(stuck) < MAX_STUCK:
            return None
        return Outcome(
            error=f"not run: {len(stuck)} earlier calls of this method overran --timeout "
            f"{self.timeout:g} s and are still running in threads that cannot be stopped. "
            "Fix: rerun with --isolate, which kills a call that overruns."
        )

    def _call_alone(self, label: str, job: Callable[[], Any], notes: list[str]) -> Outcome:
        """A thread-safe method's call under ``--timeout``, in a thread of its own (calls on
        other images may run at the same time). An overrunning call is abandoned; the instance
        is kept, since its calls share no state."""
        refused = self._too_many_stuck(label)
        if refused is not None:
            return refused
        thread = _MethodThread(label)
        future = thread.submit(functools.partial(_call, job, notes))
        thread.abandon()  # the thread ends after this one call
        if not wait_futures([future], timeout=self.timeout).done:
            with self._lock:
                self._stuck.setdefault(label, []).append(thread)
                self._count(label)
            return Outcome(
                error=timeout_message(
                    self.timeout,
                    "the call was abandoned (a thread cannot be stopped); the method is "
                    "thread-safe, so its other calls go on beside it; --isolate kills such a "
                    "call instead",
                )
            )
        return future.result()

    def _renew(self, label: str) -> None:
        """A fresh instance for a method whose last instance is held by an abandoned call."""
        self._retired.discard(label)
        spec = self.methods[label].created_from
        if spec is None:
            self._broken[label] = (
                "not run: the method timed out before and cannot be created afresh (it was not "
                "made from a spec)."
            )
            return
        try:
            scales = self.methods[label].prepared_scales
            fresh = create_method(spec, self.device)[1]
            prepare_method(fresh, scales, label)
            self.methods[label] = fresh
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            self._broken[label] = (
                f"not run: creating the method afresh after a timeout failed: "
                f"{failure_message(exc)}"
            )

    def close(self) -> None:
        for thread in self._threads.values():
            thread.abandon()  # idle: it ends at once; busy (Ctrl-C): after its call
        self._threads.clear()


class _MethodThread:
    """A daemon thread that runs one method's calls in order (a daemon, so that a stuck call
    does not keep the process alive at exit)."""

    def __init__(self, label: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._serve, name=f"srbench-method-{label}", daemon=True
        )
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, fn: Callable[[], Any]) -> Future:
        future: Future = Future()
        self._jobs.put((fn, future))
        return future

    def abandon(self) -> None:
        """End the thread after the call it is in, if any."""
        self._jobs.put(None)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, future = job
            try:
                future.set_result(fn())
            except BaseException as exc:  # KeyboardInterrupt: handed to the main thread
                future.set_exception(exc)
            del job, fn, future  # hold nothing of a finished call


# --------------------------------------------------------------------------------------------
# Isolated: a worker process per method

_LIVE: weakref.WeakSet[Isolated] = weakref.WeakSet()


@functools.cache
def _kill_workers_at_exit() -> None:
    # Registered after multiprocessing's own exit hook, so it runs before that hook joins the
    # (non-daemonic) workers: a runner that was never closed cannot hang the exit.
    atexit.register(lambda: [runner.close() for runner in list(_LIVE)])


class Isolated(Runner):
    """One long-lived worker process per method (see the module docstring)."""

    mode = "isolated"

    def __init__(
        self,
        methods: Mapping[str, SRMethod],
        device: str,
        timeout: float | None,
        method_files: tuple[str, ...],
    ) -> None:
        super().__init__()
        self.timeout = timeout
        context = multiprocessing.get_context("spawn")
        self.workers = {
            label: WorkerProcess(
                context, label, method.created_from, device, method_files, method.prepared_scales
            )
            for label, method in methods.items()
        }
        _kill_workers_at_exit()
        _LIVE.add(self)
        for worker in self.workers.values():
            worker.start()

    def call(self, label: str, lr: np.ndarray, context: ImageContext, tiling: Tiling) -> Outcome:
        worker = self.workers[label]
        outcome, restarted = worker.call(lr, context, tiling, self.timeout)
        if restarted:
            self._count(label)
        return outcome

    def close(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        _LIVE.discard(self)
