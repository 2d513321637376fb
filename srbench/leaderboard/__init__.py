"""Leaderboards from the results store: which rows count (selection rules), means with bootstrap
intervals, ranks and paired tests, paper-style pivots, and their text/CSV/Markdown/LaTeX forms."""

from srbench.leaderboard.board import (
    Leaderboard,
    MixedResultsError,
    compare,
    direction,
    fixed_protocol,
    is_set_metric,
    leaderboard,
    leaderboards,
    select,
    summary,
    wide,
)
from srbench.leaderboard.stats import PairedTest, bootstrap_ci, paired_test
from srbench.leaderboard.tables import FORMATS, format_leaderboard, format_wide

__all__ = [
    "FORMATS",
    "Leaderboard",
    "MixedResultsError",
    "PairedTest",
    "bootstrap_ci",
    "compare",
    "direction",
    "fixed_protocol",
    "format_leaderboard",
    "format_wide",
    "is_set_metric",
    "leaderboard",
    "leaderboards",
    "paired_test",
    "select",
    "summary",
    "wide",
]
