"""Regression checks: baselines written from the store and ``srbench check``'s comparison."""

from srbench.check.compare import (
    BASELINE_COLUMNS,
    DEFAULT_TOLERANCES,
    FAILING,
    BaselineError,
    Tolerance,
    check,
    make_baseline,
    parse_tolerances,
    read_baseline,
    render_findings,
    write_baseline,
)

__all__ = [
    "BASELINE_COLUMNS",
    "DEFAULT_TOLERANCES",
    "FAILING",
    "BaselineError",
    "Tolerance",
    "check",
    "make_baseline",
    "parse_tolerances",
    "read_baseline",
    "render_findings",
    "write_baseline",
]
