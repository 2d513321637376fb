"""The runner: datasets x scales x degradations x methods, every image scored, every row kept.

:func:`run` starts a run and :func:`resume` continues a killed one. Both validate the whole grid
before any work (unknown names are usage errors), resolve (and fetch) the datasets, then walk the
grid image by image: degrade once, run every method on the LR image, score each output, record a
failure row instead of stopping when a method raises, returns the wrong shape, NaN, or exceeds the
timeout.
"""

from __future__ import annotations

import collections
import itertools
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from srbench.catalog.resolve import Dataset, expand_datasets, resolve_dataset
from srbench.degradations import DegradationContext, ParsedSpec, parse_spec
from srbench.errors import LicenceError, MissingWeightsError, RunError, SpecError, SrbenchError
from srbench.imageio import modcrop, to_rgb, write_png
from srbench.methods import METHODS, ImageContext, SRMethod, Tiling, create_method
from srbench.methods import load_method_file as _load_method_file
from srbench.methods.inference import infer
from srbench.metrics import METRICS, Protocol, get_protocol, score_pair
from srbench.metrics.distribution import PatchSpec, SetMetricSpec, parse_set_metric
from srbench.run.setlevel import Features, score_set
from srbench.specs import split_spec
from srbench.store import SET_IMAGE, RunWriter, read_run
from srbench.system.device import describe_device, resolve_device
from srbench.system.extras import MissingDependencyError
from srbench.system.provenance import git_state, library_versions, now

__all__ = ["RunConfig", "RunResult", "expand_methods", "image_path", "resume", "run"]

RUNTIME = "runtime"
FLUSH_SECONDS = 2.0


class _Deferred(type):
    """Metaclass of :class:`RunConfig` here: the model (pydantic, a tenth of a second to import)
    is loaded on first use, so importing the CLI (``srbench --version``) does not load it."""

    def _model(cls) -> type[RunConfig]:
        from srbench.run.config import RunConfig as model

        return model

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls._model()(*args, **kwargs)

    def __getattr__(cls, name: str) -> Any:
        return getattr(cls._model(), name)

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, cls._model())

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, cls._model())


if TYPE_CHECKING:
    from srbench.run.config import RunConfig
else:

    class RunConfig(metaclass=_Deferred):
        """:class:`srbench.run.config.RunConfig`, imported when first used (constructing one,
        ``RunConfig.from_dict``, ``isinstance``)."""


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


@dataclass
class _Plan:
    config: RunConfig
    methods: dict[str, SRMethod]
    degradations: list[ParsedSpec]
    metrics: list[str]
    protocol: Protocol
    device: str
    scorers: dict[str, Any] = field(default_factory=dict)
    set_metrics: list[SetMetricSpec] = field(default_factory=list)
    features: Features | None = None
    skipped_metrics: dict[str, str] = field(default_factory=dict)
    datasets: list[Dataset] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


Log = Callable[[str], None]


def run(
    config: RunConfig,
    results: str | Path = "results",
    *,
    run_id: str | None = None,
    progress: bool = True,
    log: Log = lambda _: None,
) -> RunResult:
    """Run the grid of ``config`` and store every row under ``results/runs/<run_id>``."""
    plan = _plan(_absolute_paths(config), log)
    _resolve_datasets(plan, progress, log)
    writer = RunWriter.create(results, _manifest(plan, run_id))
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
        plan = _plan(RunConfig.from_dict(writer.manifest["config"]), log)
        _resolve_datasets(plan, progress, log)
    except BaseException:
        writer.close()
        raise
    writer.manifest.setdefault("resumed", []).append(now())
    return _execute(plan, writer, progress, log)


def _absolute_paths(config: RunConfig) -> RunConfig:
    """Folders and method files as absolute paths, so ``--resume`` works from any directory."""
    files = []
    for target in config.method_files:
        path, sep, name = target.rpartition(":")
        files.append(f"{Path(path).expanduser().resolve()}{sep}{name}" if sep else target)
    datasets = [
        str(Path(t).expanduser().resolve()) if (os.sep in t or t.startswith(".")) else t
        for t in config.datasets
    ]
    return config.model_copy(update={"method_files": tuple(files), "datasets": tuple(datasets)})


