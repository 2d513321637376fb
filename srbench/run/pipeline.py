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

import collections
import itertools
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from srbench.catalog.resolve import Dataset
from srbench.config import validate
from srbench.degradations import DegradationContext, ParsedSpec
from srbench.errors import RunError
from srbench.imageio import modcrop, to_rgb, write_png
from srbench.methods import ImageContext, Tiling
from srbench.metrics import score_pair
from srbench.run.config import RunConfig
from srbench.run.isolation import Runner, method_runner
from srbench.run.plan import (
    Log,
    Plan,
    absolute_paths,
    expand_methods,
    hr_features,
    make_plan,
    manifest,
    parse_metrics,
    patch_key,
    patch_specs,
    resolve_datasets,
)
from srbench.run.rows import RUNTIME, base_row, describe, failure_rows, row, set_rows
from srbench.run.samples import (
    Recorded,
    Scorer,
    aggregate_rows,
    draw_context,
    draws,
    load_diversity,
    read_sample,
    remove_samples,
    run_image_path,
    write_sample,
)
from srbench.run.setlevel import Features
from srbench.store import RunWriter, read_run
from srbench.store.writer import check_run_id
from srbench.system.provenance import now

__all__ = [
    "Executor",
    "LocalExecutor",
    "RunConfig",
    "RunResult",
    "check_executor",
    "expand_methods",
    "failed_item",
    "image_path",
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
        recorded = Recorded.of(read_run(writer.path))
        images = list(_todo(plan, recorded, writer.path, log))
        last_flush = time.monotonic()
        total = sum(item.cells for item in images)
        draws_ = _Draws(recorded, load_diversity(plan, log))
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
        executor.record(writer.manifest.setdefault("execution", {}))
        writer.manifest.update(status="complete", ended=now(), skipped=plan.skipped)
        writer.manifest.setdefault("metrics_skipped", {}).update(plan.skipped_metrics)
        frame = writer.finish()
        failures = frame[frame["error"].notna()]
        writer.manifest["failures"] = int(failures.drop_duplicates(list(_CELL)).shape[0])
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

    def stream(self, items: list[_Item], warn: Warn) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        raise NotImplementedError

    def record(self, execution: dict[str, Any]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the executor holds (worker processes, a Ray instance it started)."""


class LocalExecutor(Executor):
    """Every cell in this process: methods one at a time through a :class:`Runner`, reading,
    degrading and scoring in ``plan.config.workers`` threads beside them."""

    def __init__(self, plan: Plan, run_dir: Path, items: list[_Item], draws_: _Draws) -> None:
        self.plan, self.run_dir, self.draws = plan, run_dir, draws_
        self.runner = method_runner(
            plan.methods,
            plan.device,
            plan.config.timeout,
            isolate=plan.config.isolate,
            method_files=plan.config.method_files,
            labels=sorted({label for item in items for label in item.labels}),
        )

    def stream(self, items: list[_Item], warn: Warn) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        with ThreadPoolExecutor(self.plan.config.workers, thread_name_prefix="srbench") as pool:
            yield from _pipeline(
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
    items: list[_Item],
    draws_: _Draws,
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


_CELL = ("dataset", "image", "scale", "degradation", "seed", "method")


@dataclass(frozen=True)
class _Job:
    """One method's work on one image: the draws still to make (``None``: the one call of a
    deterministic method) and whether the image's aggregates follow them."""

    label: str
    samples: tuple[int | None, ...]
    aggregate: bool = False


@dataclass(frozen=True)
class _Item:
    """One image of a (dataset, scale, degradation) group and the methods still to run on it."""

    dataset: Dataset
    scale: int
    spec: ParsedSpec
    image_id: str
    jobs: tuple[_Job, ...]

    @property
    def labels(self) -> list[str]:
        """The methods with work on this image."""
        return [job.label for job in self.jobs]

    @property
    def cells(self) -> int:
        """Progress units: one per draw (a deterministic method's call is one)."""
        return sum(len(job.samples) for job in self.jobs)


@dataclass(frozen=True)
class _Draws:
    """What aggregating stochastic draws needs: the stored rows, and LPIPS (or ``None``)."""

    recorded: Recorded
    lpips: Scorer | None


def _pipeline(
    plan: Plan,
    run_dir: Path,
    items: list[_Item],
    pool: ThreadPoolExecutor,
    runner: Runner,
    warn: Callable[[str, str], None],
    draws_: _Draws,
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Yield ``(cells, rows)`` per image, in order.

    Methods run one at a time through ``runner`` (GPUs prefer one stream); reading and degrading
    the next images and scoring the previous outputs run in ``pool`` meanwhile.
    """
    ahead = plan.config.workers + 1
    upcoming = iter(items)
    prepared = collections.deque(
        (item, pool.submit(_prepare, plan, item)) for item in itertools.islice(upcoming, ahead)
    )
    pending: collections.deque[tuple[int, list[Future]]] = collections.deque()
    try:
        while prepared:
            item, future = prepared.popleft()
            for nxt in itertools.islice(upcoming, 1):
                prepared.append((nxt, pool.submit(_prepare, plan, nxt)))
            futures: list[Future] = []
            pending.append((item.cells, futures))  # an interrupt keeps the cells already run
            _run_methods(plan, run_dir, item, future, pool, runner, warn, draws_, futures)
            while pending and (len(pending) > ahead or all(f.done() for f in pending[0][1])):
                cells, futures = pending.popleft()
                yield cells, [row for f in futures for row in f.result()]
    except KeyboardInterrupt:
        # Cells that ran are only being scored (the interrupted image's too, for a stochastic
        # method draw by draw): hand them over, then stop.
        for cells, futures in pending:
            yield cells, [row for f in futures for row in f.result()]
        raise
    for cells, futures in pending:
        yield cells, [row for f in futures for row in f.result()]


def _prepare(plan: Plan, item: _Item) -> tuple[np.ndarray, np.ndarray]:
    hr = _read_only(item.dataset.load(item.image_id))
    context = DegradationContext(item.dataset.name, item.image_id, plan.config.seed)
    lr = _read_only(item.spec(modcrop(to_rgb(hr), item.scale), item.scale, context))
    if plan.features is not None:
        image = plan.protocol.rgb(modcrop(hr, item.scale), item.scale)
        for patch in patch_specs(plan):
            plan.features.ensure(
                hr_features(plan, item.dataset, item.image_id, item.scale, patch),
                image,
                patch,
                patch_key(plan, item.dataset.name, item.image_id, item.scale),
            )
    return hr, lr


def _read_only(image: np.ndarray) -> np.ndarray:
    view = np.asarray(image).view()
    view.flags.writeable = False
    return view


def _run_methods(
    plan: Plan,
    run_dir: Path,
    item: _Item,
    prepared: Future,
    pool: ThreadPoolExecutor,
    runner: Runner,
    warn: Callable[[str, str], None],
    draws_: _Draws,
    futures: list[Future],
) -> None:
    """Run ``item``'s jobs, appending to ``futures`` each cell's rows (being scored) as it
    runs."""
    base = base_row(plan, item.dataset, item.scale, item.spec, item.image_id)
    context = ImageContext(item.dataset.name, item.image_id, item.scale, base["degradation"])
    try:
        hr, lr = prepared.result()
        problem = None
    except (Exception, SystemExit) as exc:  # the image is unusable for every method: record that
        problem = f"preparing the image failed: {describe(exc)}"
        hr = lr = None
    for job in item.jobs:
        drawn: list[Future] = []
        for sample in job.samples:
            cell, ctx = _cell(plan, base, context, sample)
            if problem is None:
                drawn.append(
                    _run_cell(plan, run_dir, cell, job.label, lr, hr, ctx, pool, runner, warn)
                )
            else:
                drawn.append(_done(failure_rows(plan, cell, job.label, problem)))
            futures.append(drawn[-1])
        if job.aggregate:  # after its draws in the pool's queue: they run (or ran) first
            futures.append(
                pool.submit(_aggregate, plan, run_dir, base, job.label, context, drawn, draws_)
            )


def _cell(
    plan: Plan, base: dict[str, Any], context: ImageContext, sample: int | None
) -> tuple[dict[str, Any], ImageContext]:
    """One cell's row fields and context: the call of a deterministic method (``sample``
    ``None``) or one draw of a stochastic one."""
    ctx = context if sample is None else draw_context(plan, context, sample)
    seed = None if sample is None else ctx.sample_seed
    return {**base, "sample": sample, "sample_seed": seed}, ctx


def failed_item(plan: Plan, item: _Item, message: str) -> list[dict[str, Any]]:
    """Failure rows for every cell of ``item`` (its work was lost: a Ray task that did not
    come back), each naming ``message``."""
    base = base_row(plan, item.dataset, item.scale, item.spec, item.image_id)
    context = ImageContext(item.dataset.name, item.image_id, item.scale, base["degradation"])
    return [
        row
        for job in item.jobs
        for sample in job.samples
        for row in failure_rows(plan, _cell(plan, base, context, sample)[0], job.label, message)
    ]


def _run_cell(
    plan: Plan,
    run_dir: Path,
    cell: dict[str, Any],
    label: str,
    lr: np.ndarray,
    hr: np.ndarray,
    ctx: ImageContext,
    pool: ThreadPoolExecutor,
    runner: Runner,
    warn: Callable[[str, str], None],
) -> Future:
    """Call the method on one cell (one draw of a stochastic one); its rows, being scored."""
    tiling = Tiling(plan.config.tile, plan.config.tile_overlap, plan.config.batch_size)
    outcome = runner.call(label, lr, ctx, tiling)
    for message in outcome.warnings:
        warn(label, message)
    if outcome.sr is None:
        return _done(failure_rows(plan, cell, label, outcome.error or "no output"))
    return pool.submit(
        _score_cell, plan, run_dir, cell, label, outcome.sr, outcome.seconds, hr, ctx
    )


def _aggregate(
    plan: Plan,
    run_dir: Path,
    base: dict[str, Any],
    label: str,
    context: ImageContext,
    drawn: list[Future],
    draws_: _Draws,
) -> list[dict[str, Any]]:
    """The aggregate rows of one image of a stochastic method, once its draws are scored: the
    stored draws' rows first (the reader keeps those too), then this session's."""
    cell = (base["dataset"], base["image"], base["scale"], base["degradation"], base["seed"], label)
    stored = draws_.recorded.samples.get(cell, [])
    kept = {r["sample"] for r in stored}
    records = [*stored, *(r for f in drawn for r in f.result() if r["sample"] not in kept)]
    images = {
        s: read_sample(run_dir, draw_context(plan, context, s), label)
        for s in range(plan.config.samples)
    }
    return aggregate_rows(plan, base, label, records, images, draws_.lpips)


def _done(rows: list[dict[str, Any]]) -> Future:
    future: Future = Future()
    future.set_result(rows)
    return future


def _score_cell(
    plan: Plan,
    run_dir: Path,
    base: dict[str, Any],
    label: str,
    sr: np.ndarray,
    seconds: float,
    hr: np.ndarray,
    context: ImageContext,
) -> list[dict[str, Any]]:
    hr = np.array(hr)  # the cell's own copy: what a metric does to it stays in this cell
    drawn = base.get("sample") is not None
    try:
        scores = score_pair(sr, hr, context.scale, plan.protocol, plan.metrics, plan.scorers)
        if drawn and draws(plan, label) > 1:
            write_sample(run_dir, context, label, sr)
        # FID/KID see one output per image: a stochastic method's first draw
        if plan.features is not None and context.sample == 0:
            image = plan.protocol.rgb(sr, context.scale)
            for patch in patch_specs(plan):
                path = Features.sr_file(
                    run_dir,
                    context.dataset,
                    context.scale,
                    context.degradation,
                    label,
                    context.image_id,
                    patch,
                )
                key = patch_key(plan, context.dataset, context.image_id, context.scale)
                plan.features.ensure(path, image, patch, key)
        if plan.config.save_images:
            write_png(image_path(run_dir, context, label, drawn), sr)
    except (Exception, SystemExit) as exc:
        return failure_rows(plan, base, label, describe(exc))
    if plan.methods[label].card.timed:
        scores[RUNTIME] = seconds
    return [row(plan, base, label, metric, value, None) for metric, value in scores.items()]


def _todo(plan: Plan, recorded: Recorded, run_dir: Path, log: Log) -> Iterator[_Item]:
    for dataset in plan.datasets:
        for scale in plan.config.scales:
            labels = [lbl for lbl, m in plan.methods.items() if m.card.supports(scale)]
            for label in plan.methods.keys() - set(labels):
                note = (
                    f"skipped {label} at x{scale}: it supports x{plan.methods[label].card.scales}"
                )
                if note not in plan.skipped:
                    plan.skipped.append(note)
                    log(note)
            for spec in plan.degradations:
                canonical = spec.canonical(scale)
                for image_id in dataset.image_ids:
                    ctx = ImageContext(dataset.name, image_id, scale, canonical)
                    cell = (dataset.name, image_id, scale, canonical, plan.config.seed)
                    jobs = [_job(plan, recorded, run_dir, cell, ctx, label) for label in labels]
                    todo = tuple(job for job in jobs if job is not None)
                    if todo:
                        yield _Item(dataset, scale, spec, image_id, todo)


def _job(
    plan: Plan,
    recorded: Recorded,
    run_dir: Path,
    cell: tuple[Any, ...],
    ctx: ImageContext,
    label: str,
) -> _Job | None:
    """What ``label`` still has to do on one image (``None``: nothing)."""
    if not plan.methods[label].card.stochastic:
        return None if (*cell, label, None) in recorded.done else _Job(label, (None,))
    missing = recorded.missing(plan, run_dir, (*cell, label), ctx)
    aggregate = draws(plan, label) > 1 and (*cell, label) not in recorded.aggregated
    return _Job(label, tuple(missing), aggregate) if missing or aggregate else None


def image_path(run_dir: Path, ctx: ImageContext, label: str, draw: bool = False) -> Path:
    """Where ``--save-images`` keeps a method's SR image of one image in a run folder (a draw of
    a stochastic method: ``<image>.s<sample>.png``)."""
    return run_image_path(run_dir, "images", ctx, label, draw=draw)
