"""Regression checks: baselines written from the store and ``srbench check``'s comparison.

Modules: ``baseline`` (baselines from store rows, tolerances) · ``csvfile`` (the baseline CSV
written escaped for spreadsheets, read back validated) · ``compare`` (cell-by-cell findings and
their Markdown table).
"""

from srbench.check.baseline import (
    BASELINE_COLUMNS,
    DEFAULT_TOLERANCES,
    BaselineError,
    Tolerance,
    make_baseline,
    parse_tolerances,
)
from srbench.check.compare import FAILING, Finding, check, render_findings
from srbench.check.csvfile import read_baseline, write_baseline

__all__ = [
    "BASELINE_COLUMNS",
    "DEFAULT_TOLERANCES",
    "FAILING",
    "BaselineError",
    "Finding",
    "Tolerance",
    "check",
    "make_baseline",
    "parse_tolerances",
    "read_baseline",
    "render_findings",
    "write_baseline",
]