def _plan(config: RunConfig, log: Log = lambda _: None) -> _Plan:
    for target in config.method_files:
        _load_method_file(target)
    if not config.scales or any(s < 1 for s in config.scales):
        raise RunError(f"--scale needs positive integers, got {list(config.scales)}.")
    if config.tile and config.tile <= 2 * config.tile_overlap:
        raise RunError(f"--tile {config.tile} must exceed twice --tile-overlap.")
    degradations = [parse_spec(s) for s in config.degradations]
    for spec in degradations:
        for scale in config.scales:
            spec.canonical(scale)  # scale-dependent parameters fail here, before any work
    metrics, set_metrics = _parse_metrics(config.metrics)
    protocol = get_protocol(config.protocol, config.shave)
    not_runnable: list[str] = []
    specs = expand_methods(config.methods, not_runnable)
    for line in not_runnable:
        log(f"warning: {line}")
    # torch is imported (seconds) only when a method or a metric can use an accelerator
    classes = [METHODS.get(split_spec(spec, "method")[0]) for spec in specs]
    models = [METRICS.get(m) for m in [*metrics, *(s.metric for s in set_metrics)]]
    accelerated = any(c.card.uses_device for c in classes) or any(i.load for i in models)
    device = resolve_device(config.device) if accelerated else "cpu"
    methods: dict[str, SRMethod] = {}
    for spec in specs:
        label, method = create_method(spec, device)
        if label in methods:
            raise RunError(f"two methods are labelled {label!r}; give one a label=... option.")
        methods[label] = method
    if config.workers <= 0:
        config = config.model_copy(update={"workers": min(4, os.cpu_count() or 1)})
    plan = _Plan(config, methods, degradations, metrics, protocol, device, set_metrics=set_metrics)
    plan.skipped += not_runnable
    _load_metrics(plan, log)
    return plan


def _parse_metrics(specs: Sequence[str]) -> tuple[list[str], list[SetMetricSpec]]:
    """Image-level metric names and parsed set-level specs (``fid:patch=128``)."""
    image: list[str] = []
    sets: list[SetMetricSpec] = []
    for spec in specs:
        name, params = split_spec(spec, "metric")
        info = METRICS.get(name)
        if info.level == "set":
            sets.append(parse_set_metric(f"{info.name}:{spec.partition(':')[2]}"))
        elif params:
            raise SpecError(f"metric {spec!r}: {info.name} takes no parameters.")
        elif info.name != RUNTIME:
            image.append(info.name)
    protocols = [(s.metric, s.protocol(0)) for s in sets]
    if len(set(protocols)) != len(protocols):
        raise RunError(f"a set-level metric is asked for twice: {list(specs)}.")
    return list(dict.fromkeys(image)), sets


def _load_metrics(plan: _Plan, log: Log) -> None:
    """Build the models metrics need, once. A metric whose weights or packages are missing is
    skipped with one warning (recorded in the manifest); everything else still runs."""
    for name in [*plan.metrics, *dict.fromkeys(s.metric for s in plan.set_metrics)]:
        info = METRICS.get(name)
        if info.load is None:
            continue
        try:
            if info.level == "set":
                if plan.features is None:
                    plan.features = Features(info.load(plan.device))
            else:
                plan.scorers[name] = info.load(plan.device)
        except (MissingWeightsError, MissingDependencyError) as exc:
            plan.skipped_metrics[name] = str(exc)
            plan.skipped.append(f"skipped metric {name}: {str(exc).splitlines()[0]}")
            log(f"warning: skipping metric {name}: {exc}")
    plan.metrics = [m for m in plan.metrics if m not in plan.skipped_metrics]
    plan.set_metrics = [s for s in plan.set_metrics if s.metric not in plan.skipped_metrics]


