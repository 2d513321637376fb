"""The ``srbench`` Typer app and what its commands share: the error handling, the version
option, the option types several commands take and the parsing of comma-separated values.

Commands live in the modules beside this one (``images``, ``ls``, ``assets``, ``run``,
``train``, ``results``); :mod:`srbench.cli` imports them, which registers them on :data:`app`.
Every CLI module imports only typer, the standard library and cheap srbench modules at module
level; a command imports the library it calls inside its body, so ``srbench --version`` and
``srbench ls`` start without scipy.stats, matplotlib or torch.

Exit codes:
    0: success.
    1: something asked for failed or is missing, after storing or printing the rest (a cell of
       ``srbench run``, a regression found by ``srbench check``, weights ``srbench weights``
       cannot find).
    2: bad input or usage (unknown name, unpaired or unreadable files, wrong sizes), after
       writing or printing everything that could be computed.
    3: ``srbench run`` completed without a metric whose weights or package are missing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from srbench.errors import SrbenchError

__all__ = [
    "EXIT_FAILED",
    "EXIT_METRIC_SKIPPED",
    "EXIT_USAGE",
    "MIN_SCALE",
    "AcceptLicence",
    "Progress",
    "ResultsDir",
    "Scale",
    "app",
    "command",
    "csv_items",
    "fail",
    "log",
    "main",
    "parse_scales",
]

#: Something asked for failed or is missing; the rest was stored or printed.
EXIT_FAILED = 1
#: Bad input or usage: ``error: ...`` on stderr.
EXIT_USAGE = 2
#: ``srbench run`` finished, but without a metric whose weights or package are missing.
EXIT_METRIC_SKIPPED = 3

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    help="Benchmark and evaluate single-image super-resolution, with the papers' protocol.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Scale = Annotated[int, typer.Option("--scale", "-s", min=1, help="Integer scale factor.")]
Progress = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")]
ResultsDir = Annotated[Path, typer.Option(help="Results store folder.")]
MethodFile = Annotated[
    list[str] | None,
    typer.Option(help="path/to/file.py:Class of a method of your own (repeatable)."),
]
AcceptLicence = Annotated[
    list[str] | None,
    typer.Option(
        help="Dataset id whose licence you accept (repeatable; or SRBENCH_ACCEPT_LICENCE)."
    ),
]

#: Progress and log lines go to stderr, so that stdout holds only the command's result.
log = functools.partial(typer.echo, err=True)


def command(name: str | None = None) -> Callable[[F], F]:
    """Register a function as a command of :data:`app` (``app.command(name)``).

    The one place where srbench's errors become the command line's: a :class:`SrbenchError`
    prints ``error: MESSAGE`` on stderr and exits with :data:`EXIT_USAGE`.

    Args:
        name: The command's name (default: the function's name).

    Returns:
        A decorator that registers the function and returns it unchanged.
    """

    def decorator(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except SrbenchError as exc:
                fail(str(exc))

        app.command(name)(wrapper)
        return fn

    return decorator


def fail(message: str) -> NoReturn:
    """Print ``error: MESSAGE`` on stderr and exit with :data:`EXIT_USAGE`.

    Args:
        message: What was wrong and how to fix it.

    Raises:
        typer.Exit: Always, with status 2.
    """
    log(f"error: {message}")
    raise typer.Exit(EXIT_USAGE)


def csv_items(value: str) -> tuple[str, ...]:
    """The non-empty, stripped items of a comma-separated option value.

    Example:
        >>> csv_items(" set5, ,set14")
        ('set5', 'set14')
    """
    return tuple(v.strip() for v in value.split(",") if v.strip())


#: The smallest scale (``srbench.run.config.MIN_SCALE``, which needs pydantic to import).
MIN_SCALE = 2


def parse_scales(value: str) -> tuple[int, ...]:
    """Scales of a ``--scale`` value such as ``2,4`` or ``all`` (2, 3 and 4), without repeats.

    Example:
        >>> parse_scales("4,all")
        (4, 2, 3)

    Raises:
        typer.Exit: An item is neither an integer nor ``all``, is below 2, or there is no item
            (status 2, after printing why).
    """
    out = []
    for item in csv_items(value):
        if item.lower() == "all":
            out += [2, 3, 4]
            continue
        try:
            out.append(int(item))
        except ValueError:
            fail(f"--scale {value!r}: {item!r} is not an integer (use e.g. 2,3,4 or all).")
        if out[-1] < MIN_SCALE:
            fail(
                f"--scale {value!r}: every scale must be an integer of at least {MIN_SCALE} "
                f"(super-resolution enlarges; x1 would score an image against a copy of "
                f"itself), got {item}. Use e.g. --scale 4, 2,3,4 or all."
            )
    if not out:
        fail(f"--scale {value!r} names no scale; use e.g. --scale 4, 2,3,4 or all.")
    return tuple(dict.fromkeys(out))


def _version(value: bool) -> None:
    if value:
        from srbench import __version__  # read from the installed metadata only here

        typer.echo(f"srbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """srbench: super-resolution benchmark."""


def main() -> None:
    """Entry point of the ``srbench`` console script (and ``python -m srbench``)."""
    from srbench.system.memory import keep_freed_memory

    keep_freed_memory()
    app()
