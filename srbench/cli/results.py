"""Commands over the results store: ``leaderboard``, ``baseline``, ``check`` and ``report``
(``plot`` is in :mod:`srbench.cli.figures`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from srbench.cli.base import EXIT_FAILED, ResultsDir, command, csv_items, fail, log, parse_scales
from srbench.cli.store import warns_once
from srbench.specs import split_specs

if TYPE_CHECKING:
    import pandas as pd

#: The paired tests over images (``srbench.leaderboard.stats.TESTS``; kept here so that the help
#: text does not import scipy; a test checks that they agree).
PAIRED_TESTS = ("wilcoxon", "bootstrap")
#: The filters ``--wide`` applies to the rows before pivoting (the pivot's own axes).
WIDE_AXES = ("dataset", "scale")

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
    str, typer.Option("--test", help=f"Paired test over images: {' or '.join(PAIRED_TESTS)}.")
]
Alpha = Annotated[float, typer.Option(min=0.0, max=1.0, help="Significance level.")]
TableFormat = Annotated[str, typer.Option("--format", "-f", help="text, csv, md or latex.")]
WideMetric = Annotated[
    str | None,
    typer.Option("--wide", help="One metric as a paper-style table: methods x (dataset, scale)."),
]
Paper = Annotated[
    bool,
    typer.Option(
        "--paper",
        help="Compare with the values the methods' papers publish: srbench, paper, difference "
        "and a flag beyond 0.05 dB PSNR or 0.0005 SSIM (bicubic, protocol y, catalog images).",
    ),
]
ShowCi = Annotated[bool, typer.Option("--ci/--no-ci", help="Show bootstrap intervals.")]
Confidence = Annotated[float, typer.Option(min=0.5, max=0.999, help="Interval level.")]
Boot = Annotated[int, typer.Option(min=100, help="Bootstrap resamples.")]


def filters(
    datasets: str | None,
    scale: str | None,
    degradations: str | None,
    seed: int | None,
    protocol: str | None,
) -> dict[str, Any]:
    """The row filters of the results commands, as the library's keyword arguments.

    Example:
        >>> filters("set5,set14", "2,4", None, None, "y")
        {'protocol': 'y', 'dataset': ['set5', 'set14'], 'scale': [2, 4]}
    """
    out: dict[str, Any] = {"seed": seed, "protocol": protocol}
    if datasets:
        out["dataset"] = list(csv_items(datasets))
    if scale:
        out["scale"] = list(parse_scales(scale))
    if degradations:
        out["degradation"] = split_specs(degradations)
    return {k: v for k, v in out.items() if v is not None}


def load(results: Path, runs: str | None) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The rows and manifests of ``runs`` (default: every run) in the store ``results``.

    Raises:
        typer.Exit: The store has no rows (status 2, after saying how to fill it).
    """
    from srbench.store import load_store

    frame, manifests = load_store(results, list(csv_items(runs)) if runs else None)
    if frame.empty:
        fail(f"no results in {results / 'runs'}; run `srbench run` (or pass --results DIR).")
    return frame, manifests


def choice(value: str, choices: tuple[str, ...], option: str) -> str:
    """``value`` if it is one of ``choices``; otherwise exit 2 naming ``option`` and them."""
    if value not in choices:
        fail(f"{option} {value!r}: choose one of {', '.join(choices)}.")
    return value


@command("leaderboard")
@warns_once
def leaderboard_(
    results: ResultsDir = Path("results"),
    runs: Runs = None,
    datasets: DatasetFilter = None,
    scale: ScaleFilter = None,
    degradations: DegradationFilter = None,
    seed: SeedFilter = None,
    protocol: ProtocolFilter = None,
    metrics: MetricsFilter = None,
    output_format: TableFormat = "text",
    wide_metric: WideMetric = None,
    paper: Paper = False,
    ci: ShowCi = True,
    confidence: Confidence = 0.95,
    boot: Boot = 2000,
    test: PairedTestName = "wilcoxon",
    alpha: Alpha = 0.05,
) -> None:
    """Mean per method with bootstrap intervals, ranks and paired tests, one table per dataset,
    scale and degradation (or --wide METRIC for one paper-style pivot, --paper for the
    comparison with the papers' values)."""
    from srbench.leaderboard import FORMATS, leaderboards

    fmt = choice(output_format, FORMATS, "--format")
    if paper and wide_metric:
        fail("--paper and --wide are two different tables: pass one of them.")
    frame, manifests = load(results, runs)
    selected = filters(datasets, scale, degradations, seed, protocol)
    if wide_metric:
        typer.echo(_wide_table(frame, wide_metric, fmt, selected))
        return
    from srbench.store import dataset_sizes

    boards = leaderboards(
        frame,
        sizes=dataset_sizes(manifests),
        metrics=list(csv_items(metrics)) if metrics else None,
        confidence=confidence,
        n_boot=boot,
        test=choice(test, PAIRED_TESTS, "--test"),
        alpha=alpha,
        **selected,
    )
    if not boards and boards.skipped:
        fail(
            "no table can be shown: each one mixes results measured differently (the warnings "
            "above name the runs involved); select runs measured alike with --runs."
        )
    if not boards:
        fail("no results match the filters; `srbench ls runs` lists what the store has.")
    if paper:
        _paper_table(boards, manifests, fmt)
        return
    typer.echo(_boards_text(boards, fmt, ci))


