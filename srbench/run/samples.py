"""Stochastic methods in a run: each draw's seed, what a resumed run still has to draw, and the
rows that summarise an image's draws.

A method whose card is ``stochastic`` is called ``--samples N`` times per (image, scale,
degradation), with ``ImageContext.sample`` = 0..N-1 and ``ImageContext.sample_seed`` from
:func:`sample_seed`; each draw is scored and stored like a deterministic method's output, with
its ``sample`` and ``sample_seed`` columns set (a deterministic method's rows leave both null).

With N > 1, once every draw of an image is stored, its aggregate rows follow (column
``aggregate``, ``sample`` null, ``samples`` = N): ``mean`` (mean over the draws) and ``best``
(best-of-N in the metric's direction: the highest PSNR/SSIM, the lowest LPIPS; for
``runtime`` the N draws' total, what best-of-N costs) per metric, and ``diversity``:
``pixel_std``, the mean over pixels and channels of the per-pixel standard deviation (ddof 0)
across the draws on 0..255, and ``lpips``, the mean LPIPS over all pairs of draws (when LPIPS's
weights are here; else one skip line), both on the shaved RGB pixels RGB metrics see (protocol
``rgb-shave<s>``).

Each draw's SR image is kept under ``<run>/samples/`` until its image's aggregates are stored,
so a killed run resumes by drawing only the missing samples; the folder is removed when the run
completes.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from srbench.errors import MissingWeightsError
from srbench.methods import ImageContext
from srbench.metrics import METRICS
from srbench.run.plan import RUNTIME, Log, Plan
from srbench.run.rows import row
from srbench.store.writer import cell_keys
from srbench.system.extras import MissingDependencyError
from srbench.system.files import atomic_path
from srbench.weights.files import locate

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AGGREGATES",
    "IMAGE_CELL",
    "DIVERSITY_METRICS",
    "PIXEL_STD",
    "Recorded",
    "aggregate_rows",
    "draw_context",
    "draws",
    "load_diversity",
    "read_sample",
    "remove_samples",
    "run_image_path",
    "sample_seed",
    "write_sample",
]

#: The values of the ``aggregate`` column.
AGGREGATES = ("mean", "best", "diversity")
#: The diversity metric every stochastic run with N > 1 stores.
PIXEL_STD = "pixel_std"
PIXEL_STD_VERSION = "1"
#: The metrics of ``diversity`` rows.
DIVERSITY_METRICS = (PIXEL_STD, "lpips")
_SAMPLES_DIR = "samples"


def sample_seed(
    seed: int, dataset: str, image_id: str, scale: int, degradation: str, sample: int
) -> int:
    """The seed of one draw: the first 8 bytes (little-endian, top bit cleared so it fits an
    int64) of the SHA-256 of ``sample``, the dataset, image id, scale, canonical degradation,
    run seed and draw index joined by ``\\x1f``. Stable across processes and platforms.

    Example:
        >>> sample_seed(0, "sample", "a", 4, "bicubic", 0) == sample_seed(0, "sample", "a", 4,
        ...     "bicubic", 0) != sample_seed(0, "sample", "a", 4, "bicubic", 1)
        True
    """
    key = "\x1f".join(
        ["sample", dataset, image_id, str(scale), degradation, str(seed), str(sample)]
    )
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little") & (2**63 - 1)


def draws(plan: Plan, label: str) -> int:
    """How many times ``label`` runs on each image: ``--samples`` if it is stochastic, else 1."""
    return plan.config.samples if plan.methods[label].card.stochastic else 1


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "_"


def run_image_path(
    run_dir: Path,
    folder: str,
    ctx: ImageContext,
    label: str,
    *,
    draw: bool = False,
    suffix: str = ".png",
) -> Path:
    """``<run>/<folder>/<dataset>/x<scale>/<degradation>/<method>/<image><suffix>``; a draw of a
    stochastic method (``draw``) ends its name with ``.s<sample>``."""
    draw_part = f".s{ctx.sample}" if draw else ""
    return (
        run_dir
        / folder
        / _slug(ctx.dataset)
        / f"x{ctx.scale}"
        / _slug(ctx.degradation)
        / _slug(label)
        / f"{ctx.image_id}{draw_part}{suffix}"
    )


def write_sample(run_dir: Path, ctx: ImageContext, label: str, sr: np.ndarray) -> None:
    """Keep one draw's SR image (exactly, as ``.npy``) until its image's aggregates exist."""
    path = run_image_path(run_dir, _SAMPLES_DIR, ctx, label, draw=True, suffix=".npy")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, sr)


def read_sample(run_dir: Path, ctx: ImageContext, label: str) -> np.ndarray | None:
    """A draw kept by :func:`write_sample`, or ``None`` when it is not there."""
    path = run_image_path(run_dir, _SAMPLES_DIR, ctx, label, draw=True, suffix=".npy")
    try:
        return np.load(path)
    except (OSError, ValueError):
        return None


def remove_samples(run_dir: Path) -> None:
    """Drop the kept draws (every image's aggregates are stored)."""
    shutil.rmtree(run_dir / _SAMPLES_DIR, ignore_errors=True)


#: (dataset, image, scale, degradation, seed, method): one image of one method.
Cell = tuple[Any, ...]
#: The columns that name one (image, method) cell of a run.
IMAGE_CELL = ["dataset", "image", "scale", "degradation", "seed", "method"]


@dataclass
class Recorded:
    """What a run has stored: cell keys (``CELL_KEY`` without ``run_id``), the images whose
    aggregates exist, and each stochastic image's sample rows (for its aggregates)."""

    done: set[tuple[Any, ...]] = field(default_factory=set)
    aggregated: set[Cell] = field(default_factory=set)
    samples: dict[Cell, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def of_run(cls, run_dir: Path) -> Recorded:
        """Index the rows stored in ``run_dir``; a new run (no rows file) without reading
        anything, so that pandas loads beside the first images rather than before them."""
        from srbench.store.reader import read_run, rows_files

        return cls.of(read_run(run_dir)) if rows_files(run_dir) else cls()

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Recorded:
        """Index a run's rows (:func:`srbench.store.read_run`)."""
        aggregates = frame[frame["aggregate"].notna()]
        aggregated = set(aggregates[IMAGE_CELL].itertuples(index=False, name=None))
        drawn = frame[frame["sample"].notna() & frame["aggregate"].isna()]
        samples: dict[Cell, list[dict[str, Any]]] = {}
        for record in drawn.to_dict("records"):
            record["sample"] = int(record["sample"])
            samples.setdefault(tuple(record[c] for c in IMAGE_CELL), []).append(record)
        return cls(cell_keys(frame), aggregated, samples)

    def missing(self, plan: Plan, run_dir: Path, cell: Cell, ctx: ImageContext) -> list[int]:
        """The draws of a stochastic ``cell`` still to make: those without rows, and, while its
        aggregates are missing, those whose kept SR image is gone (they are drawn again)."""
        n = plan.config.samples
        todo = [s for s in range(n) if (*cell, s) not in self.done]
        if n == 1 or cell in self.aggregated:
            return todo
        failed = {r["sample"] for r in self.samples.get(cell, []) if _failed(r)}
        for s in sorted(set(range(n)) - set(todo) - failed):
            kept = run_image_path(
                run_dir,
                _SAMPLES_DIR,
                draw_context(plan, ctx, s),
                cell[-1],
                draw=True,
                suffix=".npy",
            )
            if not kept.is_file():
                todo.append(s)
        return sorted(todo)


def _failed(record: dict[str, Any]) -> bool:
    return isinstance(record.get("error"), str)


def draw_context(plan: Plan, ctx: ImageContext, sample: int) -> ImageContext:
    """``ctx`` for draw ``sample``: its index and :func:`sample_seed`."""
    seed = sample_seed(
        plan.config.seed, ctx.dataset, ctx.image_id, ctx.scale, ctx.degradation, sample
    )
    return ImageContext(ctx.dataset, ctx.image_id, ctx.scale, ctx.degradation, sample, seed)


Scorer = Callable[[np.ndarray, np.ndarray], float]


def load_diversity(plan: Plan, log: Log) -> Scorer | None:
    """LPIPS for the pairwise diversity of stochastic draws (the run's own when it scores
    LPIPS), or ``None`` with one skip line when its weights or package are missing here."""
    if not any(draws(plan, label) > 1 for label in plan.methods):
        return None
    if "lpips" in plan.scorers:
        return plan.scorers["lpips"]
    info = METRICS.get("lpips")
    try:
        for name in info.weights:  # absent weights: said before torch is imported (seconds)
            locate(name)
        return info.load(plan.device)
    except (MissingWeightsError, MissingDependencyError) as exc:
        note = f"skipped LPIPS diversity of stochastic samples: {str(exc).splitlines()[0]}"
        if note not in plan.skipped:
            plan.skipped.append(note)
            log(f"warning: {note}")
        return None


def aggregate_rows(
    plan: Plan,
    base: dict[str, Any],
    label: str,
    records: Iterable[dict[str, Any]],
    images: dict[int, np.ndarray | None],
    lpips: Scorer | None,
) -> list[dict[str, Any]]:
    """The ``mean``, ``best`` and ``diversity`` rows of one image of a stochastic method from
    the rows of its N draws (``records``) and their SR images (``images``, by draw); a failed or
    missing draw makes each of them an error row."""
    n = plan.config.samples
    by_draw: dict[int, list[dict[str, Any]]] = {}
    for record in records:
        by_draw.setdefault(int(record["sample"]), []).append(record)
    failed = sorted(s for s, rs in by_draw.items() if any(_failed(r) for r in rs))
    absent = sorted(set(range(n)) - set(by_draw))
    gone = sorted(s for s in range(n) if s not in failed and images.get(s) is None)
    error = None
    if failed or absent:
        error = (
            f"{len(failed) + len(absent)} of {n} samples failed or are missing ({failed + absent})"
        )
    scale = base["scale"]
    metrics = [*plan.metrics, *([RUNTIME] if plan.methods[label].card.timed else [])]
    out = []
    for metric in metrics:
        values = [r["value"] for rs in by_draw.values() for r in rs if r["metric"] == metric]
        mean = math.nan if error or len(values) != n else float(np.mean(values))
        out.append(_aggregate(plan, base, label, metric, "mean", mean, error))
        best = math.nan
        if math.isnan(mean):
            pass
        elif metric == RUNTIME:  # best-of-N costs all N draws
            best = float(np.sum(values))
        else:
            best = float(max(values) if METRICS.get(metric).higher_is_better else min(values))
        out.append(_aggregate(plan, base, label, metric, "best", best, error))
    error = error or (f"the SR images of samples {gone} are gone" if gone else None)
    rgb = [] if error else [plan.protocol.rgb(images[s], scale) for s in range(n)]  # type: ignore[arg-type]
    std = float(np.std(np.stack(rgb).astype(np.float64), axis=0).mean()) if rgb else math.nan
    diversity = {PIXEL_STD: (std, PIXEL_STD_VERSION)}
    if lpips is not None:
        pairs = [lpips(a, b) for a, b in itertools.combinations(rgb, 2)]
        diversity["lpips"] = (
            float(np.mean(pairs)) if pairs else math.nan,
            METRICS.get("lpips").version,
        )
    for metric, (value, version) in diversity.items():
        out.append(
            {
                **base,
                "method": label,
                "method_version": plan.methods[label].version_at(scale),
                "metric": metric,
                "metric_version": version,
                "protocol": plan.protocol.rgb_key(scale),
                "value": value,
                "error": error,
                "aggregate": "diversity",
                "samples": n,
            }
        )
    return out


def _aggregate(
    plan: Plan,
    base: dict[str, Any],
    label: str,
    metric: str,
    kind: str,
    value: float,
    error: str | None,
) -> dict[str, Any]:
    return {
        **row(plan, base, label, metric, value, error),
        "aggregate": kind,
        "samples": plan.config.samples,
    }
