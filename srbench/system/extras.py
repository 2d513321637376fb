"""Optional dependencies (torch and the metric packages of the ``[torch]`` extra), imported late.

srbench's fidelity path needs none of them; a metric or method that does says which extra to
install instead of failing with a bare ``ImportError``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from srbench.errors import SrbenchError

__all__ = ["MissingDependencyError", "require"]


class MissingDependencyError(SrbenchError):
    """A package of an optional extra is not installed."""


def require(module: str, what: str, extra: str = "torch") -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` saying how to install it.

    Example:
        >>> require("json", "tests").__name__
        'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{what} needs the Python package {module!r} ({exc}); install srbench with "
            f"`pip install -e '.[{extra}]'` (pins in constraints.txt)."
        ) from None