def expand_methods(specs: Sequence[str], skipped: list[str] | None = None) -> list[str]:
    """Method specs with ``all`` expanded: every registered method but ``precomputed`` that can
    run here; each one that cannot (a trained method without weights) adds a line to
    ``skipped``. A method named explicitly is kept, so its own error says what is missing."""
    out: list[str] = []
    for spec in specs:
        if spec.strip().lower() != "all":
            out.append(spec.strip())
            continue
        for name, cls in METHODS.items():
            why = None if name == "precomputed" else cls.unavailable()
            if why is not None and skipped is not None:
                skipped.append(f"skipped method {name}: {why}")
            if name != "precomputed" and why is None:
                out.append(name)
    return list(dict.fromkeys(out))


def _resolve_datasets(plan: _Plan, progress: bool, log: Log) -> None:
    implicit = set(expand_datasets([t for t in plan.config.datasets if t.lower() == "all"]))
    for token in expand_datasets(plan.config.datasets):
        try:
            plan.datasets.append(
                resolve_dataset(token, accept_licence=plan.config.accept_licence, progress=progress)
            )
        except LicenceError as exc:
            if token not in implicit:
                raise
            note = f"skipped dataset {token}: {str(exc).splitlines()[0]}"
            plan.skipped.append(note)
            log(note)
    if not plan.datasets:
        raise RunError("no dataset to run on; name one with --datasets.")


def _manifest(plan: _Plan, run_id: str | None) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "run_id": run_id,
        "status": "running",
        "config": plan.config.model_dump(),
        "versions": library_versions(),
        "git": git_state(),
        "device": describe_device(plan.device),
        "started": now(),
        "ended": None,
        "metrics_skipped": plan.skipped_metrics,
        "datasets": [d.record() for d in plan.datasets],
        "methods": {
            label: {
                "name": m.card.name,
                "version": m.card.version,
                "params": m.card.params,
                **m.provenance(),
            }
            for label, m in plan.methods.items()
        },
    }


def _execute(plan: _Plan, writer: RunWriter, progress: bool, log: Log) -> RunResult:
    try:
        images = list(_todo(plan, writer.done_cells(), log))
        last_flush = time.monotonic()
        total = sum(len(item.labels) for item in images)
        with (
            tqdm(total=total, desc="run", unit="cell", disable=not progress) as bar,
            ThreadPoolExecutor(plan.config.workers, thread_name_prefix="srbench") as pool,
        ):
            for cells, rows in _pipeline(plan, writer.path, images, pool):
                writer.add(rows)
                bar.update(cells)
                if time.monotonic() - last_flush > FLUSH_SECONDS:
                    writer.flush()
                    last_flush = time.monotonic()
        if plan.set_metrics:
            writer.flush()
            writer.add(_set_rows(plan, writer.path))
            writer.flush()
            # every group has its set rows now: the SR features were only kept for a resume
            shutil.rmtree(writer.path / "features", ignore_errors=True)
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
        writer.manifest.update(status="interrupted", ended=now())
        writer.save_manifest()
        log(
            "interrupted; every finished image is saved. Continue with: srbench run --resume "
            f"{writer.run_id} --results {writer.path.parent.parent}"
        )
        raise
    finally:
        writer.flush()
        writer.close()


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
    plan: _Plan, run_dir: Path, items: list[_Item], pool: ThreadPoolExecutor
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Yield ``(cells, rows)`` per image, in order.

    Methods run one at a time in this thread (timeouts need the main thread; GPUs prefer one
    stream); reading and degrading the next images and scoring the previous outputs run in
    ``pool`` meanwhile.
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
            pending.append((len(item.labels), _run_methods(plan, run_dir, item, future, pool)))
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


