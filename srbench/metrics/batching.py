"""Work from the scoring threads batched onto one accelerator.

The runner scores the cells (one method's output on one image) in a thread pool, one call per
cell. On a GPU a network call of one image leaves the device mostly idle, so the perceptual
metrics (LPIPS pairs, FID/KID patch features) hand their work to a :class:`Batcher` instead:
every call is queued, and whichever caller needs its result first runs everything queued with
the same key (same image size for LPIPS, same patch size for features) as one batch, up to a
bound (pixels, patches). While one batch runs on the device the other threads' calls queue up,
so the next batch holds them all; nothing waits for a batch to fill, so a lone call costs what
it did unbatched, and :meth:`Batcher.flush` runs what is left.

Failures stay with their call: when a batch raises, each of its calls is run again alone, so
one bad image gets its own error and the others their values. On the CPU (see
:func:`batches_on`) metrics do not batch: every call runs alone, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["Batcher", "Pending", "batches_on"]

T = TypeVar("T")
R = TypeVar("R")


def batches_on(device: str) -> bool:
    """Whether metrics batch calls across cells on ``device`` (a torch device string).

    Yes on an accelerator (``cuda``, ``cuda:1``, ``mps``, ...), where a batch of many images
    costs about what one does. No on ``cpu``: there the network's time grows with the pixels
    whatever the batching, and every value stays that of the one-image code path.
    """
    return device.split(":", 1)[0].strip().lower() != "cpu"


class Pending(Generic[R]):
    """The result of one queued call; :meth:`result` runs the queue if it has to."""

    def __init__(self, batcher: Batcher[Any, R], key: Hashable) -> None:
        self._batcher, self.key = batcher, key
        self._done = threading.Event()
        self._value: R | None = None
        self._error: BaseException | None = None

    def done(self) -> bool:
        """Whether the call has run (its value or its error is in)."""
        return self._done.is_set()

    def result(self) -> R:
        """The call's value, running queued calls as batches until this one has run.

        Raises:
            Exception: What this call raised (run alone), in the caller's thread.
        """
        self._batcher._run_until(self)
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def _set(self, value: R | None = None, error: BaseException | None = None) -> None:
        self._value, self._error = value, error
        self._done.set()


@dataclass
class _Job(Generic[T, R]):
    item: T
    size: int
    pending: Pending[R]


@dataclass
class Batcher(Generic[T, R]):
    """Queues calls from many threads and runs them in bounded batches, one batch at a time.

    Args:
        run: ``items -> results`` (one per item, in order): the batched computation.
        limit: Most total ``size`` in one batch; a single call above it runs alone.
        size: An item's share of the limit (pixels, patches); 1 by default.
        key: Items batch only with items of the same key (same image or patch shape).

    Attributes:
        batches: The sizes (number of calls) of the batches run so far, in order.
    """

    run: Callable[[list[T]], Sequence[R]]
    limit: int
    size: Callable[[T], int] = lambda _: 1
    key: Callable[[T], Hashable] = lambda _: None
    batches: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue: list[_Job[T, R]] = []
        self._queued = threading.Lock()  # guards the queue
        self._device = threading.Lock()  # one batch on the device at a time

    def submit(self, item: T) -> Pending[R]:
        """Queue one call; its result comes from the returned :class:`Pending`."""
        job = _Job(item, self.size(item), Pending(self, self.key(item)))
        with self._queued:
            self._queue.append(job)
        return job.pending

    def __call__(self, item: T) -> R:
        """One call, batched with whatever other threads have queued meanwhile."""
        return self.submit(item).result()

    def flush(self) -> None:
        """Run every queued call."""
        while True:
            with self._device:
                batch = self._take(None)
                if not batch:
                    return
                self._execute(batch)

    def _run_until(self, pending: Pending[R]) -> None:
        while not pending.done():
            with self._device:
                if not pending.done():  # another thread's batch may have taken it
                    self._execute(self._take(pending.key))

    def _take(self, key: Hashable | None) -> list[_Job[T, R]]:
        """The oldest queued calls of ``key`` (``None``: the oldest call's key) that fit the
        limit together (at least one), removed from the queue."""
        with self._queued:
            if not self._queue:
                return []
            key = self._queue[0].pending.key if key is None else key
            batch: list[_Job[T, R]] = []
            total = 0
            for job in self._queue:
                if job.pending.key != key:
                    continue
                if batch and total + job.size > self.limit:
                    break
                batch.append(job)
                total += job.size
            taken = {id(job) for job in batch}
            self._queue = [job for job in self._queue if id(job) not in taken]
        return batch

    def _execute(self, batch: list[_Job[T, R]]) -> None:
        if not batch:
            return
        self.batches.append(len(batch))
        try:
            results = self._run([job.item for job in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0].pending._set(error=exc)
                return
            for job in batch:  # again one by one: each call gets its own value or error
                self.batches.append(1)
                try:
                    (value,) = self._run([job.item])
                except Exception as exc:
                    job.pending._set(error=exc)
                else:
                    job.pending._set(value)
            return
        except BaseException as exc:  # an interrupt: no caller may wait for ever
            for job in batch:
                job.pending._set(error=exc)
            raise
        for job, value in zip(batch, results, strict=True):
            job.pending._set(value)

    def _run(self, items: list[T]) -> Sequence[R]:
        results = self.run(items)
        if len(results) != len(items):
            raise RuntimeError(f"a batch of {len(items)} calls returned {len(results)} results")
        return results
