"""``srbench train``: train a method, then install its weights as a tag."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from srbench.cli.base import MIN_SCALE, AcceptLicence, Progress, command, fail, log

if TYPE_CHECKING:
    from srbench.training.loop import TrainResult

Method = Annotated[str, typer.Argument(help="A trainable method (srbench ls methods).")]
Data = Annotated[str, typer.Option("--data", help="Training images: div2k-train, or a folder.")]
TrainScale = Annotated[
    int | None,
    typer.Option(
        "--scale",
        "-s",
        help="Scale to train, at least 2 (default: the --config file's, else 4 where the method "
        "has it, else its largest; printed).",
    ),
]
Degradation = Annotated[
    str | None, typer.Option(help="LR maker, as in srbench run (default: the config's).")
]
Config = Annotated[
    Path | None, typer.Option(help="YAML config (default: methods/<method>/x<scale>.yaml).")
]
Iters = Annotated[int | None, typer.Option(min=1, help="Iterations (overrides the config).")]
Out = Annotated[
    Path | None, typer.Option(help="Run folder (default: runs/train/<method>-x<scale>).")
]
TimeLimit = Annotated[
    float | None,
    typer.Option(
        min=1, help="Stop after this many seconds of training, validate, save and export."
    ),
]
Resume = Annotated[bool, typer.Option(help="Continue the training in --out.")]
Validation = Annotated[
    str | None, typer.Option(help="Held-out images for PSNR/SSIM (set5, or a folder).")
]
Tag = Annotated[str, typer.Option(help="Install the weights as METHOD:tag=TAG ('' to skip).")]
Device = Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")]
Workers = Annotated[
    int | None,
    typer.Option(
        min=0,
        help="DataLoader workers (default: the config's, lowered to the CPUs this process may "
        "use).",
    ),
]
Seed = Annotated[int | None, typer.Option(help="Seed (overrides the config).")]
NprocPerNode = Annotated[
    int | None,
    typer.Option(
        "--nproc-per-node",
        min=1,
        help="Train with N processes on this machine (one per GPU; DistributedDataParallel) "
        "through torch's launcher, as torchrun --standalone --nproc-per-node N -m srbench "
        "train ... does. data.batch is the global batch and must be divisible by N.",
    ),
]

#: Exit status of a training interrupted with Ctrl-C (its checkpoint is saved).
EXIT_INTERRUPTED = 130


@command("train")
def train_cmd(
    ctx: typer.Context,
    method: Method,
    data: Data,
    scale: TrainScale = None,
    degradation: Degradation = None,
    config: Config = None,
    iters: Iters = None,
    out: Out = None,
    time_limit: TimeLimit = None,
    resume: Resume = False,
    val: Validation = None,
    tag: Tag = "trained",
    device: Device = "auto",
    workers: Workers = None,
    seed: Seed = None,
    accept_licence: AcceptLicence = None,
    progress: Progress = True,
    nproc_per_node: NprocPerNode = None,
) -> None:
    """Train a method on a degradation, then install its weights and model card as a tag.

    Interrupting (Ctrl-C) saves a checkpoint; --resume continues it exactly. With --time-limit
    the weights trained so far are exported and installed too (their card says so).
    """
    from srbench.system.device import resolve_device
    from srbench.training.config import load_config
    from srbench.training.distributed import check_batch, env_rank, in_torchrun, launch
    from srbench.training.loop import train
    from srbench.weights.tags import check_tag

    if tag:
        check_tag(tag)  # before any work: the tag names a folder of the weights store
    if scale is not None and scale < MIN_SCALE:
        fail(
            f"--scale {scale}: a scale must be an integer of at least {MIN_SCALE} "
            "(super-resolution enlarges); omit --scale for the method's default."
        )
    overrides = config_overrides(degradation, iters, seed, time_limit, workers)
    settings = load_config(config, method, scale, overrides)
    if nproc_per_node and not in_torchrun():
        check_batch(settings.data.batch, nproc_per_node)  # before starting any process
        raise typer.Exit(launch(nproc_per_node, _worker_args(ctx)))
    scales = "-".join(map(str, settings.scales))
    out = out or Path("runs") / "train" / f"{settings.method}-x{scales}"
    main = env_rank() == 0  # under torchrun, rank 0 speaks for every process
    if main:
        log(
            f"training {settings.method} x{scales.replace('-', ',')}{_scale_note(scale, config)} "
            f"on {data} into {out}"
        )
    try:
        result = train(
            settings,
            data,
            out,
            resume=resume,
            device=resolve_device(device),
            tag=tag or None,
            validation=val,
            accept_licence=tuple(accept_licence or ()),
            progress=progress,
            log=log,
        )
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if main:
        _print_result(result)


def _worker_args(ctx: typer.Context) -> list[str]:
    """This command's arguments for each process the launcher starts (all but
    ``--nproc-per-node``), rebuilt from the parsed values."""
    args: list[str] = []
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if param.name == "nproc_per_node" or value is None:
            continue
        if param.param_type_name == "argument":
            args.append(str(value))
        elif getattr(param, "is_flag", False):
            flag = param.opts[0] if value else (param.secondary_opts or [None])[0]
            args += [flag] if flag else []
        else:
            for item in value if isinstance(value, list | tuple) else [value]:
                args += [param.opts[0], str(item)]
    return args


def _scale_note(scale: int | None, config: Path | None) -> str:
    """Where the trained scale came from, when ``--scale`` did not say it."""
    if scale is not None:
        return ""
    if config is not None:
        return f" (from {config}; pass --scale to choose)"
    return " (default; pass --scale to choose)"


def _print_result(result: TrainResult) -> None:
    """The exported weights and, when the training validated, the scores."""
    typer.echo(f"weights: {result.weights}")
    if result.card.get("validation"):
        typer.echo(f"validation: {json.dumps(result.card['validation'])}")


def config_overrides(
    degradation: str | None,
    iters: int | None,
    seed: int | None,
    time_limit: float | None,
    workers: int | None,
) -> dict[str, Any]:
    """The settings the command line overrides in a training config (those given).

    Example:
        >>> config_overrides("blur", None, 0, None, 2)
        {'degradation': 'blur', 'seed': 0, 'data': {'workers': 2}}
    """
    overrides: dict[str, Any] = {}
    if degradation:
        overrides["degradation"] = degradation
    if iters:
        overrides["iters"] = iters
    if seed is not None:
        overrides["seed"] = seed
    if time_limit is not None:
        overrides["time_limit"] = time_limit
    if workers is not None:
        overrides["data"] = {"workers": workers}
    return overrides
