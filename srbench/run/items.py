"""The grid's work items: one :class:`Item` per image of a (dataset, scale, degradation) group
with the :class:`Job` of each method that still has work on it, and :func:`todo_items`, which
lists them for a new or resumed run (every executor runs them with
:func:`srbench.run.cells.image_rows`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srbench.catalog.resolve import Dataset
from srbench.degradations import ParsedSpec
from srbench.methods import ImageContext
from srbench.run.plan import Log, Plan
from srbench.run.samples import Recorded, draws

__all__ = ["Item", "Job", "item_job", "todo_items"]


@dataclass(frozen=True)
class Job:
    """One method's work on one image: the draws still to make (``None``: the one call of a
    deterministic method) and whether the image's aggregates follow them."""

    label: str
    samples: tuple[int | None, ...]
    aggregate: bool = False


@dataclass(frozen=True)
class Item:
    """One image of a (dataset, scale, degradation) group and the methods still to run on it."""

    dataset: Dataset
    scale: int
    spec: ParsedSpec
    image_id: str
    jobs: tuple[Job, ...]

    @property
    def labels(self) -> list[str]:
        """The methods with work on this image."""
        return [job.label for job in self.jobs]

    @property
    def cells(self) -> int:
        """Progress units: one per draw (a deterministic method's call is one)."""
        return sum(len(job.samples) for job in self.jobs)


def todo_items(plan: Plan, recorded: Recorded, run_dir: Path, log: Log) -> Iterator[Item]:
    """The images with work left, in the grid's order (dataset, scale, degradation, image),
    each with the jobs still to do on it; logs (once) each method skipped at a scale."""
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
                    jobs = [item_job(plan, recorded, run_dir, cell, ctx, label) for label in labels]
                    todo = tuple(job for job in jobs if job is not None)
                    if todo:
                        yield Item(dataset, scale, spec, image_id, todo)


def item_job(
    plan: Plan,
    recorded: Recorded,
    run_dir: Path,
    cell: tuple[Any, ...],
    ctx: ImageContext,
    label: str,
) -> Job | None:
    """What ``label`` still has to do on one image (``None``: nothing)."""
    if not plan.methods[label].card.stochastic:
        return None if (*cell, label, None) in recorded.done else Job(label, (None,))
    missing = recorded.missing(plan, run_dir, (*cell, label), ctx)
    aggregate = draws(plan, label) > 1 and (*cell, label) not in recorded.aggregated
    return Job(label, tuple(missing), aggregate) if missing or aggregate else None
