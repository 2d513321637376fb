"""What a leaderboard's numbers were measured under, and the refusal of rows measured
differently.

:func:`table_context` collects a table's dataset, degradation and metric versions and protocols;
a table whose rows disagree on one of them raises :class:`IncomparableError` naming the values,
the runs (and methods) holding each, and how to select one (``--runs``, ``--protocol``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from srbench.leaderboard.selection import RUNTIME, IncomparableError

__all__ = ["table_context"]


def _single(rows: pd.DataFrame, column: str, what: str, hint: str) -> str:
    """The one value of ``column`` in ``rows`` ("" when none): several must not share a table.

    Raises:
        IncomparableError: Several values, with the runs (and methods) holding each one.
    """
    values = sorted(map(str, rows[column].dropna().unique()))
    if len(values) > 1:
        raise IncomparableError(
            f"{what} mixes {column} {', '.join(values)}; {hint} {_holders(rows, column)}"
        )
    return values[0] if values else ""


def _holders(rows: pd.DataFrame, column: str) -> str:
    """Which runs (and methods) hold each value of ``column``, and the ``--runs`` of each."""
    parts = []
    held = rows.dropna(subset=[column])
    for value, part in held.groupby(held[column].astype(str), sort=True):
        runs = ",".join(sorted(part["run_id"].astype(str).unique()))
        methods = ", ".join(sorted(part["method"].astype(str).unique()))
        parts.append(f"{value} is in --runs {runs} ({methods})")
    return "Found: " + "; ".join(parts) + "."


def table_context(rows: pd.DataFrame, metrics: list[str], set_metrics: list[str]) -> dict[str, Any]:
    """What every number of the table was measured under (:attr:`Leaderboard.context`; the
    image count and test settings are added once the methods are counted)."""
    first = rows.iloc[0]
    hint = "select runs measured alike with --runs."
    context: dict[str, Any] = {
        "dataset": first["dataset"],
        "scale": int(first["scale"]),
        "degradation": first["degradation"],
        "seed": int(first["seed"]),
        "dataset_version": _single(rows, "dataset_version", f"{first['dataset']}", hint),
        "degradation_version": _single(rows, "degradation_version", "the degradation", hint),
        "metrics": metrics,
        "protocols": {},
        "metric_versions": {},
        "runs": sorted(rows["run_id"].unique()),
    }
    for metric in metrics:
        of_metric = rows[rows["metric"] == metric]
        context["protocols"][metric] = _single(
            of_metric,
            "protocol",
            f"the {metric} column",
            "choose one with --protocol (y or rgb)." if metric != RUNTIME else hint,
        )
        context["metric_versions"][metric] = _single(
            of_metric, "metric_version", f"the {metric} column", "re-run the older methods."
        )
    context["set_metrics"] = set_metrics
    return context
