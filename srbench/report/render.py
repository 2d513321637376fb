"""Markdown reports: leaderboards, figures, protocol, provenance and failures in one folder.

``render_report`` reads the store (through the leaderboard's selection rules) and the run
manifests and writes ``<out>/README.md`` with its figures beside it in ``<out>/figures/``.
Damaged files of the store are left out with a warning (``srbench.store``); a table whose rows
cannot be compared is left out with a note under "Tables not shown", and the rest is reported. The
text depends only on the stored results (no clock, no machine state), so a report regenerated
from the same results is byte-identical and can be committed and diffed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from srbench.errors import SrbenchError
from srbench.leaderboard.board import Leaderboard, SkippedTable, leaderboards
from srbench.leaderboard.paper import format_paper, paper_comparison
from srbench.leaderboard.pivot import wide
from srbench.leaderboard.selection import RUNTIME, select
from srbench.leaderboard.tables import format_leaderboard, format_wide, legend_line, md_escape
from srbench.report.appendix import (
    failures_section,
    protocol_section,
    provenance_section,
    skipped_section,
)
from srbench.report.comparison import comparison_grid, interesting_box
from srbench.report.drawing import save_figure
from srbench.report.plots import (
    bars,
    distributions,
    fidelity_diversity,
    perception_distortion,
    sweep,
)
from srbench.report.visuals import sr_images
from srbench.store import dataset_sizes, load_store
from srbench.system.files import atomic_path

__all__ = ["ReportOptions", "render_report"]


@dataclass(frozen=True)
class ReportOptions:
    """What a report contains.

    Attributes:
        title: The report's heading.
        visuals: Images per table shown as a zoomed side-by-side comparison (0: none). SR images
            come from ``--save-images`` or are recomputed from the run's settings.
        crop: Side of the zoomed crop, in HR pixels.
        test: Paired test of the tables (``wilcoxon`` or ``bootstrap``); ``alpha`` its level.
    """

    title: str = "srbench report"
    visuals: int = 1
    crop: int = 96
    test: str = "wilcoxon"
    alpha: float = 0.05


def _slug(*parts: object) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(map(str, parts))).strip("_") or "_"


def _anchor(text: str) -> str:
    # GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


class _Figures:
    """Saves figures under ``figures/`` and returns their Markdown image links."""

    def __init__(self, out: Path) -> None:
        self.out = out

    def add(self, name: str, caption: str, make: Callable[..., Any], *args: Any, **kw: Any) -> str:
        """Draw ``make(*args, **kw)``; a figure that cannot be drawn becomes a line saying why."""
        try:
            figure = make(*args, **kw)
        except SrbenchError as exc:
            return f"_{md_escape(caption)}: not drawn ({md_escape(exc)})._"
        path = save_figure(figure, self.out / "figures" / f"{name}.png")
        return f"![{md_escape(caption)}](figures/{path.name})"


def render_report(
    results: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    runs: Sequence[str] | None = None,
    options: ReportOptions | None = None,
    **filters: Any,
) -> Path:
    """Write a Markdown report of the results in ``results`` (or the given runs) to ``out``.

    ``filters`` (dataset, scale, degradation, seed, method, protocol) narrow what is reported.
    Returns the path of ``README.md``.
    """
    options = options or ReportOptions()
    out = Path(out)
    frame, manifests = load_store(results, runs)  # damaged files: left out, with a warning
    rows = select(frame, **filters)
    if rows.empty:
        raise SrbenchError(
            f"nothing to report: no results in {Path(results) / 'runs'} match the selection."
        )
    sizes = dataset_sizes(manifests)
    boards = leaderboards(rows, sizes=sizes, test=options.test, alpha=options.alpha)
    if not boards:
        raise SrbenchError(
            "nothing to report: no table of the selection can be compared. "
            + " ".join(s.note() for s in boards.skipped)
        )
    figures = _Figures(out)
    sections = [
        _header(options, boards, manifests),
        _summary(boards),
        _paper_section(boards, manifests),
        _not_shown(boards.skipped),
        *_dataset_sections(boards, figures, results, options),
        _sweeps(boards, figures),
        _plane(boards, figures),
        _diversity(frame, figures, filters),
        failures_section(rows),
        skipped_section(manifests),
        provenance_section(manifests),
        protocol_section(boards),
    ]
    text = "\n\n".join(s for s in sections if s).rstrip() + "\n"
    path = out / "README.md"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _header(options: ReportOptions, boards: list[Leaderboard], manifests: list[dict]) -> str:
    ended = max((str(m.get("ended") or m.get("started") or "") for m in manifests), default="")
    datasets = list(dict.fromkeys(b.context["dataset"] for b in boards))
    lines = [
        f"# {md_escape(options.title)}",
        "",
        f"{len(boards)} tables from {len(manifests)} run(s), results up to {ended or 'unknown'}. "
        "Every number is a mean over images; the protocol and versions are under each table. "
        + legend_line(boards[0].context, "**Bold**", boards),
        "",
        "Datasets: " + ", ".join(f"[{md_escape(d)}](#{_anchor(d)})" for d in datasets),
    ]
    return "\n".join(lines)


def _paper_section(boards: list[Leaderboard], manifests: list[dict]) -> str:
    """srbench against the methods' papers ("" when no reported method publishes values for a
    reported dataset and scale): the comparison table, its notes, and one verdict per method."""
    comparison = paper_comparison(boards, manifests)
    if comparison.rows.empty and not comparison.notes:
        return ""
    parts = ["## Paper reproduction", format_paper(comparison, "md")]
    verdicts = comparison.verdicts()
    if verdicts:
        parts.append(
            "\n".join(
                f"- {md_escape(method)} reproduces its paper: {md_escape(verdict)}"
                for method, verdict in verdicts.items()
            )
        )
    return "\n\n".join(parts)


def _not_shown(skipped: list[SkippedTable]) -> str:
    """The tables left out because their rows cannot be compared ("" when none was)."""
    if not skipped:
        return ""
    lines = [
        "## Tables not shown",
        "",
        "These tables mix results measured differently, so no number of theirs is reported; "
        "select the runs to compare with `--runs` (each note names them):",
        "",
        *(f"- {md_escape(s.note())}" for s in skipped),
    ]
    return "\n".join(lines)


def _quality_metrics(boards: list[Leaderboard]) -> list[str]:
    return list(dict.fromkeys(m for b in boards for m in b.metrics if m != RUNTIME))


def _per_image_metrics(boards: list[Leaderboard]) -> list[str]:
    """Quality metrics with per-image values (not FID, KID: one value per method)."""
    return [m for m in _quality_metrics(boards) if all(m not in b.set_metrics for b in boards)]


def _summary(boards: list[Leaderboard]) -> str:
    parts = ["## Summary"]
    degradations = list(dict.fromkeys(b.context["degradation"] for b in boards))
    for metric in _quality_metrics(boards):
        for degradation in degradations:
            try:
                table = wide(boards, metric, degradation=degradation)
            except SrbenchError as exc:
                parts.append(f"_{md_escape(metric)}, {md_escape(degradation)}: {md_escape(exc)}_")
                continue
            parts += [
                f"**{md_escape(metric.upper())}, {md_escape(degradation)}** "
                "(methods that scored every image)",
                format_wide(table, metric, "md"),
            ]
    return "\n\n".join(parts)


def _dataset_sections(
    boards: list[Leaderboard],
    figures: _Figures,
    results: str | os.PathLike[str],
    options: ReportOptions,
) -> list[str]:
    """One ``## <dataset>`` section per dataset: its tables with their visual comparisons, then
    its figures."""
    sections = []
    for dataset in dict.fromkeys(b.context["dataset"] for b in boards):
        mine = [b for b in boards if b.context["dataset"] == dataset]
        parts = [f"## {md_escape(dataset)}"]
        for board in mine:
            parts += [
                f"### {md_escape(board.title())}",
                format_leaderboard(board, "md", legend=False),
            ]
            parts += _visuals(board, figures, results, options)
        parts += _dataset_figures(dataset, mine, boards, figures)
        sections.append("\n\n".join(parts))
    return sections


def _dataset_figures(
    dataset: str, mine: list[Leaderboard], boards: list[Leaderboard], figures: _Figures
) -> list[str]:
    """Bars of every quality metric of ``dataset``'s tables (``mine``), and the per-image
    distribution of the first metric that has per-image values."""
    base = _slug(dataset)
    parts = [
        figures.add(
            f"{base}-{_slug(metric)}-bars",
            f"{dataset}: mean {metric} per method",
            bars,
            boards,
            metric,
            dataset=dataset,
        )
        for metric in _quality_metrics(mine)
    ]
    per_image = _per_image_metrics(mine)
    if per_image:
        parts.append(
            figures.add(
                f"{base}-{_slug(per_image[0])}-per-image",
                f"{dataset}: {per_image[0]} per image",
                distributions,
                boards,
                per_image[0],
                dataset=dataset,
            )
        )
    return parts


def _visuals(
    board: Leaderboard, figures: _Figures, results: str | os.PathLike[str], options: ReportOptions
) -> list[str]:
    methods = [m for m in board.order() if board.methods.at[m, "complete"]]
    if options.visuals <= 0 or not methods or not board.image_metrics:
        return []
    c = board.context
    parts = []
    for image in _telling_images(board, methods, options.visuals):
        run_id = board.methods.at[methods[0], "run_id"]
        try:
            hr, outputs = sr_images(
                results, run_id, c["dataset"], c["scale"], c["degradation"], image, methods
            )
        except SrbenchError as exc:
            parts.append(f"_Visual comparison of {md_escape(image)} unavailable: {md_escape(exc)}_")
            continue
        box = interesting_box(hr, min(options.crop, *hr.shape[:2]))
        scores = {
            m: {k: board.values(k).at[image, m] for k in board.image_metrics if k != RUNTIME}
            for m in methods
        }
        parts.append(
            figures.add(
                _slug(c["dataset"], f"x{c['scale']}", c["degradation"], c["seed"], image, "crops"),
                f"{board.title()}: {image}, zoomed crop",
                comparison_grid,
                hr,
                outputs,
                box,
                title=f"{board.title()}: {image}",
                scores=scores,
            )
        )
    return parts


def _telling_images(board: Leaderboard, methods: list[str], count: int) -> list[str]:
    """The images on which the methods' first metric spreads the most (where they differ)."""
    values = board.values(board.image_metrics[0])[methods].dropna()
    spread = (values.max(axis=1) - values.min(axis=1)).sort_values(ascending=False, kind="stable")
    return list(spread.index[:count])


