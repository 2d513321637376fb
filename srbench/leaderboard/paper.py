"""Paper reproduction: srbench's means beside the values a method's paper publishes.

A run records, per method label, the published rows of the instance's card
(``methods.<label>.published`` in its manifest: :class:`srbench.methods.papers.PaperScore`
fields). :func:`paper_comparison` puts each leaderboard mean next to the row for the same
dataset and scale, with the difference ``srbench - paper`` and a flag where it exceeds
:data:`TOLERANCES` (0.05 dB PSNR, 0.0005 SSIM, either sign).

A cell is compared only when it was measured as the paper measured it: ``bicubic`` (BI)
degradation, PSNR (and SSIM) on protocol ``y-shave<scale>``, every image of the set, and the
catalog's images: a catalog set, or a folder named like one (``B100`` for ``BSD100``) whose
pixels the run verified against the catalog's digests (``catalog.same_pixels`` in the
manifest's dataset record, :mod:`srbench.catalog.identity`). Where a method declares values for
a dataset and scale it was run on but no table of them qualifies, a note says why instead of
dropping it silently; a dataset or scale the method was not run on gives neither a row nor a
note. Runs whose manifests predate the field have no published rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from srbench.catalog.identity import named_catalog_set
from srbench.leaderboard.board import Leaderboard
from srbench.leaderboard.escaping import csv_text, latex_escape, md_escape
from srbench.methods.papers import PAPER_DATASETS

__all__ = ["COLUMNS", "TOLERANCES", "PaperComparison", "format_paper", "paper_comparison"]

#: Differences beyond these (either sign) are flagged: the papers print 2 and 4 decimals, so
#: rounding alone moves a value by at most 0.005 dB and 0.00005.
TOLERANCES = {"psnr": 0.05, "ssim": 0.0005}
#: The degradation every cited table uses (docs/protocol.md: BI).
PAPER_DEGRADATION = "bicubic"
COLUMNS = [
    "dataset",
    "scale",
    "method",
    "psnr",
    "paper_psnr",
    "psnr_diff",
    "ssim",
    "paper_ssim",
    "ssim_diff",
    "flag",
    "images",
    "data",
    "source",
]
#: What the ``flag`` column says when both differences are within :data:`TOLERANCES`.
OK = "ok"


@dataclass(frozen=True)
class PaperComparison:
    """srbench against the papers.

    Attributes:
        rows: One row per (dataset, scale, method) compared (:data:`COLUMNS`): srbench's mean,
            the paper's value and ``srbench - paper`` for PSNR and SSIM (NaN where the paper
            prints no SSIM), ``flag`` (``ok``, or the metrics beyond :data:`TOLERANCES`),
            ``images``, ``data`` (``catalog``, or ``folder <name>, pixels verified``) and the
            ``source`` (paper and table).
        notes: One sentence per (method, dataset, scale) with published values that could not
            be compared, saying why.
        uncompared: The methods with such notes, in order.
    """

    rows: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    uncompared: list[str] = field(default_factory=list)

    def verdicts(self) -> dict[str, str]:
        """Per method: ``yes``, ``no (by how much, on which cells)``, or, for a method with
        published values none of which could be compared, ``not compared (see the notes)``."""
        out = {}
        for method, part in self.rows.groupby("method", sort=False):
            flagged = part[part["flag"] != OK]
            if flagged.empty:
                out[method] = f"yes ({_cells(len(part))} within tolerance)"
                continue
            misses = "; ".join(_miss(r) for r in flagged.itertuples(index=False))
            out[method] = f"no ({misses}; {len(flagged)} of {_cells(len(part))} beyond tolerance)"
        for method in self.uncompared:
            out.setdefault(method, "not compared (see the notes)")
        return out


def _cells(n: int) -> str:
    return f"{n} cell" + ("" if n == 1 else "s")


def _miss(row: Any) -> str:
    parts = []
    if abs(row.psnr_diff) > TOLERANCES["psnr"]:
        parts.append(f"PSNR {row.psnr_diff:+.2f} dB")
    if _finite(row.ssim_diff) and abs(row.ssim_diff) > TOLERANCES["ssim"]:
        parts.append(f"SSIM {row.ssim_diff:+.4f}")
    return f"{', '.join(parts)} on {row.dataset} x{row.scale}"


def _finite(value: object) -> bool:
    return isinstance(value, float | int) and math.isfinite(value)


def paper_comparison(
    boards: Iterable[Leaderboard], manifests: Sequence[Mapping[str, Any]]
) -> PaperComparison:
    """Compare every leaderboard mean that has a published value (see the module docstring).

    ``boards`` are the tables (:func:`srbench.leaderboard.leaderboards`); ``manifests`` the
    runs' manifests, which hold each method's published rows and where each dataset came from.
    """
    runs = {str(m.get("run_id")): m for m in manifests}
    found: dict[tuple[str, str, int], list[tuple[dict[str, Any] | None, str]]] = {}
    for board in boards:
        for method in board.methods.index:
            manifest = runs.get(str(board.methods.at[method, "run_id"]), {})
            for score in _published(manifest, method, board):
                key = (method, score["dataset"], int(score["scale"]))
                found.setdefault(key, []).append(_compare(board, method, score, manifest))
    rows, notes, uncompared = [], [], []
    for (method, dataset, scale), results in found.items():
        compared = [row for row, _ in results if row is not None]
        if compared:
            rows.append(compared[0])
            continue
        why = "; ".join(dict.fromkeys(reason for _, reason in results))
        notes.append(f"{method}: its paper's {dataset} x{scale} values are not compared: {why}.")
        uncompared.append(method)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if not frame.empty:  # the papers' order of datasets, then scale; methods as the tables had them
        order = frame["dataset"].map({d: i for i, d in enumerate(PAPER_DATASETS)})
        frame = frame.assign(_order=order).sort_values(["_order", "scale"], kind="stable")
        frame = frame.drop(columns="_order")
    return PaperComparison(frame.reset_index(drop=True), notes, list(dict.fromkeys(uncompared)))


def _published(
    manifest: Mapping[str, Any], method: str, board: Leaderboard
) -> list[dict[str, Any]]:
    """The method's published rows (as its run recorded them) for the board's dataset (by
    catalog id or alias) and scale."""
    record = (manifest.get("methods") or {}).get(method) or {}
    scores = (record.get("published") or []) if isinstance(record, Mapping) else []
    spec = named_catalog_set(str(board.context["dataset"]))
    wanted = {str(board.context["dataset"]), *([spec.id] if spec else [])}
    return [
        s
        for s in scores
        if isinstance(s, Mapping)
        and s.get("dataset") in wanted
        and s.get("scale") == board.context["scale"]
    ]


def _compare(
    board: Leaderboard, method: str, score: Mapping[str, Any], manifest: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, str]:
    """The comparison row, or ``None`` and why the board cannot stand for the paper's cell."""
    c = board.context
    why = _not_comparable(board, method, score, manifest)
    if why:
        return None, f"{c['dataset']} x{c['scale']}, {c['degradation']} {why}"
    data = _data_kind(manifest, str(c["dataset"]))
    stats = board.stats
    psnr = float(stats.loc[(method, "psnr"), "mean"])
    row = {
        "dataset": score["dataset"],
        "scale": int(c["scale"]),
        "method": method,
        "psnr": psnr,
        "paper_psnr": float(score["psnr"]),
        "psnr_diff": psnr - float(score["psnr"]),
        "ssim": math.nan,
        "paper_ssim": math.nan,
        "ssim_diff": math.nan,
        "images": int(board.methods.at[method, "images"]),
        "data": data,
        "source": str(score.get("source", "")),
    }
    if score.get("ssim") is not None and _measured_as_paper(board, "ssim"):
        row["ssim"] = float(stats.loc[(method, "ssim"), "mean"])
        row["paper_ssim"] = float(score["ssim"])
        row["ssim_diff"] = row["ssim"] - row["paper_ssim"]
    beyond = [
        m.upper()
        for m, tol in TOLERANCES.items()
        if _finite(row[f"{m}_diff"]) and abs(row[f"{m}_diff"]) > tol
    ]
    row["flag"] = ", ".join(beyond) or OK
    return row, ""


