"""Hand-built results-store rows and runs, for tests of everything that reads the store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from srbench.store import COLUMNS, RunWriter


def rows(
    values: Mapping[str, Sequence[float]],
    metric: str = "psnr",
    *,
    images: Sequence[str] | None = None,
    run_id: str = "r1",
    **fields: Any,
) -> pd.DataFrame:
    """Store rows: ``values[method][i]`` is the metric's value on image ``images[i]``.

    Other columns default to one Set5 x4 bicubic table under protocol y-shave4; ``fields``
    overrides them (a NaN value with an ``error`` makes a failed cell).
    """
    out = []
    for method, series in values.items():
        names = images or [f"img{i:02d}" for i in range(len(series))]
        for image, value in zip(names, series, strict=True):
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
                "protocol": "y-shave4",
                "value": float(value),
                "error": None,
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