def _sweeps(boards: list[Leaderboard], figures: _Figures) -> str:
    found = _sweep_axes(list(dict.fromkeys(b.context["degradation"] for b in boards)))
    if not found:
        return ""
    parts = ["## Degradation sweeps"]
    metrics = _quality_metrics(boards)
    for name, parameter in found:
        for metric in metrics:
            parts.append(
                figures.add(
                    _slug("sweep", name, parameter, metric),
                    f"{metric} against {name} {parameter}",
                    sweep,
                    boards,
                    metric,
                    degradation=name,
                    parameter=parameter,
                )
            )
    return "\n\n".join(parts)


def _sweep_axes(specs: Sequence[str]) -> list[tuple[str, str]]:
    """(name, parameter) pairs along which at least two stored specs differ in that one value."""
    parsed: dict[str, list[dict[str, str]]] = {}
    for spec in specs:
        name, _, params = str(spec).partition(":")
        values = dict(p.split("=", 1) for p in params.split(",") if "=" in p)
        parsed.setdefault(name, []).append(values)
    axes = []
    for name, variants in parsed.items():
        for key in sorted({k for v in variants for k in v}):
            rest = {tuple(sorted((k, x) for k, x in v.items() if k != key)) for v in variants}
            if len({v.get(key) for v in variants}) >= 2 and len(rest) == 1:
                axes.append((name, key))
    return axes


