"""Escaping names for the formats srbench writes: Markdown, LaTeX and CSV for spreadsheets.

Names come from users (method labels, folder names) and from image files, so every table
escapes them for its target: :func:`md_escape` (no markup, HTML or cell break),
:func:`latex_escape`, and for CSV :func:`spreadsheet_escape` (OWASP's advice on "CSV
injection": a text cell a spreadsheet would run as a formula gets a leading quote; numbers are
left alone) with its exact inverse :func:`spreadsheet_unescape`, used where srbench reads its
own CSV back (baselines). :func:`csv_text` writes a frame so.
"""

from __future__ import annotations

import csv
import re

import pandas as pd

__all__ = [
    "csv_text",
    "latex_escape",
    "md_escape",
    "spreadsheet_escape",
    "spreadsheet_safe",
    "spreadsheet_unescape",
]

# In a table cell or a sentence these are the characters that start markup (HTML is entity-escaped)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def md_escape(text: object) -> str:
    """Text that renders literally in a Markdown table cell (no markup, HTML or cell breaks).

    Example:
        >>> md_escape("a|b <img> *x*")
        'a\\\\|b &lt;img&gt; \\\\*x\\\\*'
    """
    flat = " ".join(str(text).split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", flat)


#: What starts a formula in Excel, LibreOffice and Google Sheets (OWASP, "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: The quote that marks a cell as text; srbench also puts it before a text that starts with it,
#: so that :func:`spreadsheet_unescape` can undo every escape exactly.
_TEXT_MARK = "'"
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_escape(text: str) -> str:
    """A CSV cell that a spreadsheet shows as the text it is, never runs as a formula.

    A text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
    single quote (OWASP's advice), and so does one that starts with a single quote (so that
    :func:`spreadsheet_unescape` undoes every escape); numbers such as ``-0.5`` or ``+1e-3``
    are left as they are.

    Example:
        >>> spreadsheet_escape("=HYPERLINK(1)"), spreadsheet_escape("-0.5")
        ("'=HYPERLINK(1)", '-0.5')
    """
    if text.startswith((*_FORMULA_START, _TEXT_MARK)) and not _NUMBER.fullmatch(text):
        return _TEXT_MARK + text
    return text


def spreadsheet_unescape(text: str) -> str:
    """The text :func:`spreadsheet_escape` was given.

    Example:
        >>> spreadsheet_unescape(spreadsheet_escape("'=x")) == "'=x"
        True
    """
    return text[1:] if text.startswith(_TEXT_MARK) else text


def _escape_cell(value: object) -> object:
    return spreadsheet_escape(value) if isinstance(value, str) else value


def _escape_labels(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        return index.map(lambda key: tuple(_escape_cell(k) for k in key))
    return index.map(_escape_cell)


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell, index label and column label passed through
    :func:`spreadsheet_escape` (numeric columns are left alone), ready for ``to_csv``."""
    out = frame.copy()
    for position in range(out.shape[1]):
        values = out.iloc[:, position]
        if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            out.isetitem(position, values.map(_escape_cell))
    out.index = _escape_labels(out.index)
    out.columns = _escape_labels(out.columns)
    return out


def csv_text(frame: pd.DataFrame, index: bool = False, **options: object) -> str:
    """``frame`` as CSV for people: text escaped for spreadsheets (:func:`spreadsheet_safe`),
    one line per row even when a text holds a carriage return (then every text is quoted, since
    pandas would leave that one bare), ending with a line end. ``options`` go to ``to_csv``.
    """
    safe = spreadsheet_safe(frame)
    texts = [safe.iloc[:, i] for i in range(safe.shape[1]) if not _numeric(safe.iloc[:, i])]
    labels = [*safe.columns.to_flat_index(), *(safe.index.to_flat_index() if index else [])]
    bare_cr = any(t.astype(str).str.contains("\r", regex=False).any() for t in texts) or any(
        "\r" in str(label) for label in labels
    )
    quoting = csv.QUOTE_NONNUMERIC if bare_cr else csv.QUOTE_MINIMAL
    return safe.to_csv(index=index, quoting=quoting, lineterminator="\n", **options)


def _numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)


def latex_escape(text: object) -> str:
    """Text that LaTeX typesets literally.

    Example:
        >>> latex_escape("EDSR_x4 & 50%")
        'EDSR\\\\_x4 \\\\& 50\\\\%'
    """
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in " ".join(str(text).split()))
