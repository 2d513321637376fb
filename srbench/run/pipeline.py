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
import re
import shutil
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
    patch_key,
    patch_specs,
    resolve_datasets,
)
from srbench.run.rows import RUNTIME, base_row, describe, failure_rows, row, set_rows
from srbench.run.setlevel import Features
from srbench.store import RunWriter
from srbench.store.writer import check_run_id
from srbench.system.provenance import now

__all__ = ["RunConfig", "RunResult", "expand_methods", "image_path", "resume", "run"]

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
) -> RunResult:
    """Run the grid of ``config`` and store every row under ``results/runs/<run_id>``."""
    if run_id is not None:
        check_run_id(run_id)  # before any work: the id names a folder under results/runs
    if config.timeout is not None and not config.timeout > 0:
        raise RunError(f"--timeout needs a positive number of seconds, got {config.timeout:g}.")
    plan = make_plan(absolute_paths(config), log)
    resolve_datasets(plan, progress, log)
    writer = RunWriter.create(results, manifest(plan, run_id))
    return _execute(plan, writer, progress, log)


def resume(
    run_id: str,
    results: str | Path = "results",
    *,
    progress: bool = True,
    log: Log = lambda _: None,
) -> RunResult:
    """Continue a killed run: compute exactly the cells it has not recorded yet."""
    writer = RunWriter.resume(results, run_id)
    try:
        plan = make_plan(RunConfig.from_dict(writer.manifest["config"]), log)
        resolve_datasets(plan, progress, log)
    except BaseException:
        writer.close()
        raise
    writer.manifest.setdefault("resumed", []).append(now())
    return _execute(plan, writer, progress, log)


def _execute(plan: Plan, writer: RunWriter, progress: bool, log: Log) -> RunResult:
    runner: Runner | None = None
    try:
        images = list(_todo(plan, writer.done_cells(), log))
        last_flush = time.monotonic()
        total = sum(len(item.labels) for item in images)
        runner = method_runner(
            plan.methods,
            plan.device,
            plan.config.timeout,
            isolate=plan.config.isolate,
            method_files=plan.config.method_files,
            labels=sorted({label for item in images for label in item.labels}),
        )
        execution = writer.manifest.setdefault("execution", {})
        execution.update(mode=runner.mode, timeout=plan.config.timeout)
        warn = _warner(writer, log)
        with (
            tqdm(total=total, desc="run", unit="cell", disable=not progress) as bar,
            ThreadPoolExecutor(plan.config.workers, thread_name_prefix="srbench") as pool,
        ):
            for cells, rows in _pipeline(plan, writer.path, images, pool, runner, warn):
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
        if runner is not None:
            runner.record(writer.manifest.setdefault("execution", {}))
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
        if runner is not None:
            runner.record(writer.manifest.setdefault("execution", {}))
        writer.manifest.update(status="interrupted", ended=now())
        writer.save_manifest()
        log(
            "interrupted; every finished image is saved. Continue with: srbench run --resume "
            f"{writer.run_id} --results {writer.path.parent.parent}"
        )
        raise
    finally:
        if runner is not None:
            runner.close()
        writer.flush()
        writer.close()


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
class _Item:
    """One image of a (dataset, scale, degradation) group and the methods still to run on it."""

    dataset: Dataset
    scale: int
    spec: ParsedSpec
    image_id: str
    labels: tuple[str, ...]


def _pipeline(
    plan: Plan,
    run_dir: Path,
    items: list[_Item],
    pool: ThreadPoolExecutor,
    runner: Runner,
    warn: Callable[[str, str], None],
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
            futures = _run_methods(plan, run_dir, item, future, pool, runner, warn)
            pending.append((len(item.labels), futures))
            while pending and (len(pending) > ahead or all(f.done() for f in pending[0][1])):
                cells, futures = pending.popleft()
                yield cells, [row for f in futures for row in f.result()]
    except KeyboardInterrupt:
        # Images whose methods all ran are only being scored: hand them over, then stop.
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
) -> list[Future]:
    base = base_row(plan, item.dataset, item.scale, item.spec, item.image_id)
    try:
        hr, lr = prepared.result()
    except (Exception, SystemExit) as exc:  # the image is unusable for every method: record that
        message = f"preparing the image failed: {describe(exc)}"
        return [_done(failure_rows(plan, base, label, message)) for label in item.labels]
    context = ImageContext(item.dataset.name, item.image_id, item.scale, base["degradation"])
    tiling = Tiling(plan.config.tile, plan.config.tile_overlap, plan.config.batch_size)
    futures = []
    for label in item.labels:
        outcome = runner.call(label, lr, context, tiling)
        for message in outcome.warnings:
            warn(label, message)
        if outcome.sr is None:
            failed = failure_rows(plan, base, label, outcome.error or "no output")
            futures.append(_done(failed))
            continue
        futures.append(
            pool.submit(
                _score_cell, plan, run_dir, base, label, outcome.sr, outcome.seconds, hr, context
            )
        )
    return futures


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
    try:
        scores = score_pair(sr, hr, context.scale, plan.protocol, plan.metrics, plan.scorers)
        if plan.features is not None:
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
            write_png(image_path(run_dir, context, label), sr)
    except (Exception, SystemExit) as exc:
        return failure_rows(plan, base, label, describe(exc))
    if plan.methods[label].card.timed:
        scores[RUNTIME] = seconds
    return [row(plan, base, label, metric, value, None) for metric, value in scores.items()]


def _todo(plan: Plan, done: set[tuple[Any, ...]], log: Log) -> Iterator[_Item]:
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
                todo = [
                    (image_id, label)
                    for image_id in dataset.image_ids
                    for label in labels
                    if (dataset.name, image_id, scale, canonical, plan.config.seed, label)
                    not in done
                ]
                for image_id, labels in _by_image(todo):
                    yield _Item(dataset, scale, spec, image_id, tuple(labels))


def _by_image(todo: list[tuple[str, str]]) -> Iterator[tuple[str, list[str]]]:
    images: dict[str, list[str]] = {}
    for image_id, label in todo:
        images.setdefault(image_id, []).append(label)
    yield from images.items()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "_"


def image_path(run_dir: Path, ctx: ImageContext, label: str) -> Path:
    """Where ``--save-images`` keeps a method's SR image of one image in a run folder."""
    return (
        run_dir
        / "images"
        / _slug(ctx.dataset)
        / f"x{ctx.scale}"
        / _slug(ctx.degradation)
        / _slug(label)
        / f"{ctx.image_id}.png"
    )
