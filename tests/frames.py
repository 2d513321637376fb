"""Hand-built results-store rows and runs, for tests of everything that reads the store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from srbench.store import COLUMNS, SET_IMAGE, RunWriter

#: The protocol a metric's rows get unless ``protocol=`` says otherwise: RGB-defined metrics
#: are measured under their own protocol whatever ``--protocol`` was (as a run records them).
PROTOCOLS = {
    "lpips": "rgb-shave4",
    "lpips-vgg": "rgb-shave4",
    "fid": "rgb-shave4-patch64-stride64",
    "kid": "rgb-shave4-patch64-stride64-subsets100x1000",
}


def _per_method(value: Any, method: str) -> Any:
    return value.get(method) if isinstance(value, Mapping) else value


def rows(
    values: Mapping[str, Sequence[float] | float],
    metric: str = "psnr",
    *,
    images: Sequence[str] | None = None,
    run_id: str = "r1",
    samples: int | Mapping[str, int] | None = None,
    spread: float | Mapping[str, float] | None = None,
    **fields: Any,
) -> pd.DataFrame:
    """Store rows: ``values[method][i]`` is the metric's value on image ``images[i]``.

    A number instead of a sequence makes the method's one set-level row (FID, KID: ``image``
    is ``store.SET_IMAGE``) with ``samples`` and ``spread`` (a number, or one per method).
    Other columns default to one Set5 x4 bicubic table under protocol y-shave4 (for LPIPS,
    FID and KID their RGB protocol, :data:`PROTOCOLS`); ``fields`` overrides them (a NaN value
    with an ``error`` makes a failed cell).
    """
    out = []
    for method, series in values.items():
        if np.ndim(series) == 0:  # one value for the whole set
            names, series = [SET_IMAGE], [series]  # type: ignore[list-item]
            extra = {
                "samples": _per_method(samples, method),
                "spread": _per_method(spread, method),
            }
        else:
            names = images or [f"img{i:02d}" for i in range(len(series))]  # type: ignore[arg-type]
            extra = {}
        for image, value in zip(names, series, strict=True):  # type: ignore[arg-type]
            row = {
                "run_id": run_id,
                "dataset": "Set5",
                "dataset_version": "1",
                "image": image,
                "scale": 4,
                "degradation": "bicubic",
                "degradation_version": "1",
                "seed": 0,
                "method": method,
                "method_version": "1",
                "metric": metric,
                "metric_version": "1",
                "protocol": PROTOCOLS.get(metric, "y-shave4"),
                "value": float(value),
                "error": None,
                **extra,
            }
            out.append({**row, **fields})
    return pd.DataFrame(out, columns=list(COLUMNS))


def write_run(
    results: Path, frame: pd.DataFrame, run_id: str, started: str, **manifest: Any
) -> Path:
    """Store ``frame`` as the finished run ``run_id`` that started at ``started`` (ISO time)."""
    writer = RunWriter.create(
        results, {"run_id": run_id, "status": "complete", "started": started, **manifest}
    )
    writer.add(frame.drop(columns="run_id").to_dict("records"))
    writer.finish()
    writer.close()
    return writer.path
