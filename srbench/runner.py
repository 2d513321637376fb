"""The runner: datasets x scales x degradations x methods, every image scored, every row kept.

:func:`run` starts a run and :func:`resume` continues a killed one. Both validate the whole grid
before any work (unknown names are usage errors), resolve (and fetch) the datasets, then walk the
grid image by image: degrade once, run every method on the LR image, score each output, record a
failure row instead of stopping when a method raises, returns the wrong shape, NaN, or exceeds the
timeout.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import math
import platform
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from srbench import __version__
from srbench.datasets import Dataset, expand_datasets, resolve_dataset
from srbench.degradations import DegradationContext, ParsedSpec, parse_spec
from srbench.device import describe_device, resolve_device, synchronize
from srbench.errors import (
    LicenceError,
    MethodOutputError,
    MethodTimeoutError,
    RunError,
    SrbenchError,
)
from srbench.imageio import modcrop, quantize, to_rgb, write_png
from srbench.methods import METHODS, ImageContext, SRMethod, Tiling, create_method
from srbench.methods import load_method_file as _load_method_file
from srbench.metrics import METRICS, Protocol, get_protocol, score_pair
from srbench.store import RunWriter

__all__ = ["RunConfig", "RunResult", "resume", "run"]

RUNTIME = "runtime"
FLUSH_SECONDS = 2.0
MIN_TILE = 48


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run; stored in its manifest and reused by ``--resume``.

    Grid axes are lists; ``all`` expands (datasets: the catalog's test sets; methods: every
    registered method except ``precomputed``). ``tile`` is the LR tile side (0: whole images),
    ``timeout`` the seconds one method may spend on one image (``None``: no limit).
    """

    datasets: tuple[str, ...] = ("all",)
    scales: tuple[int, ...] = (4,)
    degradations: tuple[str, ...] = ("bicubic",)
    methods: tuple[str, ...] = ("all",)
    metrics: tuple[str, ...] = ("psnr", "ssim")
    protocol: str = "y"
    shave: int | None = None
    seed: int = 0
    device: str = "auto"
    tile: int = 0
    tile_overlap: int = 16
    batch_size: int = 4
    timeout: float | None = None
    save_images: bool = False
    method_files: tuple[str, ...] = ()
    accept_licence: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Rebuild a config from its manifest form (lists become tuples)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
        )


@dataclass
class RunResult:
    """A finished (or resumed) run: its rows and what went wrong."""

    run_id: str
    path: Path
    scores: pd.DataFrame
    skipped: list[str] = field(default_factory=list)

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
    plan = _plan(config, log)
    _resolve_datasets(plan, progress, log)
    writer = RunWriter.create(results, _manifest(plan, run_id))
    return _execute(plan, writer, progress, log)


def resume(
    run_id: str, results: str | Path = "results", *, progress: bool = True, log: Log = print
) -> RunResult:
    """Continue a killed run: compute exactly the cells it has not recorded yet."""
    writer = RunWriter.resume(results, run_id)
    try:
        plan = _plan(RunConfig.from_dict(writer.manifest["config"]), log)
        _resolve_datasets(plan, progress, log)
    except BaseException:
        writer.close()
        raise
    writer.manifest.setdefault("resumed", []).append(_now())
    return _execute(plan, writer, progress, log)


def _plan(config: RunConfig, log: Log) -> _Plan:
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
    metrics = list(dict.fromkeys(METRICS.canonical(m) for m in config.metrics))
    metrics = [m for m in metrics if m != RUNTIME]
    protocol = get_protocol(config.protocol, config.shave)
    device = resolve_device(config.device)
    methods: dict[str, SRMethod] = {}
    for spec in _expand_methods(config.methods):
        label, method = create_method(spec, device)
        if label in methods:
            raise RunError(f"two methods are labelled {label!r}; give one a label=... option.")
        methods[label] = method
    return _Plan(config, methods, degradations, metrics, protocol, device)


def _expand_methods(specs: Sequence[str]) -> list[str]:
    out: list[str] = []
    for spec in specs:
        if spec.strip().lower() == "all":
            out += [n for n, _ in METHODS.items() if n != "precomputed"]
        else:
            out.append(spec.strip())
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
        "config": dataclasses.asdict(plan.config),
        "versions": _versions(),
        "git": _git(),
        "device": describe_device(plan.device),
        "started": _now(),
        "ended": None,
        "datasets": [d.record() for d in plan.datasets],
        "methods": {
            label: {"name": m.card.name, "version": m.card.version, "params": m.card.params}
            for label, m in plan.methods.items()
        },
    }


def _execute(plan: _Plan, writer: RunWriter, progress: bool, log: Log) -> RunResult:
    try:
        done = writer.done_cells()
        groups = list(_groups(plan, done, log))
        total = sum(len(todo) for *_, todo in groups)
        last_flush = time.monotonic()
        with tqdm(total=total, desc="run", unit="cell", disable=not progress) as bar:
            for dataset, scale, spec, todo in groups:
                for image_id, labels in _by_image(todo):
                    writer.add(
                        _run_image(plan, writer.path, dataset, scale, spec, image_id, labels)
                    )
                    bar.update(len(labels))
                    if time.monotonic() - last_flush > FLUSH_SECONDS:
                        writer.flush()
                        last_flush = time.monotonic()
        writer.manifest.update(status="complete", ended=_now(), skipped=plan.skipped)
        frame = writer.finish()
        failures = frame[frame["error"].notna()]
        writer.manifest["failures"] = int(failures.drop_duplicates(list(_CELL)).shape[0])
        writer.save_manifest()
        return RunResult(writer.run_id, writer.path, frame, plan.skipped)
    finally:
        writer.flush()
        writer.close()


_CELL = ("dataset", "image", "scale", "degradation", "seed", "method")


