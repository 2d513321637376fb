"""Tables from the results store (pure pandas; no file IO)."""

from __future__ import annotations

import pandas as pd

__all__ = ["summary"]

_CELL = ["dataset", "scale", "degradation", "method"]
_GROUP = ["dataset", "scale", "degradation", "protocol", "method"]


def summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean per (dataset, scale, degradation, method) of each metric, with image counts.

    Failed cells are not averaged; ``failed`` counts them. The fidelity protocol (such as
    ``y-shave4``) is part of the index, so numbers under different protocols never share a row.

    Example:
        >>> rows = pd.DataFrame({"dataset": ["a"] * 2, "scale": [4] * 2, "image": ["x", "y"],
        ...     "degradation": ["bicubic"] * 2, "method": ["m"] * 2, "metric": ["psnr"] * 2,
        ...     "protocol": ["y-shave4"] * 2, "value": [30.0, 32.0], "error": [None, None]})
        >>> float(summary(rows)["psnr"].iloc[0])
        31.0
    """
    if scores.empty:
        return pd.DataFrame()
    ok = scores[scores["error"].isna()]
    # runtime rows carry the device as their protocol; they join the table by cell, not protocol
    quality = ok[ok["metric"] != "runtime"]
    table = quality.pivot_table(index=_GROUP, columns="metric", values="value", aggfunc="mean")
    images = quality.groupby(_GROUP)["image"].nunique().rename("images")
    table = table.join(images)
    runtime = ok[ok["metric"] == "runtime"].groupby(_CELL)["value"].mean().rename("runtime")
    table = table.join(runtime, on=_CELL)
    failed = scores[scores["error"].notna()].groupby(_CELL)["image"].nunique().rename("failed")
    table = table.join(failed, on=_CELL, how="outer") if len(table) else failed.to_frame()
    table["failed"] = table["failed"].fillna(0).astype(int)
    table.columns.name = None
    return table
