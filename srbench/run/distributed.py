"""``srbench run --executor ray``: the grid's cells as tasks on a Ray cluster.

The driver (the ``srbench run`` process) plans the run and owns the store exactly as the local
executor does; only the cells move. The work still to do is cut into tasks of one method on at
most :data:`CHUNK_IMAGES` images of one (dataset, scale, degradation) group. Each task runs on
a worker, which builds the run's plan from its configuration once per worker process (methods
created, datasets resolved into the worker's own cache, verified by their pixel digests) and
computes the rows with the pipeline's own per-image code (:func:`srbench.run.cells.image_rows`:
degrade, call the method, score). Rows come back as each task finishes (``ray.wait``) and the
driver writes them with its :class:`~srbench.store.RunWriter`, so the rows and ``--resume`` are
the local executor's.

A task whose method uses a device asks Ray for a GPU when the run is on CUDA (``--device cuda``,
or ``auto`` on a cluster that has GPUs); other tasks ask for one CPU. A worker that dies (a
segfault, ``os._exit``, the out-of-memory killer, a lost node) loses only its task, which Ray
runs again up to :data:`MAX_RETRIES` times; after that (or when the task itself raised, e.g. a
dataset that cannot be fetched on that node) its cells become failure rows naming the cause.
"""

from __future__ import annotations

import functools
import logging
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray

from srbench.errors import RunError
from srbench.run.cells import Draws, Item, Job, failed_item, image_rows
from srbench.run.config import RunConfig
from srbench.run.isolation import method_runner
from srbench.run.pipeline import Executor, Warn, with_hosts
from srbench.run.plan import Log, Plan, make_plan, resolve_datasets
from srbench.run.rows import describe
from srbench.run.samples import Recorded
from srbench.system.cpus import available_cpus

__all__ = ["CHUNK_IMAGES", "MAX_RETRIES", "RayExecutor", "connect", "disconnect"]

#: Images per task: small enough that a lost worker loses little and a set of 100 images
#: spreads over several workers, large enough that Ray's per-task cost (a few ms) and the
#: method's instance per task stay small against the cells' time.
CHUNK_IMAGES = 16
#: Times Ray runs a task again after its worker died, before its cells become failure rows.
MAX_RETRIES = 2


@dataclass(frozen=True)
class Chunk:
    """One task: ``label``'s jobs on some images of one (dataset, scale, degradation) group
    (``spec`` indexes the plan's degradations)."""

    dataset: str
    scale: int
    spec: int
    label: str
    images: tuple[tuple[str, Job], ...]

    @property
    def cells(self) -> int:
        """Progress units, as :attr:`srbench.run.cells.Item.cells`."""
        return sum(len(job.samples) for _, job in self.images)


@dataclass
class ChunkResult:
    """What a task sends back: the node it ran on, its rows, the method's output warnings
    (label, message) and the runner's events (abandoned calls per label)."""

    host: str
    rows: list[dict[str, Any]]
    warnings: list[tuple[str, str]] = field(default_factory=list)
    events: dict[str, Any] = field(default_factory=dict)


def chunks(plan: Plan, items: list[Item]) -> Iterator[Chunk]:
    """The tasks of ``items``: per group and method, :data:`CHUNK_IMAGES` images at a time."""
    groups: dict[tuple[str, int, int, str], list[tuple[str, Job]]] = {}
    for item in items:
        spec = plan.degradations.index(item.spec)
        for job in item.jobs:
            key = (item.dataset.name, item.scale, spec, job.label)
            groups.setdefault(key, []).append((item.image_id, job))
    for (dataset, scale, spec, label), images in groups.items():
        for start in range(0, len(images), CHUNK_IMAGES):
            yield Chunk(dataset, scale, spec, label, tuple(images[start : start + CHUNK_IMAGES]))


@functools.lru_cache(maxsize=8)
def _worker_plan(config_json: str) -> Plan:
    """The run's plan for one method in a worker process, built once per process, method and
    device (a few methods of a run alternate on a worker)."""
    plan = make_plan(RunConfig.model_validate_json(config_json))
    resolve_datasets(plan, False, lambda _: None)
    return plan


def add_counts(into: dict[str, Any], events: dict[str, dict[str, int]]) -> None:
    """Add a runner's events (``{kind: {label: n}}``, :meth:`Runner.record`) to ``into``."""
    for kind, counts in events.items():
        stored = into.setdefault(kind, {})
        for label, n in counts.items():
            stored[label] = stored.get(label, 0) + n


def _items(plan: Plan, chunk: Chunk) -> list[Item]:
    """The chunk's images as the pipeline's items (with ``plan``'s datasets and specs)."""
    dataset = next(d for d in plan.datasets if d.name == chunk.dataset)
    spec = plan.degradations[chunk.spec]
    return [Item(dataset, chunk.scale, spec, image, (job,)) for image, job in chunk.images]