def _plane(boards: list[Leaderboard], figures: _Figures) -> str:
    metrics = _quality_metrics(boards)
    if len(metrics) < 2:
        return ""
    # perception on y (LPIPS first, else a set-level FID or KID), distortion on x
    y = next((m for m in ("lpips", "fid", "kid") if m in metrics), metrics[1])
    x = metrics[0] if metrics[0] != y else metrics[1]
    return "\n\n".join(
        [
            "## Perception–distortion",
            figures.add(
                _slug("plane", x, y),
                f"{x} against {y}, one point per method and table",
                perception_distortion,
                boards,
                x=x,
                y=y,
            ),
        ]
    )


def _diversity(frame: pd.DataFrame, figures: _Figures, filters: dict[str, Any]) -> str:
    """Fidelity against diversity for stochastic methods ("" when the store has none)."""
    if "aggregate" not in frame.columns or not (frame["aggregate"] == "diversity").any():
        return ""
    fidelity = "psnr" if (frame["metric"] == "psnr").any() else str(frame["metric"].iloc[0])
    return "\n\n".join(
        [
            "## Fidelity–diversity (stochastic methods)",
            "Each stochastic method's mean fidelity over its draws (circle) and its best-of-N "
            "(triangle) against the diversity of the draws (mean per-pixel standard deviation "
            "across them, 0..255).",
            figures.add(
                _slug("diversity", fidelity),
                f"{fidelity} against the diversity of the draws",
                fidelity_diversity,
                frame,
                fidelity=fidelity,
                **filters,
            ),
        ]
    )