def _paper_table(boards: list[Any], manifests: list[dict[str, Any]], fmt: str) -> None:
    """``leaderboard --paper``: the comparison (CSV keeps its notes on stderr, so that stdout
    stays one table)."""
    from srbench.leaderboard.paper import format_paper, paper_comparison

    comparison = paper_comparison(boards, manifests)
    if comparison.rows.empty and not comparison.notes:
        fail(
            "no method of the selected results declares published values for these datasets "
            "and scales (a method card's `published`; see methods/README.md)."
        )
    typer.echo(format_paper(comparison, fmt))
    if fmt == "csv":
        for note in comparison.notes:
            log(f"note: {note}")


def _wide_table(frame: pd.DataFrame, metric: str, fmt: str, selected: dict[str, Any]) -> str:
    """``leaderboard --wide``: one metric, methods x (dataset, scale)."""
    from srbench.leaderboard import format_wide, wide

    for column in WIDE_AXES:  # the pivot's columns: narrowed before it is made
        if column in selected:
            frame = frame[frame[column].isin(selected[column])]
    table = wide(frame, metric, **{k: v for k, v in selected.items() if k not in WIDE_AXES})
    return format_wide(table, metric, fmt)


def _boards_text(boards: list[Any], fmt: str, ci: bool) -> str:
    """The leaderboards in ``fmt``: one CSV with one header, or titled tables."""
    from srbench.leaderboard import format_leaderboard

    if fmt == "csv":
        texts = [format_leaderboard(b, fmt) for b in boards]
        return "\n".join([texts[0], *(t.split("\n", 1)[1] for t in texts[1:])])
    heading = {"md": "### {}\n", "latex": "% {}\n", "text": ""}[fmt]
    return "\n\n".join(heading.format(b.title()) + format_leaderboard(b, fmt, ci) for b in boards)


@command()
@warns_once
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
    from srbench.check import make_baseline, write_baseline

    frame, _ = load(results, runs)
    table = make_baseline(frame, list(csv_items(metrics)) if metrics else None, per_image)
    write_baseline(table, out)
    cells = table.groupby(["dataset", "scale", "degradation", "method", "metric"]).ngroups
    log(f"wrote {len(table)} rows ({cells} cells) to {out}")


@command("check")
@warns_once
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
    from srbench.check import FAILING, check, parse_tolerances, read_baseline, render_findings

    reference = _baseline_rows(read_baseline(baseline_file), baseline_file, datasets)
    frame, _ = load(results, runs)
    findings = check(
        frame,
        reference,
        parse_tolerances(tol),
        alpha=alpha,
        test=choice(test, PAIRED_TESTS, "--test"),  # type: ignore[arg-type]
    )
    text = render_findings(findings, show_all)
    typer.echo(text)
    _append_summary(text, summary_file)
    if any(f.status in FAILING for f in findings):
        raise typer.Exit(EXIT_FAILED)


def _append_summary(text: str, path: Path | None) -> None:
    """Append ``text`` to ``path``, else to ``$GITHUB_STEP_SUMMARY`` when it is set."""
    target = path or (
        Path(os.environ["GITHUB_STEP_SUMMARY"]) if os.environ.get("GITHUB_STEP_SUMMARY") else None
    )
    if target:
        with target.open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")


def _baseline_rows(reference: pd.DataFrame, path: Path, datasets: str | None) -> pd.DataFrame:
    """The baseline's rows of ``--datasets`` (all without it); exit 2 on a dataset it lacks."""
    if not datasets:
        return reference
    wanted = set(csv_items(datasets))
    unknown = wanted - set(reference["dataset"])
    if unknown:
        fail(
            f"--datasets {', '.join(sorted(unknown))}: not in {path} "
            f"(it has {', '.join(sorted(set(reference['dataset'])))})."
        )
    return reference[reference["dataset"].isin(wanted)]


@command()
@warns_once
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
    from srbench.report import ReportOptions, render_report

    options = ReportOptions(
        title=title,
        visuals=visuals,
        crop=crop,
        test=choice(test, PAIRED_TESTS, "--test"),
        alpha=alpha,
    )
    path = render_report(
        results,
        out,
        runs=list(csv_items(runs)) if runs else None,
        options=options,
        **filters(datasets, scale, degradations, seed, protocol),
    )
    log(f"wrote {path} and {len(list((out / 'figures').glob('*.png')))} figures")
