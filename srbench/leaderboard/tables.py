"""Leaderboards as text, CSV, Markdown and LaTeX.

The markdown and LaTeX tables mark the best value of each column in bold (following the metric's
direction) and put a dagger on methods the paired test cannot tell from the best; every table
is followed by the protocol and versions it was measured under. Set-level metrics (FID, KID)
show their one value without interval or dagger (KID as ``value ± spread``, the standard
deviation over its subsets), and a double dagger marks a value from fewer samples than the
metric needs. Names come from users and image files, so they are escaped for the target format
(:mod:`srbench.leaderboard.escaping`, whose functions this module re-exports): Markdown and
LaTeX markup, and in CSV every text cell a spreadsheet would run as a formula.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pandas as pd

from srbench.leaderboard.board import Leaderboard
from srbench.leaderboard.escaping import (
    csv_text,
    latex_escape,
    md_escape,
    spreadsheet_escape,
    spreadsheet_safe,
    spreadsheet_unescape,
)
from srbench.leaderboard.selection import direction
from srbench.metrics import METRICS
from srbench.store import IDENTITY

__all__ = [
    "FORMATS",
    "csv_text",
    "format_leaderboard",
    "format_wide",
    "latex_escape",
    "legend_line",
    "md_escape",
    "protocol_line",
    "spreadsheet_escape",
    "spreadsheet_safe",
    "spreadsheet_unescape",
]

FORMATS = ("text", "csv", "md", "latex")
#: Decimals shown per metric (papers print PSNR to 2 and SSIM to 4); CSV keeps full precision.
DIGITS = {"psnr": 2, "ssim": 4, "runtime": 4, "fid": 2}
DAGGER = "†"
#: Marks a set-level value computed from fewer samples than its metric needs.
UNRELIABLE = "‡"
PLUS_MINUS = "±"
CSV_COLUMNS = [
    *IDENTITY,
    "mean",
    "ci_low",
    "ci_high",
    "samples",
    "spread",
    "reliable",
    "images",
    "rank",
    "p_value",
    "differs",
    "complete",
]


def _number(metric: str, value: float) -> str:
    return (
        "-" if value is None or not math.isfinite(value) else f"{value:.{DIGITS.get(metric, 4)}f}"
    )


def _header(metric: str) -> str:
    higher = direction(metric)
    arrow = "" if higher is None else (" ↑" if higher else " ↓")
    unit = METRICS.get(metric).unit if metric in METRICS else ""
    return f"{metric.upper()}{arrow}" + (f" ({unit})" if unit else "")


def protocol_line(board: Leaderboard) -> str:
    """What every number in a table was measured under, in one line.

    ``psnr, ssim: y-shave4 (v1, v1) · runtime: seconds@cpu,workers=2 (v1) · sample
    sha256:7cd5f7a7691a · bicubic v1 · seed 0 · 95% bootstrap CI (2000) · wilcoxon vs best``
    """
    c = board.context
    by_protocol: dict[str, list[str]] = {}
    for metric in board.metrics:
        by_protocol.setdefault(c["protocols"][metric], []).append(metric)
    parts = [
        f"{', '.join(ms)}: {p} ({', '.join('v' + c['metric_versions'][m] for m in ms)})"
        for p, ms in by_protocol.items()
    ]
    parts += [
        f"{c['dataset']} {c['dataset_version']} ({c['images']} images)",
        f"{c['degradation']} v{c['degradation_version']}",
        f"seed {c['seed']}",
        f"{c['confidence']:.0%} bootstrap CI ({c['n_boot']} resamples)",
        f"{c['test']} test vs the best, alpha {c['alpha']}",
    ]
    return " · ".join(parts)


def _cells(
    board: Leaderboard, ci: bool, bold: Callable[[str], str], name: Callable[[str], str]
) -> list[dict[str, str]]:
    """Display strings per method (best first): marks, intervals and the image count."""
    stats = board.stats
    rows = []
    for method in board.order():
        complete = bool(board.methods.at[method, "complete"])
        label = name(method) + (
            ""
            if complete
            else f" (incomplete, {board.methods.at[method, 'images']}/{board.context['images']})"
        )
        row = {"method": label}
        set_level = board.set_metrics
        for metric in board.metrics:
            s = stats.loc[(method, metric)]
            text = _number(metric, s["mean"])
            if s["rank"] == 1:
                text = bold(text)
            elif (
                metric not in set_level  # one value per set: no test, so no dagger
                and direction(metric) is not None
                and complete
                and not s["differs"]
            ):
                text += DAGGER
            if metric in set_level:
                if math.isfinite(s["mean"]) and math.isfinite(s["spread"]):
                    text += f" {PLUS_MINUS} {_number(metric, s['spread'])}"
                if math.isfinite(s["mean"]) and not s["reliable"]:
                    text += UNRELIABLE
            elif ci and math.isfinite(s["ci_low"]):
                text += f" [{_number(metric, s['ci_low'])}, {_number(metric, s['ci_high'])}]"
            row[_header(metric)] = text
        row["images"] = str(board.methods.at[method, "images"])
        rows.append(row)
    return rows


def legend_line(c: dict, bold_word: str, boards: Sequence[Leaderboard] = ()) -> str:
    """What bold, daggers and brackets mean in a table measured under context ``c``.

    ``boards`` are the tables the legend serves: when they have set-level metrics it also says
    what their values, ``±`` and the double dagger mean (nothing is added otherwise).
    """
    line = (
        f"{bold_word}: best; {DAGGER}: not significantly different from the best "
        f"({c['test']}, two-sided, alpha {c['alpha']}); [low, high]: {c['confidence']:.0%} "
        "bootstrap interval of the mean over images."
    )
    extra = _set_legend(boards)
    return f"{line} {extra}" if extra else line


def _set_legend(boards: Sequence[Leaderboard]) -> str:
    """What set-level values, ``±`` and the double dagger mean; empty without set metrics."""
    set_level = list(dict.fromkeys(m for b in boards for m in b.set_metrics))
    if not set_level:
        return ""
    line = f"{', '.join(set_level)}: one value per method over the whole set (no interval, no test)"
    spread = [m for m in set_level if _shows(boards, m, "spread")]
    if spread:
        names = ", ".join(spread)
        line += f"; {PLUS_MINUS}: the standard deviation of {names} over its random subsets"
    if any(_shows(boards, m, "unreliable") for m in set_level):
        line += (
            f"; {UNRELIABLE}: computed from fewer samples than the metric needs (unreliable, "
            "see the note)"
        )
    return line + "."


def _shows(boards: Sequence[Leaderboard], metric: str, what: str) -> bool:
    """Whether any table shows ``metric`` with a spread, or an unreliable value of it."""
    for board in boards:
        if metric not in board.set_metrics:
            continue
        s = board.stats.xs(metric, level="metric")
        s = s[s["mean"].map(math.isfinite)]
        if (s["spread"].map(math.isfinite) if what == "spread" else ~s["reliable"]).any():
            return True
    return False


def format_leaderboard(
    board: Leaderboard, fmt: str = "text", ci: bool = True, legend: bool = True
) -> str:
    """One leaderboard in ``text``, ``csv``, ``md`` (GitHub Markdown) or ``latex`` (booktabs).

    CSV is tidy: one row per (method, metric) with the protocol and every version stamped on it.
    ``legend=False`` leaves out the line explaining bold, daggers and brackets (a report that
    shows many tables says it once).
    """
    if fmt == "csv":
        return _csv(board)
    if fmt == "md":
        return _markdown(board, ci, legend)
    if fmt == "latex":
        return _latex(board)
    if fmt != "text":
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    rows = _cells(board, ci, bold=lambda t: t + "*", name=str)
    table = pd.DataFrame(rows).set_index("method").to_string()
    lines = [
        board.title(),
        table,
        protocol_line(board),
        legend_line(board.context, "*", [board]),
        *board.notes,
    ]
    return "\n".join(lines)


def _csv(board: Leaderboard) -> str:
    c = board.context
    frame = board.stats.reset_index().merge(
        board.methods[["method_version", "complete", "run_id"]].reset_index(), on="method"
    )
    for name, value in (
        ("dataset", c["dataset"]),
        ("dataset_version", c["dataset_version"]),
        ("scale", c["scale"]),
        ("degradation", c["degradation"]),
        ("degradation_version", c["degradation_version"]),
        ("seed", c["seed"]),
    ):
        frame[name] = value
    frame["protocol"] = frame["metric"].map(c["protocols"])
    frame["metric_version"] = frame["metric"].map(c["metric_versions"])
    frame["samples"] = frame["samples"].astype("Int64")  # a count: 2048, not 2048.0
    frame = frame[[*CSV_COLUMNS, *(k for k in frame.columns if k not in CSV_COLUMNS)]]
    return csv_text(frame).rstrip("\n")


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _markdown(board: Leaderboard, ci: bool, legend: bool) -> str:
    rows = _cells(board, ci, bold=lambda t: f"**{t}**", name=md_escape)
    columns = list(rows[0])
    align = ["---"] + ["---:"] * (len(columns) - 1)
    table = "\n".join(
        [_md_row(columns), _md_row(align), *(_md_row(list(r.values())) for r in rows)]
    )
    blocks = [table, f"<sub>{md_escape(protocol_line(board))}</sub>"]
    if legend:
        blocks.append(f"<sub>{legend_line(board.context, '**bold**', [board])}</sub>")
    blocks += [f"> {md_escape(note)}" for note in board.notes]
    return "\n\n".join(blocks)


def _latex(board: Leaderboard) -> str:
    rows = _cells(
        board,
        ci=False,
        bold=lambda t: rf"\textbf{{{t}}}",
        name=latex_escape,
    )
    columns = list(rows[0])
    head = " & ".join(
        latex_escape(c).replace("↑", r"$\uparrow$").replace("↓", r"$\downarrow$") for c in columns
    )
    marks = {DAGGER: r"$^\dagger$", UNRELIABLE: r"$^\ddagger$", PLUS_MINUS: r"$\pm$"}
    body = [" & ".join(_replace(v, marks) for v in r.values()) + r" \\" for r in rows]
    caption = f"{board.title()}. {protocol_line(board)}"
    if board.set_metrics:
        caption += f". {_set_legend([board])}"
    caption = _replace(latex_escape(caption), marks)
    return "\n".join(
        [
            r"\begin{table}[t]",
            r"\centering",
            rf"\caption{{{caption}}}",
            r"\begin{tabular}{l" + "r" * (len(columns) - 1) + "}",
            r"\toprule",
            head + r" \\",
            r"\midrule",
            *body,
            r"\bottomrule",
            r"\end{tabular}",
            r"\end{table}",
        ]
    )


def _replace(text: str, marks: dict[str, str]) -> str:
    for mark, latex in marks.items():
        text = text.replace(mark, latex)
    return text


def format_wide(table: pd.DataFrame, metric: str, fmt: str = "text") -> str:
    """A :func:`srbench.leaderboard.wide` pivot as text, CSV, Markdown or LaTeX (best in bold).

    Args:
        table: The pivot: methods down, (dataset, scale, ...) across.
        metric: Its metric (decimals, and which value is best).
        fmt: ``text``, ``csv``, ``md`` or ``latex``.

    Returns:
        The table; CSV keeps full precision and marks nothing (its names escaped for
        spreadsheets, :func:`spreadsheet_escape`).
    """
    if fmt == "csv":
        return csv_text(table, index=True).rstrip("\n")
    higher = direction(metric)
    best = table.max() if higher else table.min()
    headers = [
        " ".join(
            f"x{v}" if n == "scale" else str(v)
            for n, v in zip(
                table.columns.names, key if isinstance(key, tuple) else (key,), strict=True
            )
        )
        for key in table.columns
    ]
    escape, strong = {
        "md": (md_escape, "**{}**"),
        "latex": (latex_escape, r"\textbf{{{}}}"),
        "text": (str, "{}*"),
    }[fmt]
    rows = []
    for method, values in table.iterrows():
        cells = [
            strong.format(_number(metric, v))
            if higher is not None and v == best[key]
            else _number(metric, v)
            for key, v in values.items()
        ]
        rows.append([escape(method), *cells])
    if fmt == "md":
        return _wide_markdown(headers, rows)
    if fmt == "latex":
        return _wide_latex(headers, rows)
    return pd.DataFrame(
        [r[1:] for r in rows], index=[r[0] for r in rows], columns=headers
    ).to_string()


def _wide_markdown(headers: list[str], rows: list[list[str]]) -> str:
    return "\n".join(
        [
            _md_row(["method", *map(md_escape, headers)]),
            _md_row(["---"] + ["---:"] * len(headers)),
            *(_md_row(r) for r in rows),
        ]
    )


def _wide_latex(headers: list[str], rows: list[list[str]]) -> str:
    return "\n".join(
        [
            r"\begin{tabular}{l" + "r" * len(headers) + "}",
            r"\toprule",
            " & ".join(["Method", *map(latex_escape, headers)]) + r" \\",
            r"\midrule",
            *(" & ".join(r) + r" \\" for r in rows),
            r"\bottomrule",
            r"\end{tabular}",
        ]
    )
