"""The closing sections of a report: failed cells, skipped work, provenance and protocol.

They describe how the numbers above them were obtained, from the run manifests and the tables'
contexts; like the rest of the report, they depend only on the stored results.
"""

from __future__ import annotations

import re

import pandas as pd

from srbench.leaderboard.board import Leaderboard
from srbench.leaderboard.selection import RUNTIME, fixed_protocol
from srbench.leaderboard.tables import md_escape
from srbench.metrics import METRICS

__all__ = [
    "MAX_FAILURES",
    "failures_section",
    "protocol_section",
    "provenance_section",
    "skipped_section",
]

#: Failed cells listed one by one; the rest are counted.
MAX_FAILURES = 50


def failures_section(rows: pd.DataFrame) -> str:
    """The ``## Failures`` section: every failed cell (up to :data:`MAX_FAILURES`) and its error.

    Args:
        rows: The report's store rows.

    Returns:
        Markdown; a section saying "None" when every cell was scored.
    """
    failed = rows[rows["error"].notna()].drop_duplicates(
        ["dataset", "scale", "degradation", "seed", "method", "image"]
    )
    if failed.empty:
        return "## Failures\n\nNone: every cell was scored."
    lines = [
        "## Failures",
        "",
        f"{len(failed)} cell(s) failed; they are not in any mean.",
        "",
        "| dataset | scale | degradation | method | image | error |",
        "|---|---:|---|---|---|---|",
    ]
    for r in failed.head(MAX_FAILURES).itertuples():
        cells = [r.dataset, f"x{r.scale}", r.degradation, r.method, r.image, r.error]
        lines.append("| " + " | ".join(md_escape(c) for c in cells) + " |")
    if len(failed) > MAX_FAILURES:
        lines.append(f"\n... and {len(failed) - MAX_FAILURES} more.")
    return "\n".join(lines)


def skipped_section(manifests: list[dict]) -> str:
    """The ``## Skipped`` section: what the runs left out and why ("" when nothing was).

    Args:
        manifests: The runs' manifests.

    Returns:
        Markdown, or "" to leave the section out.
    """
    notes = list(dict.fromkeys(s for m in manifests for s in m.get("skipped") or []))
    if not notes:
        return ""
    return "## Skipped\n\n" + "\n".join(f"- {md_escape(n)}" for n in notes)


def provenance_section(manifests: list[dict]) -> str:
    """The ``## Provenance`` section: one row per run with its commit, device and versions.

    Args:
        manifests: The runs' manifests.

    Returns:
        Markdown.
    """
    lines = [
        "## Provenance",
        "",
        "| run | status | started | ended | commit | device | srbench | python | numpy | torch "
        "| platform |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in manifests:
        git = m.get("git") or {}
        commit = str(git.get("commit") or "-")[:10] + (" (local edits)" if git.get("dirty") else "")
        v = m.get("versions") or {}
        cells = [
            m.get("run_id"),
            m.get("status"),
            m.get("started"),
            m.get("ended"),
            commit,
            m.get("device"),
            *(v.get(k) for k in ("srbench", "python", "numpy", "torch", "platform")),
        ]
        lines.append(
            "| " + " | ".join(md_escape(c if c is not None else "-") for c in cells) + " |"
        )
    return "\n".join(lines)


def _describe(key: str) -> str:
    """A protocol key in words: ``y-shave4``, ``rgb-shave4-patch64-stride64``, ..."""
    if key.startswith("seconds@"):
        return "wall-clock seconds of the method per image on the named device and threads"
    head, *parts = key.split("-")
    found = [re.fullmatch(r"([a-z]+)(\d+(?:x\d+)?)", part) for part in parts]
    fields = dict(m.groups() for m in found if m)
    if head not in ("y", "rgb") or len(fields) != len(parts) or "shave" not in fields:
        return "as recorded by its metric"
    if head == "y":
        text = (
            "Y channel of MATLAB's rgb2ycbcr (gray images on their gray values), uint8 SR, "
            f"{fields['shave']} border pixels shaved; PSNR in float64, SSIM as ssim_index.m"
        )
    else:
        text = f"all three channels, {fields['shave']} border pixels shaved"
    if "patch" in fields:
        size, stride = fields["patch"], fields.get("stride", fields["patch"])
        text += f", cut into {size}x{size} patches at stride {stride}"
    if "subsets" in fields and "x" in fields["subsets"]:
        count, size = fields["subsets"].split("x")
        text += (
            f"; the value is the mean over {count} random subsets of {size} patches, ± their "
            "standard deviation"
        )
    return text


def protocol_section(boards: list[Leaderboard]) -> str:
    """The ``## Protocol`` section: each protocol key in words, and how RGB-defined and
    set-level metrics are measured.

    Args:
        boards: The report's tables.

    Returns:
        Markdown.
    """
    keys = sorted({p for b in boards for p in b.context["protocols"].values()})
    lines = ["## Protocol", ""]
    for key in keys:
        lines.append(f"- `{key}`: {_describe(key)}.")
    lines += [
        "",
        "HR images are modcropped to the scale and degraded with the stated spec (MATLAB-exact "
        "bicubic by default). Methods with fewer images than the dataset are marked incomplete "
        "and not ranked. The srbench README's *The protocol* section has the full definition.",
    ]
    metrics = list(dict.fromkeys(m for b in boards for m in b.metrics))
    rgb = [m for m in metrics if m != RUNTIME and fixed_protocol(m)]
    if rgb:
        lines += [
            "",
            f"{', '.join(rgb)} {'is' if len(rgb) == 1 else 'are'} defined on RGB and measured "
            "under their own RGB protocol above whatever `--protocol` chose, so they share a "
            "table with Y-channel fidelity metrics.",
        ]
    set_level = list(dict.fromkeys(m for b in boards for m in b.set_metrics))
    if set_level:
        needs = [
            f"{m}: {METRICS.get(m).min_samples}"
            for m in set_level
            if m in METRICS and METRICS.get(m).min_samples
        ]
        lines += [
            "",
            f"{', '.join(set_level)} {'is' if len(set_level) == 1 else 'are'} set-level: one "
            "value per method, from the patches of all its SR images against those of the HR "
            "images, with no bootstrap interval and no paired test. A value from fewer patches "
            "than the metric needs"
            + (f" ({', '.join(needs)})" if needs else "")
            + " is marked ‡: it is unreliable and should not be compared across datasets or "
            "protocols.",
        ]
    return "\n".join(lines)
