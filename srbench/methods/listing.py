"""``srbench ls methods``: every registered method with its card and the weights it has here."""

from __future__ import annotations

from collections.abc import Sequence

from srbench.methods import METHODS, load_method_file

__all__ = ["method_lines"]


def method_lines(method_files: Sequence[str] = ()) -> list[str]:
    """One line per registered method (name, scales, parameters, weights held, summary and
    paper) under a header, and how to get weights for trained methods. The classes of
    ``method_files`` (``path/to/file.py:Class``, as ``--method-file``) are loaded and listed
    too.

    Example:
        >>> [line.split()[0] for line in method_lines()[1:4]]
        ['nearest', 'bilinear', 'bicubic']
    """
    for target in method_files:
        load_method_file(target)
    width = max(14, *(len(name) for name, _ in METHODS.items()))
    lines = [f"{'name':{width}} {'scales':8} {'params':>11}  {'weights (tag: scales)':24} summary"]
    for name, cls in METHODS.items():
        card = cls.card
        scales = ",".join(map(str, card.scales)) if card.scales else "any"
        params = "-" if card.params is None else f"{card.params:,}"
        paper = f" [{card.paper}]" if card.paper else ""
        held = cls.weights_summary()
        lines.append(f"{name:{width}} {scales:8} {params:>11}  {held:24} {card.summary}{paper}")
    lines.append(
        "trained methods without weights: `srbench weights --fetch NAME` (authors' releases) or "
        "`srbench train METHOD`."
    )
    return lines
