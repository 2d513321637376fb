"""``srbench run``: the benchmark grid, and ``--resume`` of a killed run."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from srbench.cli.base import (
    EXIT_FAILED,
    EXIT_METRIC_SKIPPED,
    AcceptLicence,
    MethodFile,
    Progress,
    ResultsDir,
    command,
    csv_items,
    fail,
    log,
    parse_scales,
)
from srbench.specs import split_specs

if TYPE_CHECKING:
    from srbench.run import RunConfig, RunResult

Datasets = Annotated[
    str,
    typer.Option(
        "--datasets", "-D", help="Comma-separated: catalog names, folders, sample, or all."
    ),
]
Scales = Annotated[
    str,
    typer.Option("--scale", "-s", help="Comma-separated integers of at least 2, or all (= 2,3,4)."),
]
Degradations = Annotated[
    str,
    typer.Option(
        "--degradations",
        "-d",
        help="Comma-separated degradation specs; ';' "
        "separates specs that have parameters (blur:sigma=2;noise:sigma=10).",
    ),
]
Methods = Annotated[
    str, typer.Option("--methods", "-m", help="Comma-separated method specs, or all.")
]
Metrics = Annotated[
    str,
    typer.Option(
        help="Comma-separated metrics: psnr, ssim, lpips, lpips-vgg, brisque, and set-level "
        "fid / kid with patch options (fid:patch=64,stride=32; kid:count=16,subsets=50)."
    ),
]
ProtocolName = Annotated[str, typer.Option("--protocol", "-p", help="y or rgb.")]
Shave = Annotated[int | None, typer.Option(help="Border to ignore (default: scale).")]
Seed = Annotated[int, typer.Option(help="Seed of random degradations.")]
Device = Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")]
Tile = Annotated[int, typer.Option(help="LR tile side for large images (0: whole).")]
TileOverlap = Annotated[int, typer.Option(help="LR pixels tiles overlap by.")]
BatchSize = Annotated[int, typer.Option(min=1, help="Tiles per forward pass.")]
Timeout = Annotated[float | None, typer.Option(help="Seconds a method may spend on one image.")]
Isolate = Annotated[
    bool,
    typer.Option(
        help="Run each method in a worker process of its own: a crash or a timeout costs that "
        "image only (the worker is restarted)."
    ),
]
Workers = Annotated[
    int,
    typer.Option(
        help="Threads that read, degrade and score beside the method, and call thread-safe CPU "
        "methods such as the interpolators (0: auto, up to 4, at most the CPUs this process may "
        "use)."
    ),
]
SaveImages = Annotated[bool, typer.Option(help="Write the SR PNGs into the run.")]
RunId = Annotated[str | None, typer.Option(help="Name the run (default: time+random).")]
Samples = Annotated[
    int,
    typer.Option(
        help="Draws of each stochastic method per image (seeded; mean, best-of-N and diversity "
        "are stored too)."
    ),
]
Resume = Annotated[str | None, typer.Option(help="Continue the run RUN_ID (its stored settings).")]
Executor = Annotated[
    str | None,
    typer.Option(
        help="Where the cells run: local (this process; the default) or ray (tasks on a Ray "
        "cluster: --address, or a local Ray instance). With --resume: the run's own by default."
    ),
]
Address = Annotated[
    str | None,
    typer.Option(help="The Ray cluster of --executor ray (auto, or HOST:PORT of its head)."),
]
Offline = Annotated[bool, typer.Option(help="Never download (as SRBENCH_OFFLINE=1).")]

#: Options that only shape how a run executes or reports; everything else is stored with the run.
RESUME_OPTIONS = {"resume", "results", "progress", "offline", "executor", "address"}
#: Options that go into the RunConfig field of the same name unchanged.
_AS_GIVEN = (
    "protocol",
    "shave",
    "seed",
    "device",
    "tile",
    "tile_overlap",
    "batch_size",
    "timeout",
    "isolate",
    "workers",
    "save_images",
    "samples",
)


@command("run")
def run_(
    ctx: typer.Context,
    datasets: Datasets = "all",
    scale: Scales = "4",
    degradations: Degradations = "bicubic",
    methods: Methods = "all",
    metrics: Metrics = "psnr,ssim",
    protocol: ProtocolName = "y",
    shave: Shave = None,
    seed: Seed = 0,
    device: Device = "auto",
    tile: Tile = 0,
    tile_overlap: TileOverlap = 8,
    batch_size: BatchSize = 4,
    timeout: Timeout = None,
    isolate: Isolate = False,
    workers: Workers = 0,
    save_images: SaveImages = False,
    samples: Samples = 1,
    method_file: MethodFile = None,
    accept_licence: AcceptLicence = None,
    results: ResultsDir = Path("results"),
    run_id: RunId = None,
    resume: Resume = None,
    executor: Executor = None,
    address: Address = None,
    offline: Offline = False,
    progress: Progress = True,
) -> None:
    """Run methods on datasets, score every image, store every row.

    Exit status: 0 when everything asked for was computed; 1 when a cell failed (the rest is
    stored); 3 when the run completed without a metric whose weights or package are missing
    (`srbench weights` says how to get them); 2 on usage errors.
    """
    if offline:
        os.environ["SRBENCH_OFFLINE"] = "1"
    if resume:
        check_resume_options(ctx)
        from srbench.run import resume as resume_run

        result = resume_run(
            resume, results, progress=progress, log=log, executor=executor, address=address
        )
    else:
        from srbench.run import run

        config = run_config(ctx.params)
        if getattr(ctx.get_parameter_source("scale"), "name", "") != "COMMANDLINE":
            log(f"scale x{scale} (default; pass --scale to choose)")
        result = run(config, results, run_id=run_id, progress=progress, log=log, address=address)
    _report(result)


def check_resume_options(ctx: typer.Context) -> None:
    """Refuse options given on the command line that ``--resume`` would ignore.

    A resumed run keeps the settings stored in its manifest; only :data:`RESUME_OPTIONS` may
    be given with ``--resume``.

    Raises:
        typer.Exit: Another option was given (status 2, after naming it).
    """
    given = [
        f"--{name.replace('_', '-')}"
        for name in ctx.params
        if name not in RESUME_OPTIONS
        and getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"
    ]
    if given:
        fail(
            f"--resume continues a run with the settings stored in its manifest; drop "
            f"{', '.join(given)} (or start a new run with them)."
        )


def run_config(options: Mapping[str, Any]) -> RunConfig:
    """The :class:`~srbench.run.RunConfig` of ``srbench run``'s options.

    Args:
        options: The command's options by parameter name (``ctx.params``): the grid's lists as
            given (comma- or ';'-separated), the other settings as parsed.

    Raises:
        typer.Exit: ``--scale`` has an item that is not an integer, or one below 2.
        SrbenchError: A value out of its range (``--tile-overlap -1``), naming the option.
    """
    from srbench.config import validate
    from srbench.run import RunConfig

    settings = {
        "datasets": csv_items(options["datasets"]),
        "scales": parse_scales(options["scale"]),
        "degradations": tuple(split_specs(options["degradations"])),
        "methods": tuple(split_specs(options["methods"])),
        "metrics": tuple(split_specs(options["metrics"])),
        "method_files": tuple(options["method_file"] or ()),
        "accept_licence": tuple(options["accept_licence"] or ()),
        **{name: options[name] for name in _AS_GIVEN},
        "executor": options.get("executor") or "local",
    }
    return validate(RunConfig, settings, "command line")


def _report(result: RunResult) -> None:
    """Print the run's summary table and failures; exit 1 on failed cells, 3 on skipped
    metrics."""
    from srbench.leaderboard import summary

    table = summary(result.scores)
    typer.echo(
        table.to_string(float_format=lambda v: f"{v:.4f}", na_rep="-") if len(table) else "no rows"
    )
    log(f"run {result.run_id}: {result.path}")
    failures = result.failures
    for row in failures.head(20).itertuples():
        log(
            f"failed: {row.dataset} x{row.scale} {row.degradation} {row.method} "
            f"{row.image}: {row.error}"
        )
    if len(failures):
        log(f"{len(failures)} cell(s) failed; the rest were scored.")
        raise typer.Exit(EXIT_FAILED)
    if result.skipped_metrics:
        raise typer.Exit(EXIT_METRIC_SKIPPED)
