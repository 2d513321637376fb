"""``srbench plot``: one figure from the results store, saved as a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from srbench.cli.base import ResultsDir, command, csv_items, fail, log
from srbench.cli.results import (
    DatasetFilter,
    DegradationFilter,
    ProtocolFilter,
    Runs,
    ScaleFilter,
    SeedFilter,
    choice,
    filters,
    load,
)
from srbench.cli.store import warns_once

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

#: The figures ``srbench plot`` draws.
PLOTS = ("bars", "plane", "distributions", "sweep", "grid")


@command()
@warns_once
def plot(
    kind: Annotated[str, typer.Argument(help=f"One of {', '.join(PLOTS)}.")],
    out: Annotated[Path, typer.Option(help="PNG file to write.")],
    results: ResultsDir = Path("results"),
    runs: Runs = None,
    datasets: DatasetFilter = None,
    scale: ScaleFilter = None,
    degradations: DegradationFilter = None,
    seed: SeedFilter = None,
    protocol: ProtocolFilter = None,
    metric: Annotated[
        str, typer.Option(help="Metric (bars, distributions, sweep; x of plane).")
    ] = "psnr",
    y: Annotated[str, typer.Option(help="The plane's second metric.")] = "lpips",
    sweep_of: Annotated[
        str, typer.Option("--sweep", help="NAME:PARAMETER varied by a sweep.")
    ] = "noise:sigma",
    image: Annotated[str | None, typer.Option(help="Image id of the grid.")] = None,
    methods: Annotated[str | None, typer.Option(help="Methods of the grid (default: all).")] = None,
    crop: Annotated[int, typer.Option(min=16, help="Grid crop side in HR pixels.")] = 96,
) -> None:
    """Draw one figure from the results and save it as a PNG."""
    from srbench.report import plots

    choice(kind, PLOTS, "plot")
    frame, _ = load(results, runs)
    selected = filters(datasets, scale, degradations, seed, protocol)
    if kind == "grid":
        figure = _grid_figure(results, frame, selected, image, methods, crop)
    elif kind == "bars":
        figure = plots.bars(frame, metric, **selected)
    elif kind == "plane":
        figure = plots.perception_distortion(frame, x=metric, y=y, **selected)
    elif kind == "distributions":
        figure = plots.distributions(frame, metric, **selected)
    else:
        name, _, parameter = sweep_of.partition(":")
        figure = plots.sweep(
            frame,
            metric,
            degradation=name,
            parameter=parameter or "sigma",
            **{k: v for k, v in selected.items() if k != "degradation"},
        )
    log(f"wrote {plots.save_figure(figure, out)}")


def _grid_figure(
    results: Path,
    frame: pd.DataFrame,
    selected: dict[str, Any],
    image: str | None,
    methods: str | None,
    crop: int,
) -> Figure:
    """``plot grid``: zoomed crops of one image's SR outputs, for one leaderboard table."""
    from srbench.leaderboard import leaderboard
    from srbench.report import plots
    from srbench.report.visuals import sr_images

    board = leaderboard(frame, **selected)  # one table: the grid shows one dataset/scale/degr.
    c = board.context
    names = list(csv_items(methods)) if methods else board.order()
    if image is None:
        known = ", ".join(board.values(board.image_metrics[0]).index[:8])
        fail(f"plot grid needs --image (one of {known}, ...).")
    hr, outputs = sr_images(
        results,
        board.methods.at[names[0], "run_id"],
        c["dataset"],
        c["scale"],
        c["degradation"],
        image,
        names,
    )
    box = plots.interesting_box(hr, min(crop, *hr.shape[:2]))
    return plots.comparison_grid(hr, outputs, box, title=f"{board.title()}: {image}")
