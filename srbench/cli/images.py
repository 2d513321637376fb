"""Commands on folders of images: ``sample``, ``degrade``, ``upscale`` and ``eval``."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from srbench.cli.base import MethodFile, Progress, Scale, command, csv_items, fail, log

if TYPE_CHECKING:
    from srbench.run import FolderResult


class OutputFormat(str, Enum):
    """Formats of ``srbench eval``'s output (those of :meth:`srbench.run.EvalResult.render`)."""

    table = "table"
    csv = "csv"
    json = "json"


@command()
def sample(
    out: Annotated[Path, typer.Option(help="Folder to write the sample HR PNGs to.")],
) -> None:
    """Write the built-in offline sample (5 HR images bundled with scikit-image)."""
    from srbench.catalog import write_sample

    paths = write_sample(out)
    log(f"wrote {len(paths)} sample HR images to {out}")


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
    from srbench.run import degrade_folder

    result = degrade_folder(hr, out, scale, degradation, seed, dataset, progress)
    _report_folder(result, "LR images", out)


@command()
def upscale(
    lr: Annotated[Path, typer.Option(help="Folder of LR images.")],
    scale: Scale,
    out: Annotated[Path, typer.Option(help="Folder for the upscaled PNGs.")],
    method: Annotated[
        str, typer.Option("--method", "-m", help="A method spec (see srbench ls methods).")
    ] = "bicubic",
    method_file: MethodFile = None,
    progress: Progress = True,
) -> None:
    """Upscale LR images with a method (default: MATLAB-exact bicubic)."""
    from srbench.methods import load_method_file
    from srbench.run import upscale_folder

    for target in method_file or ():
        load_method_file(target)

    result = upscale_folder(lr, out, scale, method, progress)
    _report_folder(result, "SR images", out)


def _report_folder(result: FolderResult, what: str, out: Path) -> None:
    log(f"wrote {len(result.written)} {what} to {out}")
    for path, message in result.failures:
        log(f"failed: {path.name}: {message}")
    if result.failures:
        fail(f"{len(result.failures)} image(s) failed; the others were written.")


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
    device: Annotated[str, typer.Option(help="For LPIPS: auto, cpu, cuda or cuda:N.")] = "auto",
    progress: Progress = False,
) -> None:
    """Score SR images against HR images: per-image values and the mean."""
    from srbench.metrics import get_protocol
    from srbench.run import evaluate_folders

    chosen = get_protocol(protocol, shave)
    result = evaluate_folders(
        sr, hr, scale, chosen, csv_items(metrics), strip_suffix, progress, device
    )
    typer.echo(result.render(output_format.value))
    for image_id, message in result.failures:
        log(f"failed: {image_id}: {message}")
    if result.failures:
        fail(
            f"{len(result.failures)} of {result.n_images} image(s) could not be scored; "
            f"the mean above is over the other {len(result.scores)}."
        )
