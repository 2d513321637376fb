"""``srbench verify``: the health of a results folder, and the quarantine of damaged files.

This module also prints the library's warnings: readers of the store (every command that reads
results, and ``run --resume``) and the leaderboards log what they leave out through the
``srbench.store`` and ``srbench.leaderboard`` loggers; importing this module (``srbench.cli``
does) shows each such record as a ``warning: ...`` line on stderr, so stdout keeps only the
command's result. A command decorated with :func:`warns_once` shows each message once (a
damaged file read by several steps of one command is reported once).
"""

from __future__ import annotations

import contextvars
import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from srbench.cli.base import EXIT_FAILED, ResultsDir, command, csv_items, log

F = TypeVar("F", bound=Callable[..., Any])

#: The loggers whose warnings a user must see (the library never prints).
WARNING_LOGGERS = ("srbench.store", "srbench.leaderboard")


#: The messages shown so far by the command running now (None outside :func:`warns_once`).
_SHOWN: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar(
    "srbench_warnings_shown", default=None
)


class WarningLines(logging.Handler):
    """Prints warnings as ``warning: MESSAGE`` on stderr (inside :func:`warns_once`, each
    message once)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            shown = _SHOWN.get()
            if shown is not None:
                if message in shown:
                    return
                shown.add(message)
            log(f"warning: {message}")
        except Exception:  # noqa: BLE001 (logging's contract: a handler never raises)
            self.handleError(record)


def warns_once(fn: F) -> F:
    """Decorate a command so that each warning it logs is shown once while it runs."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _SHOWN.set(set())
        try:
            return fn(*args, **kwargs)
        finally:
            _SHOWN.reset(token)

    return wrapper  # type: ignore[return-value]


def show_warnings() -> None:
    """Attach one :class:`WarningLines` to each of :data:`WARNING_LOGGERS` (idempotent)."""
    for name in WARNING_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(h, WarningLines) for h in logger.handlers):
            logger.addHandler(WarningLines())


show_warnings()


@command()
@warns_once
def verify(
    results: ResultsDir = Path("results"),
    runs: Annotated[
        str | None, typer.Option(help="Comma-separated run ids (default: every run).")
    ] = None,
    move: Annotated[
        bool,
        typer.Option(
            "--quarantine",
            help="Move damaged files to RESULTS/quarantine/RUN_ID/ (nothing is deleted).",
        ),
    ] = False,
) -> None:
    """List every run with its state and every damaged file; --quarantine moves those aside.

    Exit status: 0 when the store is clean; 1 when something damaged or ambiguous was found
    (also after --quarantine moved it: `srbench run --resume RUN_ID` then recomputes the
    missing cells); 2 on usage errors.
    """
    from srbench.store.verify import quarantine, quarantine_lines, verify_store

    health = verify_store(results, list(csv_items(runs)) if runs else None)
    typer.echo("\n".join(health.lines(quarantining=move)))
    if move and any(r.damage for r in health.runs):
        typer.echo("\n".join(quarantine_lines(quarantine(health), results)))
    if not health.clean:
        raise typer.Exit(EXIT_FAILED)
