"""``srbench ls degradations``: every registered degradation."""

from __future__ import annotations

from srbench.degradations import DEGRADATIONS

__all__ = ["degradation_lines"]


def degradation_lines() -> list[str]:
    """One line per registered degradation: name, version and description.

    Example:
        >>> degradation_lines()[0].split()[:2]
        ['bicubic', 'v1']
    """
    return [f"{n:10} v{d.version}  {d.description}" for n, d in DEGRADATIONS.items()]
