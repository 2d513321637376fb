"""The grid's per-image work, shared by every executor: which images and draws are still to do
(:func:`todo_items`), and for each image reading and degrading it, running its methods (through
a :class:`~srbench.run.isolation.Runner`) and scoring their outputs in a thread pool
(:func:`image_rows`). A method the runner may call concurrently (a thread-safe CPU method: the
interpolators) is called in the pool too, each call and its scoring one task, so its images
spread over the cores; other methods are called one image at a time in the calling thread (a
torch network threads inside each call; a GPU prefers one stream). The executors
(:mod:`srbench.run.pipeline`, :mod:`srbench.run.distributed`) decide only where this runs and
how rows reach the store.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from srbench.degradations import DegradationContext
from srbench.imageio import modcrop, to_rgb, write_png
from srbench.methods import ImageContext, Tiling
from srbench.methods.inference import Outcome
from srbench.metrics import Reference, score_pair
from srbench.run.isolation import Runner
from srbench.run.items import Item, Job, todo_items
from srbench.run.plan import (
    Plan,
    hr_features,
    patch_key,
    patch_specs,
)
from srbench.run.rows import RUNTIME, base_row, describe, failure_rows, row
from srbench.run.samples import (
    Recorded,
    Scorer,
    aggregate_rows,
    draw_context,
    draws,
    read_sample,
    run_image_path,
    write_sample,
)
from srbench.run.setlevel import Features

__all__ = ["Draws", "Item", "Job", "failed_item", "image_path", "image_rows", "todo_items"]

# Item, Job and todo_items live in srbench.run.items; they are imported here (above) for the
# executors, which take the per-image work from this module.


@dataclass(frozen=True)
class Draws:
    """What aggregating stochastic draws needs: the stored rows, and LPIPS (or ``None``)."""

    recorded: Recorded
    lpips: Scorer | None


def image_rows(
    plan: Plan,
    run_dir: Path,
    items: list[Item],
    pool: ThreadPoolExecutor,
    runner: Runner,
    warn: Callable[[str, str], None],
    draws_: Draws,
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Yield ``(cells, rows)`` per image, in order.

    Methods the runner calls one at a time run here (GPUs prefer one stream); reading and
    degrading the next images, scoring the previous outputs and the calls of concurrent methods
    (:meth:`~srbench.run.isolation.Runner.concurrent`) run in ``pool`` meanwhile. At most
    ``workers + 1`` images are read ahead and ``workers + 1`` images' outputs wait to be
    scored, so memory does not grow with the dataset.
    """
    ahead = plan.config.workers + 1
    upcoming = iter(items)
    prepared = collections.deque(
        (item, pool.submit(_prepare, plan, item)) for item in itertools.islice(upcoming, ahead)
    )
    # per image: its cells, the futures of its rows, and those of its calls queued in the pool
    pending: collections.deque[tuple[int, list[Future], list[Future]]] = collections.deque()
    notes: collections.deque[tuple[str, str]] = collections.deque()  # warnings of pool calls
    try:
        while prepared:
            item, future = prepared.popleft()
            for nxt in itertools.islice(upcoming, 1):
                prepared.append((nxt, pool.submit(_prepare, plan, nxt)))
            work = _CellWork(plan, run_dir, pool, runner, warn, notes, [])
            futures: list[Future] = []
            pending.append((item.cells, futures, work.calls))  # an interrupt keeps cells run
            _run_methods(work, item, future, draws_, futures)
            while pending and (len(pending) > ahead or all(f.done() for f in pending[0][1])):
                cells, futures, _ = pending.popleft()
                rows = [row for f in futures for row in f.result()]
                _deliver(notes, warn)
                yield cells, rows
    except KeyboardInterrupt:
        # Cells that ran are only being scored (the interrupted image's too, for a stochastic
        # method draw by draw): hand them over, then stop. Calls queued in the pool and not
        # started are dropped: their cells are missing, and --resume computes them.
        for _, _, calls in pending:
            for f in calls:
                f.cancel()  # only if it has not started
        for cells, futures, _ in pending:
            yield cells, _finished_rows(futures)
        _deliver(notes, warn)
        raise
    for cells, futures, _ in pending:
        rows = [row for f in futures for row in f.result()]
        _deliver(notes, warn)
        yield cells, rows


def _deliver(notes: collections.deque[tuple[str, str]], warn: Callable[[str, str], None]) -> None:
    """Pass the warnings of calls made in the pool to ``warn`` in this (the driver's) thread."""
    while notes:
        warn(*notes.popleft())


def _finished_rows(futures: list[Future]) -> list[dict[str, Any]]:
    """The rows of the cells that ran (a cancelled call, or the aggregate of a cancelled draw,
    has none)."""
    rows = []
    for f in futures:
        try:
            rows += f.result()
        except CancelledError:
            continue
        except KeyboardInterrupt:
            if f.done() and isinstance(f.exception(), KeyboardInterrupt):
                continue  # the call itself raised it (in the pool): it has no rows
            raise
    return rows


