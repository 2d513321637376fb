"""Leaderboards from the results store: which rows count (selection rules), means with bootstrap
intervals, ranks and paired tests, paper-style pivots, and their text/CSV/Markdown/LaTeX forms.

Modules: ``selection`` (which rows count, metric kinds) · ``board`` (the Leaderboard and its
builders; tables that cannot be compared are skipped with a note) · ``context`` (what a table
was measured under) · ``columns`` (per-metric statistics) · ``stats`` (bootstrap, paired tests)
· ``pivot`` (wide, summary, compare) · ``tables`` (text, CSV, Markdown, LaTeX) · ``escaping``
(names escaped for Markdown, LaTeX and spreadsheets) · ``paper`` (srbench against the values
the methods' papers publish: ``leaderboard --paper``).

Importing this package does not import ``scipy.stats`` (the first paired test does) or
matplotlib (only :mod:`srbench.report` draws).
"""

from srbench.leaderboard.board import (
    Leaderboard,
    Leaderboards,
    SkippedTable,
    leaderboard,
    leaderboards,
)
from srbench.leaderboard.pivot import compare, summary, wide
from srbench.leaderboard.selection import (
    RUNTIME,
    IncomparableError,
    MixedResultsError,
    direction,
    fixed_protocol,
    is_set_metric,
    select,
)
from srbench.leaderboard.stats import TESTS, PairedTest, bootstrap_ci, paired_test
from srbench.leaderboard.tables import (
    FORMATS,
    csv_text,
    format_leaderboard,
    format_wide,
    latex_escape,
    legend_line,
    md_escape,
    protocol_line,
    spreadsheet_escape,
    spreadsheet_safe,
    spreadsheet_unescape,
)

__all__ = [
    "FORMATS",
    "RUNTIME",
    "TESTS",
    "IncomparableError",
    "Leaderboard",
    "Leaderboards",
    "MixedResultsError",
    "PairedTest",
    "SkippedTable",
    "bootstrap_ci",
    "compare",
    "csv_text",
    "direction",
    "fixed_protocol",
    "format_leaderboard",
    "format_wide",
    "is_set_metric",
    "latex_escape",
    "leaderboard",
    "leaderboards",
    "legend_line",
    "md_escape",
    "paired_test",
    "protocol_line",
    "select",
    "spreadsheet_escape",
    "spreadsheet_safe",
    "spreadsheet_unescape",
    "summary",
    "wide",
]