def _measured_as_paper(board: Leaderboard, metric: str) -> bool:
    protocol = board.context["protocols"].get(metric)
    return protocol == f"y-shave{board.context['scale']}"


def _not_comparable(
    board: Leaderboard, method: str, score: Mapping[str, Any], manifest: Mapping[str, Any]
) -> str:
    """Why ``board`` does not measure what the paper's row measured ("" when it does)."""
    c = board.context
    if c["degradation"] != PAPER_DEGRADATION:
        return f"(the paper's values are for the {PAPER_DEGRADATION} degradation)"
    if "psnr" not in board.metrics:
        return "has no PSNR column"
    if not _measured_as_paper(board, "psnr"):
        return (
            f"was scored on protocol {c['protocols']['psnr']}, the paper's is "
            f"y-shave{c['scale']} (run with --protocol y and the default shave)"
        )
    if not bool(board.methods.at[method, "complete"]):
        return (
            f"is incomplete for it ({board.methods.at[method, 'images']} of {c['images']} images)"
        )
    return _dataset_problem(manifest, str(c["dataset"]), str(score["dataset"]))


def _dataset_record(manifest: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    for record in manifest.get("datasets") or []:
        if isinstance(record, Mapping) and record.get("name") == name:
            return record
    return None


def _data_kind(manifest: Mapping[str, Any], name: str) -> str:
    record = _dataset_record(manifest, name) or {}
    return "catalog" if record.get("kind") == "catalog" else f"folder {name}, pixels verified"


def _dataset_problem(manifest: Mapping[str, Any], name: str, paper_dataset: str) -> str:
    """Why the run's ``name`` is not the catalog's ``paper_dataset`` ("" when it is)."""
    record = _dataset_record(manifest, name)
    if record is None:
        return "(its run's manifest does not say where the images came from)"
    if record.get("kind") == "catalog" and record.get("name") == paper_dataset:
        return ""
    if record.get("kind") != "folder":
        return f"is not the catalog's {paper_dataset} ({record.get('kind')} dataset)"
    check = record.get("catalog")
    where = f"is the folder {record.get('location')}"
    if not isinstance(check, Mapping):
        return (
            f"{where}, whose pixels were not verified against the catalog's {paper_dataset} "
            "(run it by its catalog name, or again with this srbench)"
        )
    if check.get("id") != paper_dataset:
        return f"{where}, verified against {check.get('id')}, not {paper_dataset}"
    if not check.get("same_pixels"):
        return (
            f"{where}, whose images are not the catalog's {paper_dataset}: {check.get('problem')}"
        )
    return ""


def _number(value: float, digits: int, signed: bool = False) -> str:
    if not _finite(value):
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _display(comparison: PaperComparison) -> list[dict[str, str]]:
    """Display strings per row: PSNR to 2 decimals (differences to 3), SSIM to 4."""
    out = []
    for r in comparison.rows.itertuples(index=False):
        out.append(
            {
                "dataset": str(r.dataset),
                "scale": f"x{r.scale}",
                "method": str(r.method),
                "PSNR": _number(r.psnr, 2),
                "paper PSNR": _number(r.paper_psnr, 2),
                "ΔPSNR": _number(r.psnr_diff, 3, signed=True),
                "SSIM": _number(r.ssim, 4),
                "paper SSIM": _number(r.paper_ssim, 4),
                "ΔSSIM": _number(r.ssim_diff, 4, signed=True),
                "flag": str(r.flag),
                "data": str(r.data),
                "source": str(r.source),
            }
        )
    return out


def legend() -> str:
    """What the comparison's columns and flag mean."""
    return (
        f"Δ = srbench - paper; flag: {TOLERANCES['psnr']} dB PSNR or {TOLERANCES['ssim']} SSIM "
        "exceeded (either sign); compared only under the paper's protocol: bicubic degradation, "
        "Y channel with shave = scale, the catalog's images."
    )


def format_paper(comparison: PaperComparison, fmt: str = "text") -> str:
    """The comparison in ``text``, ``csv`` (full precision, one row per cell; the notes are not
    part of it), ``md`` or ``latex``; the others end with the legend and the notes (LaTeX: as
    ``%`` comments)."""
    if fmt == "csv":
        return csv_text(comparison.rows).rstrip("\n")
    rows = _display(comparison)
    columns = list(rows[0]) if rows else list(_display_columns())
    if fmt == "latex":  # the legend and notes as comments: the tabular stays pasteable
        comments = [f"% {line}" for line in [legend(), *comparison.notes]]
        return "\n".join([_latex(columns, rows), *comments])
    if fmt == "md":
        lines = [
            _md_row([md_escape(c) for c in columns]),
            _md_row(["---", "---:", "---", *(["---:"] * 6), "---", "---", "---"]),
            *(_md_row([md_escape(v) for v in r.values()]) for r in rows),
        ]
        blocks = ["\n".join(lines) if rows else "_No cell could be compared._"]
        blocks.append(f"<sub>{md_escape(legend())}</sub>")
        blocks += [f"> {md_escape(n)}" for n in comparison.notes]
        return "\n\n".join(blocks)
    table = (
        pd.DataFrame(rows, columns=columns).to_string(index=False)
        if rows
        else "no cell could be compared"
    )
    return "\n".join([table, legend(), *(f"note: {n}" for n in comparison.notes)])


def _display_columns() -> dict[str, str]:
    names = ["dataset", "scale", "method", "PSNR", "paper PSNR", "ΔPSNR", "SSIM"]
    return dict.fromkeys([*names, "paper SSIM", "ΔSSIM", "flag", "data", "source"], "")


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _latex(columns: list[str], rows: list[dict[str, str]]) -> str:
    def cell(text: str) -> str:
        return latex_escape(text).replace("Δ", r"$\Delta$")

    return "\n".join(
        [
            r"\begin{tabular}{lllrrrrrrlll}",
            r"\toprule",
            " & ".join(cell(c) for c in columns) + r" \\",
            r"\midrule",
            *(" & ".join(cell(v) for v in r.values()) + r" \\" for r in rows),
            r"\bottomrule",
            r"\end{tabular}",
        ]
    )