def run_chunk(config_json: str, run_dir: str, chunk: Chunk) -> ChunkResult:
    """Compute one task's rows (in a Ray worker; callable directly for tests)."""
    plan = _worker_plan(config_json)
    warnings: list[tuple[str, str]] = []
    runner = method_runner(
        plan.methods,
        plan.device,
        plan.config.timeout,
        isolate=plan.config.isolate,
        method_files=plan.config.method_files,
        labels=[chunk.label],
    )
    rows: list[dict[str, Any]] = []
    try:
        with ThreadPoolExecutor(plan.config.workers, thread_name_prefix="srbench") as pool:
            draws_ = Draws(Recorded(), None)  # no aggregates: --samples > 1 is local-only

            def warn(label: str, message: str) -> None:
                warnings.append((label, message))

            for _, part in image_rows(
                plan, Path(run_dir), _items(plan, chunk), pool, runner, warn, draws_
            ):
                rows.extend(part)
        events: dict[str, Any] = {}
        runner.record(events)
    finally:
        runner.close()
    return ChunkResult(socket.gethostname(), rows, warnings, events)


_remote_chunk = ray.remote(max_retries=MAX_RETRIES)(run_chunk)


#: Whether this process started the Ray connection it holds (then the run ends it).
_started = False


def connect(address: str | None) -> None:
    """Join the Ray cluster at ``address``, or start a local instance with this machine's
    usable CPUs (and every GPU Ray finds); reuse a connection this process already has.

    Raises:
        RunError: The cluster cannot be reached, naming the address and how to start one.
    """
    global _started
    if ray.is_initialized():
        return
    quiet = {"logging_level": logging.WARNING, "log_to_driver": True}
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            # "local": a new instance even where another cluster runs (plain init joins it)
            ray.init(address="local", num_cpus=available_cpus(), include_dashboard=False, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at --address {address}" if address else "a local Ray instance"
        raise RunError(
            f"cannot reach {where}: {describe(exc)}. Start the cluster first (`ray start --head` "
            "on the head node, `ray start --address HEAD_IP:6379` on the others), or drop "
            "--address to start a local instance."
        ) from None
    _started = True


def disconnect() -> None:
    """End the Ray connection if :func:`connect` started it (a caller's own stays)."""
    global _started
    if _started:
        ray.shutdown()
        _started = False


def wants_gpu(plan: Plan) -> bool:
    """Whether device-using methods run on CUDA: asked for, or ``auto`` and the cluster has
    GPUs (the driver itself may have none)."""
    device = plan.config.device
    if device.startswith("cuda"):
        return True
    return device == "auto" and ray.cluster_resources().get("GPU", 0) > 0


class RayExecutor(Executor):
    """The cells as Ray tasks; rows back to the driver as each task finishes."""

    def __init__(self, plan: Plan, run_dir: Path, address: str | None, log: Log) -> None:
        self.plan, self.run_dir, self.address, self.log = plan, run_dir, address, log
        connect(address)  # normally done by check_executor already, before the run folder
        self.hosts: set[str] = set()
        self.events: dict[str, Any] = {}
        self.lost = 0

    def _submit(self, chunk: Chunk, gpu: bool) -> ray.ObjectRef:
        method = self.plan.methods[chunk.label]
        uses_gpu = gpu and method.card.uses_device
        # The worker creates only this task's method (not every method's weights per worker),
        # on the task's GPU when it has one; the driver's --workers (resolved) are the task's
        # threads, so that the runtime rows name the same protocol as a local run's.
        update: dict[str, Any] = {"executor": "local", "device": "cuda" if uses_gpu else "cpu"}
        if method.created_from:
            update["methods"] = (method.created_from,)
        config = self.plan.config.model_copy(update=update)
        return _remote_chunk.options(num_cpus=1, num_gpus=1 if uses_gpu else 0).remote(
            config.model_dump_json(), str(self.run_dir), chunk
        )

    def stream(self, items: list[Item], warn: Warn) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        gpu = wants_gpu(self.plan)
        pending = {self._submit(chunk, gpu): chunk for chunk in chunks(self.plan, items)}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    chunk = pending.pop(ref)
                    yield chunk.cells, self._rows(ref, chunk, warn)
        finally:
            for ref in pending:  # interrupted: the driver stops, so do its tasks
                ray.cancel(ref, force=True)

    def _rows(self, ref: ray.ObjectRef, chunk: Chunk, warn: Warn) -> list[dict[str, Any]]:
        """A finished task's rows (its warnings and events kept), or, when it did not come
        back, a failure row for each of its cells."""
        try:
            result: ChunkResult = ray.get(ref)
        except ray.exceptions.RayError as exc:
            self.lost += 1
            message = _lost(exc)
            return [
                r
                for item in _items(self.plan, chunk)
                for r in failed_item(self.plan, item, message)
            ]
        self.hosts.add(result.host)
        for label, message in result.warnings:
            warn(label, message)
        add_counts(self.events, result.events)
        return result.rows

    def record(self, execution: dict[str, Any]) -> None:
        execution.update(
            executor="ray",
            address=self.address,
            hosts=with_hosts(execution, self.hosts),
            mode="isolated" if self.plan.config.isolate else "in-process",
            timeout=self.plan.config.timeout,
        )
        add_counts(execution, self.events)
        self.events.clear()
        if self.lost:
            execution["lost_tasks"] = execution.get("lost_tasks", 0) + self.lost
            self.lost = 0

    def close(self) -> None:
        disconnect()


def _lost(exc: Exception) -> str:
    """A failure row's message for a task that did not come back."""
    if isinstance(exc, ray.exceptions.RayTaskError) and exc.cause is not None:
        return f"ray task failed: {describe(exc.cause)}"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"ray worker lost ({MAX_RETRIES + 1} attempts): {type(exc).__name__}: {first}".rstrip(
        ": "
    )
