"""The runner: datasets x scales x degradations x methods, every image scored, every row kept.

:func:`run` starts a run and :func:`resume` continues a killed one. Both validate the whole grid
before any work (unknown names are usage errors), resolve (and fetch) the datasets, then walk the
grid image by image: degrade once, run every method on the LR image, score each output, record a
failure row instead of stopping when a method raises (``SystemExit`` included), returns the wrong
shape, NaN, or exceeds the timeout, or (``isolate``) when its worker process dies.

Nothing a method does reaches another method or the scorer: each call gets its own read-only
copy of the LR image, each output is copied into an array of srbench's before it is scored, and
the HR image is read-only from the moment it is read (a degradation cannot change it) and each
cell's metrics get their own copy. How methods are called (threads, timeouts, worker processes)
is :mod:`srbench.run.isolation`'s.
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from srbench.catalog.identity import identity_datasets, record_catalog_identities
from srbench.config import validate
from srbench.errors import RunError
from srbench.run.cells import Draws, Item, image_rows, todo_items
from srbench.run.config import RunConfig
from srbench.run.isolation import method_runner
from srbench.run.plan import (
    Log,
    Plan,
    absolute_paths,
    expand_methods,
    make_plan,
    manifest,
    parse_metrics,
    resolve_datasets,
)
from srbench.run.rows import set_rows
from srbench.run.samples import IMAGE_CELL, Recorded, load_diversity, remove_samples
from srbench.store.writer import RunWriter, check_run_id
from srbench.system.provenance import now

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Executor",
    "LocalExecutor",
    "RunConfig",
    "RunResult",
    "check_executor",
    "expand_methods",
    "resume",
    "run",
    "with_hosts",
]

FLUSH_SECONDS = 2.0


@dataclass
class RunResult:
    """A finished (or resumed) run: its rows and what went wrong."""

    run_id: str
    path: Path
    scores: pd.DataFrame
    skipped: list[str] = field(default_factory=list)
    skipped_metrics: dict[str, str] = field(default_factory=dict)

    @property
    def failures(self) -> pd.DataFrame:
        """One row per failed cell, with its message."""
        failed = self.scores[self.scores["error"].notna()]
        cols = ["dataset", "image", "scale", "degradation", "method", "error"]
        return failed.drop_duplicates(subset=cols[:-1])[cols].reset_index(drop=True)


def run(
    config: RunConfig,
    results: str | Path = "results",
    *,
    run_id: str | None = None,
    progress: bool = True,
    log: Log = lambda _: None,
    address: str | None = None,
) -> RunResult:
    """Run the grid of ``config`` and store every row under ``results/runs/<run_id>``.

    ``address`` is the Ray cluster of ``config.executor == "ray"`` (``None``: a local Ray
    instance started for the run); it is recorded in the manifest, not in the config.
    """
    if run_id is not None:
        check_run_id(run_id)  # before any work: the id names a folder under results/runs
    if config.samples < 1:
        raise RunError(f"--samples needs at least 1 draw per image, got {config.samples}.")
    if config.timeout is not None and not config.timeout > 0:
        raise RunError(f"--timeout needs a positive number of seconds, got {config.timeout:g}.")
    check_executor(config, address)
    try:
        plan = make_plan(absolute_paths(config), log)
        resolve_datasets(plan, progress, log)
        writer = RunWriter.create(results, manifest(plan, run_id))
    except BaseException:
        _release(config)
        raise
    return _execute(plan, writer, progress, log, address)


def resume(
    run_id: str,
    results: str | Path = "results",
    *,
    progress: bool = True,
    log: Log = lambda _: None,
    executor: str | None = None,
    address: str | None = None,
) -> RunResult:
    """Continue a killed run: compute exactly the cells it has not recorded yet.

    ``executor`` (``None``: the stored one) may differ from the one that started the run: both
    store the same rows.
    """
    writer = RunWriter.resume(results, run_id)
    config: RunConfig | None = None
    try:
        config = RunConfig.from_dict(writer.manifest["config"])
        if executor is not None:
            config = validate(
                RunConfig, {**config.model_dump(), "executor": executor}, "--executor"
            )
        check_executor(config, address)
        plan = make_plan(config, log)
        resolve_datasets(plan, progress, log)
    except BaseException:
        writer.close()
        if config is not None:
            _release(config)
        raise
    writer.manifest.setdefault("resumed", []).append(now())
    writer.manifest["config"]["executor"] = plan.config.executor
    return _execute(plan, writer, progress, log, address)


#: What only the local executor does: these write into the run folder from where the cells run
#: (the driver's disk), or need every output of a set in one process.
_LOCAL_ONLY = "set-level metrics (FID/KID), --save-images and --samples above 1"


def check_executor(config: RunConfig, address: str | None) -> None:
    """Refuse, before any work, an executor that cannot run ``config``.

    For ``ray``, connects (or starts a local instance): the run's executor uses that connection.

    Raises:
        RunError: ``ray`` without Ray installed (with the install command), ``--address``
            without ``ray``, a setting only the local executor supports, or a cluster that
            cannot be reached.
    """
    if config.executor != "ray":
        if address is not None:
            raise RunError("--address names a Ray cluster: add --executor ray (or drop --address).")
        return
    try:
        import ray  # noqa: F401
    except ImportError:
        raise RunError(
            "--executor ray needs Ray, which is not installed: pip install 'srbench[ray]' "
            "(or run with --executor local)."
        ) from None
    _, set_metrics = parse_metrics(config.metrics)
    if set_metrics or config.save_images or config.samples > 1:
        raise RunError(
            f"--executor ray does not support {_LOCAL_ONLY} yet: they need the run folder on "
            "the machine that computes the cells; run these with --executor local."
        )
    from srbench.run.distributed import connect

    connect(address)  # an unreachable cluster stops the run before its folder exists


def _release(config: RunConfig) -> None:
    """End the Ray connection :func:`check_executor` made, when the run stops before its
    executor exists."""
    if config.executor == "ray":
        from srbench.run.distributed import disconnect

        disconnect()


def _execute(
    plan: Plan, writer: RunWriter, progress: bool, log: Log, address: str | None = None
) -> RunResult:
    executor: Executor | None = None
    try:
        recorded = Recorded.of_run(writer.path)
        images = list(todo_items(plan, recorded, writer.path, log))
        last_flush = time.monotonic()
        total = sum(item.cells for item in images)
        draws_ = Draws(recorded, load_diversity(plan, log))
        warn = _warner(writer, log)
        executor = _executor(plan, writer.path, images, draws_, address, log)
        execution = writer.manifest.setdefault("execution", {})
        executor.record(execution)
        with tqdm(total=total, desc="run", unit="cell", disable=not progress) as bar:
            for cells, rows in executor.stream(images, warn):
                writer.add(rows)
                bar.update(cells)
                if time.monotonic() - last_flush > FLUSH_SECONDS:
                    writer.flush()
                    last_flush = time.monotonic()
        if plan.set_metrics:
            writer.flush()
            writer.add(set_rows(plan, writer.path))
            writer.flush()
            # every group has its set rows now: the SR features were only kept for a resume
            shutil.rmtree(writer.path / "features", ignore_errors=True)
        remove_samples(writer.path)  # every image's aggregates are stored: draws kept no more
        checked = identity_datasets(plan.datasets, plan.methods.values())
        record_catalog_identities(writer.manifest, checked, plan.seen)  # from the pixels read
        executor.record(writer.manifest.setdefault("execution", {}))
        writer.manifest.update(status="complete", ended=now(), skipped=plan.skipped)
        writer.manifest.setdefault("metrics_skipped", {}).update(plan.skipped_metrics)
        frame = writer.finish()
        failures = frame[frame["error"].notna()]
        writer.manifest["failures"] = int(failures.drop_duplicates(IMAGE_CELL).shape[0])
        writer.save_manifest()
        return RunResult(
            writer.run_id, writer.path, frame, plan.skipped, dict(plan.skipped_metrics)
        )
    except KeyboardInterrupt:
        writer.flush()
        if executor is not None:
            executor.record(writer.manifest.setdefault("execution", {}))
        writer.manifest.update(status="interrupted", ended=now())
        writer.save_manifest()
        log(
            "interrupted; every finished image is saved. Continue with: srbench run --resume "
            f"{writer.run_id} --results {writer.path.parent.parent}"
        )
        raise
    finally:
        if executor is not None:
            executor.close()
        writer.flush()
        writer.close()


Warn = Callable[[str, str], None]


class Executor:
    """Where a run's cells are computed: :meth:`stream` yields ``(cells, rows)`` as they finish,
    which the driver stores; :meth:`record` notes how in the manifest's ``execution``."""

    def stream(self, items: list[Item], warn: Warn) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        raise NotImplementedError

    def record(self, execution: dict[str, Any]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the executor holds (worker processes, a Ray instance it started)."""


class LocalExecutor(Executor):
    """Every cell in this process through a :class:`Runner`: methods one image at a time, and
    reading, degrading, scoring and the calls of thread-safe methods in ``plan.config.workers``
    threads beside them (:func:`~srbench.run.cells.image_rows`)."""

    def __init__(self, plan: Plan, run_dir: Path, items: list[Item], draws_: Draws) -> None:
        self.plan, self.run_dir, self.draws = plan, run_dir, draws_
        self.runner = method_runner(
            plan.methods,
            plan.device,
            plan.config.timeout,
            isolate=plan.config.isolate,
            method_files=plan.config.method_files,
            labels=sorted({label for item in items for label in item.labels}),
        )

    def stream(self, items: list[Item], warn: Warn) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        with ThreadPoolExecutor(self.plan.config.workers, thread_name_prefix="srbench") as pool:
            yield from image_rows(
                self.plan, self.run_dir, items, pool, self.runner, warn, self.draws
            )

    def record(self, execution: dict[str, Any]) -> None:
        execution.update(
            executor="local",
            address=None,
            hosts=with_hosts(execution, {socket.gethostname()}),
            mode=self.runner.mode,
            timeout=self.plan.config.timeout,
        )
        self.runner.record(execution)

    def close(self) -> None:
        self.runner.close()


def with_hosts(execution: dict[str, Any], hosts: set[str]) -> list[str]:
    """The manifest's ``hosts``: those of earlier sessions of the run and ``hosts``, sorted."""
    return sorted(set(execution.get("hosts", [])) | hosts)


def _executor(
    plan: Plan,
    run_dir: Path,
    items: list[Item],
    draws_: Draws,
    address: str | None,
    log: Log,
) -> Executor:
    if plan.config.executor == "ray":
        from srbench.run.distributed import RayExecutor

        return RayExecutor(plan, run_dir, address, log)
    return LocalExecutor(plan, run_dir, items, draws_)


def _warner(writer: RunWriter, log: Log) -> Callable[[str, str], None]:
    """Warnings about a method's outputs: logged once per method and run session, kept in the
    manifest's ``warnings`` (label -> message), which is saved at once."""
    warned: set[str] = set()

    def warn(label: str, message: str) -> None:
        if label in warned:
            return
        warned.add(label)
        log(f"warning: method {label}: {message}")
        writer.manifest.setdefault("warnings", {})[label] = message
        writer.save_manifest()

    return warn
