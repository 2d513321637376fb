"""The rows a run stores: one per (cell, metric), each carrying the versions and the protocol it
was measured under; failures are rows too, with the message instead of a value. Set-level
metrics (FID, KID) get one row per (dataset, scale, degradation, method) once every image of it
is scored."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np

from srbench.catalog.resolve import Dataset
from srbench.degradations import ParsedSpec
from srbench.errors import SrbenchError
from srbench.metrics import METRICS
from srbench.metrics.distribution import SetMetricSpec
from srbench.run.plan import RUNTIME, Plan, hr_features
from srbench.run.setlevel import Features, score_set
from srbench.store.schema import SET_IMAGE
from srbench.system.device import describe_device

__all__ = ["RUNTIME", "base_row", "describe", "failure_rows", "row", "set_rows"]


def base_row(
    plan: Plan, dataset: Dataset, scale: int, spec: ParsedSpec, image_id: str
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


def failure_rows(
    plan: Plan, base: dict[str, Any], label: str, message: str
) -> list[dict[str, Any]]:
    metrics = [*plan.metrics, *([RUNTIME] if plan.methods[label].card.timed else [])]
    return [row(plan, base, label, m, math.nan, message) for m in metrics]


def row(
    plan: Plan, base: dict[str, Any], label: str, metric: str, value: float, error: str | None
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


def describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, SrbenchError) else f"{type(exc).__name__}: {exc}"


def set_rows(plan: Plan, run_dir: Path) -> list[dict[str, Any]]:
    """FID/KID rows of every finished (dataset, scale, degradation, method) group that has none
    yet; a group with failed or missing images gets an error row instead of a partial value."""
    from srbench.store import read_run  # pandas: only when the run has set-level metrics

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
        base = base_row(plan, dataset, scale, spec, SET_IMAGE)
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
    plan: Plan,
    run_dir: Path,
    dataset: Dataset,
    base: dict[str, Any],
    label: str,
    metric: SetMetricSpec,
    protocol: str,
    failed: list[str],
) -> dict[str, Any]:
    scale, degradation = base["scale"], base["degradation"]
    out = {**row(plan, base, label, metric.metric, math.nan, None), "protocol": protocol}
    if failed:
        shown = ", ".join(failed[:5]) + (", ..." if len(failed) > 5 else "")
        out["error"] = (
            f"{metric.metric} needs every image of the set; {len(failed)} of "
            f"{len(dataset.image_ids)} failed ({shown})"
        )
        return out
    try:
        hr = [
            np.load(hr_features(plan, dataset, i, scale, metric.patches)) for i in dataset.image_ids
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
        out["error"] = f"{metric.metric}: {describe(exc)}"
        return out
    return {**out, "value": result.value, "spread": result.spread, "samples": result.samples}
