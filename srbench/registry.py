"""A generic name -> object registry with did-you-mean errors.

Degradations, metrics, protocols and methods each keep one :class:`Registry`; later issues add
entry-point discovery here rather than in each family.
"""

from __future__ import annotations

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

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

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
        key = name.strip().lower()
        key = self._aliases.get(key, key)
        if key not in self._items:
            raise UnknownNameError(self.kind, name, [*self._items, *self._aliases])
        return key

    def get(self, name: str) -> T:
        """The object registered as ``name``; raises :class:`UnknownNameError` with suggestions."""
        return self._items[self.canonical(name)]

    def items(self) -> list[tuple[str, T]]:
        """``(name, object)`` pairs (without aliases), in registration order."""
        return list(self._items.items())
