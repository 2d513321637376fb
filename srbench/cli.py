"""The ``srbench`` command line: thin commands over :mod:`srbench.api` and :mod:`srbench.evaluate`.

Exit codes: 0 success; 2 bad input or usage (unknown name, unpaired or unreadable files, wrong
sizes), after writing or printing everything that could be computed.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from srbench import __version__
from srbench.api import FolderResult, degrade_folder, upscale_folder
from srbench.degradations import DEGRADATIONS
from srbench.errors import SrbenchError
from srbench.evaluate import EvalResult, evaluate_folders
from srbench.methods import METHODS
from srbench.metrics import METRICS, PROTOCOLS, get_protocol
from srbench.sample import write_sample

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    help="Benchmark and evaluate single-image super-resolution, with the papers' protocol.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Scale = Annotated[int, typer.Option("--scale", "-s", min=1, help="Integer scale factor.")]
Progress = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")]


class OutputFormat(str, Enum):
    """Formats of ``srbench eval``'s output."""

    table = "table"
    csv = "csv"
    json = "json"


def command(name: str | None = None) -> Callable[[F], F]:
    """``app.command`` whose srbench errors print ``error: ...`` and exit 2 (the one place)."""

    def decorator(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except SrbenchError as exc:
                _fail(str(exc))

        app.command(name)(wrapper)
        return fn

    return decorator


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _report_folder(result: FolderResult, what: str, out: Path) -> None:
    typer.echo(f"wrote {len(result.written)} {what} to {out}", err=True)
    for path, message in result.failures:
        typer.echo(f"failed: {path.name}: {message}", err=True)
    if result.failures:
        _fail(f"{len(result.failures)} image(s) failed; the others were written.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"srbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """srbench: super-resolution benchmark."""


@command()
def sample(
    out: Annotated[Path, typer.Option(help="Folder to write the sample HR PNGs to.")],
) -> None:
    """Write the built-in offline sample (5 HR images bundled with scikit-image)."""
    paths = write_sample(out)
    typer.echo(f"wrote {len(paths)} sample HR images to {out}", err=True)


@command()
def degrade(
    hr: Annotated[Path, typer.Option(help="Folder of HR images.")],
    scale: Scale,
    out: Annotated[Path, typer.Option(help="Folder for the LR PNGs (named like the HR files).")],
    degradation: Annotated[
        str,
        typer.Option(
            "--degradation",
            "-d",
            help="Spec NAME[:KEY=VALUE,...]: bicubic (BI), blur:sigma=1.6[,ksize=K] (BD), "
            "noise:sigma=30 (DN).",
        ),
    ] = "bicubic",
    seed: Annotated[int, typer.Option(help="Global seed for random degradations.")] = 0,
    dataset: Annotated[
        str | None, typer.Option(help="Dataset name for seeding (default: HR folder name).")
    ] = None,
    progress: Progress = True,
) -> None:
    """Make LR images: modcrop each HR image to the scale, then degrade it."""
    result = degrade_folder(hr, out, scale, degradation, seed, dataset, progress)
    _report_folder(result, "LR images", out)


@command()
def upscale(
    lr: Annotated[Path, typer.Option(help="Folder of LR images.")],
    scale: Scale,
    out: Annotated[Path, typer.Option(help="Folder for the upscaled PNGs.")],
    method: Annotated[
        str, typer.Option("--method", "-m", help="nearest, bilinear, bicubic or lanczos.")
    ] = "bicubic",
    progress: Progress = True,
) -> None:
    """Upscale LR images with a MATLAB-exact interpolator."""
    result = upscale_folder(lr, out, scale, method, progress)
    _report_folder(result, "SR images", out)


@command("eval")
def eval_(
    sr: Annotated[Path, typer.Option(help="Folder of SR images.")],
    hr: Annotated[Path, typer.Option(help="Folder of HR images (full size; modcropped here).")],
    scale: Scale,
    protocol: Annotated[
        str, typer.Option("--protocol", "-p", help="y (papers' default) or rgb (BasicSR zoo).")
    ] = "y",
    shave: Annotated[
        int | None, typer.Option(help="Border pixels to ignore (default: the scale).")
    ] = None,
    metrics: Annotated[str, typer.Option(help="Comma-separated metrics.")] = "psnr,ssim",
    strip_suffix: Annotated[
        str, typer.Option(help="Suffix to remove from SR file stems, e.g. _x4.")
    ] = "",
    output_format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.table,
    progress: Progress = False,
) -> None:
    """Score SR images against HR images: per-image values and the mean."""
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    result = evaluate_folders(
        sr, hr, scale, get_protocol(protocol, shave), names, strip_suffix, progress
    )
    typer.echo(_render(result, output_format))
    for image_id, message in result.failures:
        typer.echo(f"failed: {image_id}: {message}", err=True)
    if result.failures:
        _fail(
            f"{len(result.failures)} of {result.n_images} image(s) could not be scored; "
            f"the mean above is over the other {len(result.scores)}."
        )


def _render(result: EvalResult, fmt: OutputFormat) -> str:
    frame = result.scores
    if fmt is OutputFormat.csv:
        return (
            frame.assign(scale=result.scale, protocol=result.protocol).to_csv(index=False).rstrip()
        )
    mean = {k: _finite_or_none(v) for k, v in result.mean().items()}
    if fmt is OutputFormat.json:
        return json.dumps(
            {
                "scale": result.scale,
                "protocol": result.protocol,
                "n_images": result.n_images,
                "n_scored": len(frame),
                "mean": mean,
                "images": [
                    {k: _finite_or_none(v) for k, v in row.items()}
                    for row in frame.to_dict("records")
                ],
                "failures": [{"image": i, "error": m} for i, m in result.failures],
            },
            indent=2,
        )
    label = "mean" if not result.failures else f"mean ({len(frame)} of {result.n_images})"
    table = frame.set_index("image")
    table.loc[label] = result.mean()
    header = f"x{result.scale}, protocol {result.protocol}, {result.n_images} images"
    return header + "\n" + table.to_string(float_format=lambda v: f"{v:.4f}")


def _finite_or_none(value: object) -> object:
    # JSON has no inf (PSNR of identical images); it is written as null.
    return None if isinstance(value, float) and not math.isfinite(value) else value


@command("ls")
def ls(
    what: Annotated[str, typer.Argument(help="degradations, metrics, protocols or methods.")],
) -> None:
    """List what srbench knows."""
    listings = {
        "degradations": lambda: [
            f"{n:10} v{d.version}  {d.description}" for n, d in DEGRADATIONS.items()
        ],
        "metrics": lambda: [
            f"{n:6} v{m.version}  {'higher' if m.higher_is_better else 'lower'} is better, "
            f"{m.level}-level  {m.description}"
            for n, m in METRICS.items()
        ],
        "protocols": lambda: [
            f"{n:4} channels={p.channels}, shave=scale" for n, p in PROTOCOLS.items()
        ],
        "methods": lambda: [f"{n:9} {m.description}" for n, m in METHODS.items()],
    }
    if what not in listings:
        _fail(f"cannot list {what!r}; choose one of {', '.join(listings)}.")
    typer.echo("\n".join(listings[what]()))


def main() -> None:
    """Entry point of the ``srbench`` console script."""
    app()