@dataclass(frozen=True)
class _CellWork:
    """What calling a method on a cell and scoring it needs (one per image)."""

    plan: Plan
    run_dir: Path
    pool: ThreadPoolExecutor
    runner: Runner
    warn: Callable[[str, str], None]
    notes: collections.deque[tuple[str, str]]
    #: The image's method calls queued in the pool (a Ctrl-C drops those not started).
    calls: list[Future]


def _prepare(plan: Plan, item: Item) -> tuple[np.ndarray, np.ndarray]:
    hr = _read_only(item.dataset.load(item.image_id))
    plan.seen.add(item.dataset.name, item.image_id, hr)  # for the manifest's identity check
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
    work: _CellWork, item: Item, prepared: Future, draws_: Draws, futures: list[Future]
) -> None:
    """Run ``item``'s jobs, appending to ``futures`` each cell's rows (being computed or
    scored), in the jobs' order."""
    plan, run_dir, pool = work.plan, work.run_dir, work.pool
    base = base_row(plan, item.dataset, item.scale, item.spec, item.image_id)
    context = ImageContext(item.dataset.name, item.image_id, item.scale, base["degradation"])
    try:
        hr, lr = prepared.result()
        problem = None
    except (Exception, SystemExit) as exc:  # the image is unusable for every method: record that
        problem = f"preparing the image failed: {describe(exc)}"
        hr = lr = None
    # The HR side of the scores, prepared once for all of this image's methods; dropped with
    # the last of their scoring tasks.
    ref = None if hr is None else plan.protocol.reference(hr, item.scale)
    for job in item.jobs:
        drawn: list[Future] = []
        for sample in job.samples:
            cell, ctx = _cell(plan, base, context, sample)
            if problem is None:
                drawn.append(_run_cell(work, cell, job.label, lr, ref, ctx))
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


def failed_item(plan: Plan, item: Item, message: str) -> list[dict[str, Any]]:
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
    work: _CellWork,
    cell: dict[str, Any],
    label: str,
    lr: np.ndarray,
    reference: Reference,
    ctx: ImageContext,
) -> Future:
    """Call the method on one cell (one draw of a stochastic one): here, then its scoring in
    the pool, or (a concurrent method) both as one task in the pool. Its rows, being made."""
    if work.runner.concurrent(label):
        work.calls.append(work.pool.submit(_call_and_score, work, cell, label, lr, reference, ctx))
        return work.calls[-1]
    outcome = _call(work, label, lr, ctx)
    for message in outcome.warnings:
        work.warn(label, message)
    if outcome.sr is None:
        return _done(failure_rows(work.plan, cell, label, outcome.error or "no output"))
    return work.pool.submit(
        _score_cell,
        work.plan,
        work.run_dir,
        cell,
        label,
        outcome.sr,
        outcome.seconds,
        reference,
        ctx,
    )


def _call(work: _CellWork, label: str, lr: np.ndarray, ctx: ImageContext) -> Outcome:
    config = work.plan.config
    tiling = Tiling(config.tile, config.tile_overlap, config.batch_size)
    return work.runner.call(label, lr, ctx, tiling)


def _call_and_score(
    work: _CellWork,
    cell: dict[str, Any],
    label: str,
    lr: np.ndarray,
    reference: Reference,
    ctx: ImageContext,
) -> list[dict[str, Any]]:
    """One cell of a concurrent method, in a pool thread: the call, then its scoring; the
    call's warnings go to the driver's thread (:func:`_deliver`)."""
    outcome = _call(work, label, lr, ctx)
    work.notes.extend((label, message) for message in outcome.warnings)
    if outcome.sr is None:
        return failure_rows(work.plan, cell, label, outcome.error or "no output")
    return _score_cell(
        work.plan, work.run_dir, cell, label, outcome.sr, outcome.seconds, reference, ctx
    )


def _aggregate(
    plan: Plan,
    run_dir: Path,
    base: dict[str, Any],
    label: str,
    context: ImageContext,
    drawn: list[Future],
    draws_: Draws,
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
    reference: Reference,
    context: ImageContext,
) -> list[dict[str, Any]]:
    drawn = base.get("sample") is not None
    try:
        # RGB-input metrics get a copy of the HR pixels: what one does to it stays in this cell
        scores = score_pair(sr, reference, context.scale, plan.protocol, plan.metrics, plan.scorers)
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


def image_path(run_dir: Path, ctx: ImageContext, label: str, draw: bool = False) -> Path:
    """Where ``--save-images`` keeps a method's SR image of one image in a run folder (a draw of
    a stochastic method: ``<image>.s<sample>.png``)."""
    return run_image_path(run_dir, "images", ctx, label, draw=draw)