def _groups(
    plan: _Plan, done: set[tuple[Any, ...]], log: Log
) -> Iterator[tuple[Dataset, int, ParsedSpec, list[tuple[str, str]]]]:
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
                if todo:
                    yield dataset, scale, spec, todo


def _by_image(todo: list[tuple[str, str]]) -> Iterator[tuple[str, list[str]]]:
    images: dict[str, list[str]] = {}
    for image_id, label in todo:
        images.setdefault(image_id, []).append(label)
    yield from images.items()


def _run_image(
    plan: _Plan,
    run_dir: Path,
    dataset: Dataset,
    scale: int,
    spec: ParsedSpec,
    image_id: str,
    labels: list[str],
) -> list[dict[str, Any]]:
    canonical = spec.canonical(scale)
    base = {
        "dataset": dataset.name,
        "dataset_version": dataset.version,
        "image": image_id,
        "scale": scale,
        "degradation": canonical,
        "degradation_version": spec.degradation.version,
        "seed": plan.config.seed,
    }
    try:
        hr = dataset.load(image_id)
        context = DegradationContext(dataset.name, image_id, plan.config.seed)
        lr = spec(modcrop(to_rgb(hr), scale), scale, context)
    except Exception as exc:  # the image is unusable for every method: record that for each
        message = f"preparing the image failed: {_describe(exc)}"
        return [r for lbl in labels for r in _failure_rows(plan, base, lbl, message)]
    rows: list[dict[str, Any]] = []
    ctx = ImageContext(dataset.name, image_id, scale, canonical)
    for label in labels:
        rows += _run_cell(plan, run_dir, base, label, lr, hr, ctx)
    return rows


def _run_cell(
    plan: _Plan,
    run_dir: Path,
    base: dict[str, Any],
    label: str,
    lr: np.ndarray,
    hr: np.ndarray,
    ctx: ImageContext,
) -> list[dict[str, Any]]:
    method = plan.methods[label]
    try:
        sr, seconds = _infer(plan, method, lr, ctx)
        scores = score_pair(sr, hr, ctx.scale, plan.protocol, plan.metrics)
    except Exception as exc:
        return _failure_rows(plan, base, label, _describe(exc))
    if plan.config.save_images:
        write_png(_image_path(run_dir, ctx, label), sr)
    if method.card.timed:
        scores[RUNTIME] = seconds
    return [_row(plan, base, label, metric, value, None) for metric, value in scores.items()]


def _infer(
    plan: _Plan, method: SRMethod, lr: np.ndarray, ctx: ImageContext
) -> tuple[np.ndarray, float]:
    """Run a method on one LR image: tiled if asked, or after running out of memory."""
    config = plan.config
    tiling = Tiling(config.tile, config.tile_overlap, config.batch_size)
    while True:
        try:
            with _deadline(config.timeout):
                start = time.perf_counter()
                sr = method.super_resolve(lr, ctx, tiling)
                synchronize(plan.device)
                seconds = time.perf_counter() - start
            return _check_output(sr, lr, ctx.scale), seconds
        except Exception as exc:
            current = tiling.tile or max(lr.shape[:2])
            if not _out_of_memory(exc) or current // 2 < max(MIN_TILE, 2 * config.tile_overlap + 1):
                raise
            tiling = dataclasses.replace(tiling, tile=current // 2)
            _free_gpu_memory(plan.device)


def _check_output(sr: Any, lr: np.ndarray, scale: int) -> np.ndarray:
    sr = np.asarray(sr)
    want = (lr.shape[0] * scale, lr.shape[1] * scale)
    if sr.shape[:2] != want or sr.ndim not in (2, 3) or (sr.ndim == 3 and sr.shape[2] != 3):
        raise MethodOutputError(
            f"output shape {sr.shape}, expected {(*want, 3)} (x{scale} of LR {lr.shape[:2]})."
        )
    if sr.dtype == np.uint8:
        return sr
    if not np.issubdtype(sr.dtype, np.number) or not np.isfinite(sr).all():
        bad = "non-numeric" if not np.issubdtype(sr.dtype, np.number) else "NaN or inf"
        raise MethodOutputError(f"output has {bad} values (dtype {sr.dtype}).")
    return quantize(sr)


def _out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"


def _free_gpu_memory(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


@contextlib.contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (POSIX main thread; elsewhere no limit)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not seconds or not usable:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise MethodTimeoutError(f"took longer than --timeout {seconds:g} s on this image.")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _failure_rows(
    plan: _Plan, base: dict[str, Any], label: str, message: str
) -> list[dict[str, Any]]:
    metrics = [*plan.metrics, *([RUNTIME] if plan.methods[label].card.timed else [])]
    return [_row(plan, base, label, m, math.nan, message) for m in metrics]


def _row(
    plan: _Plan, base: dict[str, Any], label: str, metric: str, value: float, error: str | None
) -> dict[str, Any]:
    protocol = (
        f"seconds@{describe_device(plan.device)}"
        if metric == RUNTIME
        else plan.protocol.key(base["scale"])
    )
    return {
        **base,
        "method": label,
        "method_version": plan.methods[label].card.version,
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


def _image_path(run_dir: Path, ctx: ImageContext, label: str) -> Path:
    return (
        run_dir
        / "images"
        / _slug(ctx.dataset)
        / f"x{ctx.scale}"
        / _slug(ctx.degradation)
        / _slug(label)
        / f"{ctx.image_id}.png"
    )


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"srbench": __version__, "python": platform.python_version()}
    for package in ("numpy", "scipy", "pillow", "pandas", "torch"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = None
    out["platform"] = platform.platform()
    return out


def _git() -> dict[str, Any] | None:
    """The commit of srbench's source checkout, if it is one (and whether it has local edits)."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(dirty)}
