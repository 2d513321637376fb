"""A generic name -> object registry with did-you-mean errors.

Degradations, metrics, protocols and methods each keep one :class:`Registry`; later issues add
entry-point discovery here rather than in each family.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from srbench.errors import UnknownNameError

T = TypeVar("T")

__all__ = ["Registry"]


class Registry(Generic[T]):
    """Objects of one kind, by lower-case name (aliases allowed).

    Example:
        >>> r: Registry[int] = Registry("number")
        >>> r.add("one", 1, aliases=("uno",))
        >>> r.get("UNO")
        1
    """

    def __init__(self, kind: str, discover: Callable[[Registry[T]], None] | None = None) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}
        # Plug-ins (entry points) are found on the first lookup, not at import time.
        self._discover = discover

    def add(self, name: str, item: T, aliases: tuple[str, ...] = ()) -> None:
        """Register ``item`` under ``name`` (and ``aliases``); names are case-insensitive."""
        key = name.lower()
        for n in (key, *(a.lower() for a in aliases)):
            if n in self._items or n in self._aliases:
                raise ValueError(f"{self.kind} {n!r} is already registered.")
        self._items[key] = item
        for alias in aliases:
            self._aliases[alias.lower()] = key

    def canonical(self, name: str) -> str:
        """The registered name for ``name`` or one of its aliases."""
        self._run_discovery()
        key = name.strip().lower()
        key = self._aliases.get(key, key)
        if key not in self._items:
            raise UnknownNameError(self.kind, name, [*self._items, *self._aliases])
        return key

    def get(self, name: str) -> T:
        """The object registered as ``name``; raises :class:`UnknownNameError` with suggestions."""
        return self._items[self.canonical(name)]

    def __contains__(self, name: object) -> bool:
        self._run_discovery()
        key = str(name).strip().lower()
        return self._aliases.get(key, key) in self._items

    def items(self) -> list[tuple[str, T]]:
        """``(name, object)`` pairs (without aliases), in registration order."""
        self._run_discovery()
        return list(self._items.items())

    def remove(self, name: str) -> None:
        """Unregister ``name`` and its aliases (plug-ins loaded for one run, tests)."""
        key = self.canonical(name)
        del self._items[key]
        self._aliases = {a: k for a, k in self._aliases.items() if k != key}

    def _run_discovery(self) -> None:
        discover, self._discover = self._discover, None
        if discover is not None:
            discover(self)
