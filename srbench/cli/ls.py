"""``srbench ls``: what srbench knows. Each listing is rendered by the package that owns it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from srbench.cli.base import MethodFile, ResultsDir, command, fail
from srbench.cli.store import warns_once

#: What ``srbench ls`` lists, in the order its messages name them.
LISTINGS = ("datasets", "methods", "runs", "degradations", "metrics", "protocols")


@command("ls")
@warns_once
def ls(
    what: Annotated[
        str,
        typer.Argument(help="datasets, methods, runs, degradations, metrics or protocols."),
    ],
    results: ResultsDir = Path("results"),
    method_file: MethodFile = None,
) -> None:
    """List what srbench knows (datasets with their cache state; runs in --results; methods
    with those of --method-file files)."""
    if what not in LISTINGS:
        fail(f"cannot list {what!r}; choose one of {', '.join(LISTINGS)}.")
    if method_file and what != "methods":
        fail(f"--method-file adds methods; it does not change `srbench ls {what}`.")
    typer.echo("\n".join(_lines(what, results, tuple(method_file or ()))))


def _lines(what: str, results: Path, method_files: tuple[str, ...] = ()) -> list[str]:
    """The lines of one listing; only the package that renders it is imported."""
    if what == "datasets":
        from srbench.catalog.listing import dataset_lines

        return dataset_lines()
    if what == "methods":
        from srbench.methods.listing import method_lines

        return method_lines(method_files)
    if what == "runs":
        from srbench.store.listing import run_lines

        return run_lines(results)
    if what == "degradations":
        from srbench.degradations.listing import degradation_lines

        return degradation_lines()
    from srbench.metrics.listing import metric_lines, protocol_lines

    return metric_lines() if what == "metrics" else protocol_lines()