def _prepare(plan: _Plan, item: _Item) -> tuple[np.ndarray, np.ndarray]:
    hr = item.dataset.load(item.image_id)
    context = DegradationContext(item.dataset.name, item.image_id, plan.config.seed)
    lr = item.spec(modcrop(to_rgb(hr), item.scale), item.scale, context)
    if plan.features is not None:
        image = plan.protocol.rgb(modcrop(hr, item.scale), item.scale)
        for patch in _patch_specs(plan):
            plan.features.ensure(
                _hr_features(plan, item.dataset, item.image_id, item.scale, patch),
                image,
                patch,
                _patch_key(plan, item.dataset.name, item.image_id, item.scale),
            )
    return hr, lr


def _patch_specs(plan: _Plan) -> list[PatchSpec]:
    return list(dict.fromkeys(s.patches for s in plan.set_metrics))


def _patch_key(plan: _Plan, dataset: str, image_id: str, scale: int) -> tuple[Any, ...]:
    """What random patch positions are drawn from: the same for HR and every method."""
    return (plan.config.seed, dataset, image_id, scale)


def _hr_features(
    plan: _Plan, dataset: Dataset, image_id: str, scale: int, patch: PatchSpec
) -> Path:
    assert plan.features is not None
    return plan.features.hr_file(
        dataset.name,
        dataset.version,
        image_id,
        scale,
        plan.protocol.shave_for(scale),
        patch,
        plan.config.seed,
    )


def _run_methods(
    plan: _Plan, run_dir: Path, item: _Item, prepared: Future, pool: ThreadPoolExecutor
) -> list[Future]:
    base = _base(plan, item.dataset, item.scale, item.spec, item.image_id)
    try:
        hr, lr = prepared.result()
    except Exception as exc:  # the image is unusable for every method: record that for each
        message = f"preparing the image failed: {_describe(exc)}"
        return [_done(_failure_rows(plan, base, label, message)) for label in item.labels]
    context = ImageContext(item.dataset.name, item.image_id, item.scale, base["degradation"])
    tiling = Tiling(plan.config.tile, plan.config.tile_overlap, plan.config.batch_size)
    futures = []
    for label in item.labels:
        try:
            sr, seconds = infer(plan.methods[label], lr, context, tiling, plan.config.timeout)
        except Exception as exc:
            futures.append(_done(_failure_rows(plan, base, label, _describe(exc))))
            continue
        futures.append(
            pool.submit(_score_cell, plan, run_dir, base, label, sr, seconds, hr, context)
        )
    return futures


def _base(
    plan: _Plan, dataset: Dataset, scale: int, spec: ParsedSpec, image_id: str
) -> dict[str, Any]:
    return {
        "dataset": dataset.name,
        "dataset_version": dataset.version,
        "image": image_id,
        "scale": scale,
        "degradation": spec.canonical(scale),
        "degradation_version": spec.degradation.version,
        "seed": plan.config.seed,
    }


def _done(rows: list[dict[str, Any]]) -> Future:
    future: Future = Future()
    future.set_result(rows)
    return future


def _score_cell(
    plan: _Plan,
    run_dir: Path,
    base: dict[str, Any],
    label: str,
    sr: np.ndarray,
    seconds: float,
    hr: np.ndarray,
    context: ImageContext,
) -> list[dict[str, Any]]:
    try:
        scores = score_pair(sr, hr, context.scale, plan.protocol, plan.metrics, plan.scorers)
        if plan.features is not None:
            image = plan.protocol.rgb(sr, context.scale)
            for patch in _patch_specs(plan):
                path = Features.sr_file(
                    run_dir,
                    context.dataset,
                    context.scale,
                    context.degradation,
                    label,
                    context.image_id,
                    patch,
                )
                key = _patch_key(plan, context.dataset, context.image_id, context.scale)
                plan.features.ensure(path, image, patch, key)
        if plan.config.save_images:
            write_png(image_path(run_dir, context, label), sr)
    except Exception as exc:
        return _failure_rows(plan, base, label, _describe(exc))
    if plan.methods[label].card.timed:
        scores[RUNTIME] = seconds
    return [_row(plan, base, label, metric, value, None) for metric, value in scores.items()]


