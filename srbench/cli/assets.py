"""Commands that fetch what benchmarks need into the caches: ``download`` (datasets) and
``weights`` (pretrained files of metrics and methods)."""

from __future__ import annotations

from typing import Annotated

import typer

from srbench.cli.base import EXIT_FAILED, AcceptLicence, Progress, command, csv_items, log
from srbench.errors import DownloadError, LicenceError, MissingWeightsError


@command()
def download(
    datasets: Annotated[
        str, typer.Option("--datasets", "-D", help="Comma-separated catalog names, or all.")
    ] = "all",
    accept_licence: AcceptLicence = None,
    progress: Progress = True,
) -> None:
    """Fetch and verify catalog datasets into the cache (SRBENCH_CACHE)."""
    from srbench.catalog import ensure_dataset, expand_datasets, load_catalog

    catalog = load_catalog()
    tokens = csv_items(datasets)
    implicit = set(expand_datasets(["all"])) if "all" in (t.lower() for t in tokens) else set()
    accepted = {a.lower() for a in accept_licence or []}
    for name in expand_datasets(tokens):
        spec = catalog.get(name)
        try:
            folder = ensure_dataset(
                spec, accept_licence=spec.id.lower() in accepted, progress=progress
            )
        except LicenceError:
            if name not in implicit:
                raise
            log(f"skipped {spec.id}: its licence needs --accept-licence {spec.id}")
            continue
        log(f"{spec.id}: {spec.images} images verified in {folder}")


@command()
def weights(
    names: Annotated[
        list[str] | None, typer.Argument(help="Weight names (default: every declared one).")
    ] = None,
    fetch: Annotated[
        bool,
        typer.Option("--fetch", help="Download the missing files first (SRBENCH_MIRROR applies)."),
    ] = False,
    verify: Annotated[
        bool, typer.Option("--verify", help="Check each file's SHA-256 against the published one.")
    ] = False,
    progress: Progress = True,
) -> None:
    """List the pretrained weights metrics need and where they are; exit 1 if any is missing.

    Files live in the torch hub cache (TORCH_HOME); srbench downloads them only with --fetch.
    """
    from srbench.weights import WEIGHTS, status
    from srbench.weights.listing import problem_lines, status_table

    wanted = [WEIGHTS.canonical(n) for n in names] if names else None  # unknown name: exit 2
    if fetch:
        _fetch_missing(wanted, progress)
    states = status(wanted, verify=verify)
    typer.echo(status_table(states, verify))
    problems = problem_lines(states)
    for line in problems:
        log(line)
    if problems:
        raise typer.Exit(EXIT_FAILED)


def _fetch_missing(names: list[str] | None, progress: bool) -> None:
    """Download each absent, downloadable weight file; a failed download is reported and the
    others are still fetched."""
    from srbench.weights import WEIGHTS, fetch, status

    for state in status(names):
        spec = WEIGHTS.get(state.name)
        if state.present or spec.packaged:
            continue
        log(f"fetching {state.name} from {spec.url}")
        try:
            path = fetch(state.name, progress=progress)
        except (DownloadError, MissingWeightsError) as exc:  # MissingWeightsError: by hand only
            log(f"failed: {state.name}: {exc}")
            continue
        log(f"{state.name}: saved {path}")
