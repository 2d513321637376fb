"""Package attributes imported from their modules on first use (PEP 562 module ``__getattr__``).

A package whose modules need heavy libraries (pandas, pyarrow) keeps its public names while
importing the package itself stays cheap: ``srbench --version``, ``ls`` and the start of
``srbench run`` load only what they use.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, modules: Mapping[str, tuple[str, ...]]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` for ``package`` exporting ``modules``' names.

    Args:
        package: The package's ``__name__``.
        modules: Submodule name (relative to ``package``) to the public names it defines.

    Example:
        >>> all_, getattr_, _ = lazy_names("srbench.system", {"cpus": ("available_cpus",)})
        >>> all_, getattr_("available_cpus").__name__
        (['available_cpus'], 'available_cpus')
    """
    public = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = public.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *public})

    return sorted(public), __getattr__, __dir__