def _todo(plan: _Plan, done: set[tuple[Any, ...]], log: Log) -> Iterator[_Item]:
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


def _set_rows(plan: _Plan, run_dir: Path) -> list[dict[str, Any]]:
    """FID/KID rows of every finished (dataset, scale, degradation, method) group that has none
    yet; a group with failed or missing images gets an error row instead of a partial value."""
    frame = read_run(run_dir)
    sets = frame[frame["image"] == SET_IMAGE]
    done = set(
        sets[["dataset", "scale", "degradation", "method", "metric", "protocol"]].itertuples(
            index=False, name=None
        )
    )
    errors = frame[frame["error"].notna() & (frame["image"] != SET_IMAGE)]
    failed = errors.groupby(["dataset", "scale", "degradation", "method"])["image"].unique()
    out: list[dict[str, Any]] = []
    for dataset, scale, spec in itertools.product(
        plan.datasets, plan.config.scales, plan.degradations
    ):
        base = _base(plan, dataset, scale, spec, SET_IMAGE)
        for label, method in plan.methods.items():
            if not method.card.supports(scale):
                continue
            group = (dataset.name, scale, base["degradation"], label)
            bad = sorted(failed.get(group, []))
            for metric in plan.set_metrics:
                protocol = metric.protocol(plan.protocol.shave_for(scale))
                if (*group, metric.metric, protocol) in done:
                    continue
                out.append(_set_row(plan, run_dir, dataset, base, label, metric, protocol, bad))
    return out


def _set_row(
    plan: _Plan,
    run_dir: Path,
    dataset: Dataset,
    base: dict[str, Any],
    label: str,
    metric: SetMetricSpec,
    protocol: str,
    failed: list[str],
) -> dict[str, Any]:
    scale, degradation = base["scale"], base["degradation"]
    row = {**_row(plan, base, label, metric.metric, math.nan, None), "protocol": protocol}
    if failed:
        shown = ", ".join(failed[:5]) + (", ..." if len(failed) > 5 else "")
        row["error"] = (
            f"{metric.metric} needs every image of the set; {len(failed)} of "
            f"{len(dataset.image_ids)} failed ({shown})"
        )
        return row
    try:
        hr = [
            np.load(_hr_features(plan, dataset, i, scale, metric.patches))
            for i in dataset.image_ids
        ]
        sr = [
            np.load(
                Features.sr_file(
                    run_dir, dataset.name, scale, degradation, label, i, metric.patches
                )
            )
            for i in dataset.image_ids
        ]
        result = score_set(metric, hr, sr, plan.config.seed)
    except (OSError, ValueError) as exc:
        row["error"] = f"{metric.metric}: {_describe(exc)}"
        return row
    return {**row, "value": result.value, "spread": result.spread, "samples": result.samples}


def _failure_rows(
    plan: _Plan, base: dict[str, Any], label: str, message: str
) -> list[dict[str, Any]]:
    metrics = [*plan.metrics, *([RUNTIME] if plan.methods[label].card.timed else [])]
    return [_row(plan, base, label, m, math.nan, message) for m in metrics]


def _row(
    plan: _Plan, base: dict[str, Any], label: str, metric: str, value: float, error: str | None
) -> dict[str, Any]:
    if metric == RUNTIME:
        protocol = f"seconds@{describe_device(plan.device)},workers={plan.config.workers}"
    elif METRICS.get(metric).inputs == "rgb":
        protocol = plan.protocol.rgb_key(base["scale"])
    else:
        protocol = plan.protocol.key(base["scale"])
    return {
        **base,
        "method": label,
        "method_version": plan.methods[label].version_at(base["scale"]),
        "metric": metric,
        "metric_version": METRICS.get(metric).version,
        "protocol": protocol,
        "value": float(value),
        "error": error,
    }


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, SrbenchError) else f"{type(exc).__name__}: {exc}"


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
