"""Spec strings ``name`` or ``name:key=value,...``: how degradations and methods are addressed.

The same grammar serves both families, so one parser and one set of error messages.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from srbench.errors import SpecError

__all__ = ["convert", "split_spec", "split_specs"]


def split_spec(spec: str, what: str) -> tuple[str, dict[str, str]]:
    """Split ``name:key=value,...`` into the name and raw (string) parameters.

    Example:
        >>> split_spec("blur:sigma=2, ksize=9", "degradation")
        ('blur', {'sigma': '2', 'ksize': '9'})
    """
    name, _, body = spec.strip().partition(":")
    params: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in body.split(","))):
        key, eq, raw = item.partition("=")
        key = key.strip().lower()
        if not eq or not raw.strip() or not key:
            raise SpecError(f"In {what} spec {spec!r}: {item!r} is not of the form key=value.")
        if key in params:
            raise SpecError(f"In {what} spec {spec!r}: {key!r} is given twice.")
        params[key] = raw.strip()
    if not name.strip():
        raise SpecError(f"{what.capitalize()} spec {spec!r} has no name before ':'.")
    return name.strip(), params


def convert(spec: str, what: str, key: str, raw: str, kind: type) -> Any:
    """Convert a raw parameter to ``kind`` (int, float, bool, str or Path), or raise SpecError."""
    try:
        if kind is bool:
            lowered = raw.lower()
            if lowered not in {"1", "0", "true", "false", "yes", "no"}:
                raise ValueError
            return lowered in {"1", "true", "yes"}
        value = kind(raw)
        if kind is int and str(value) != raw.lstrip("+"):
            raise ValueError
        if kind is float and not math.isfinite(value):  # nan, inf: never a parameter value
            raise ValueError
        return Path(value).expanduser() if kind is Path else value
    except ValueError:
        raise SpecError(
            f"In {what} spec {spec!r}: {key}={raw!r} is not a valid {kind.__name__}."
        ) from None


def split_specs(value: str) -> list[str]:
    """Split a comma-separated list of specs whose own parameters are comma-separated too.

    An item of the form ``key=value`` continues the spec before it; ``;`` also separates specs.

    Example:
        >>> split_specs("bicubic,blur:sigma=2,ksize=9,noise:sigma=10")
        ['bicubic', 'blur:sigma=2,ksize=9', 'noise:sigma=10']
    """
    specs: list[str] = []
    for group in value.split(";"):
        start = len(specs)
        for item in (part.strip() for part in group.split(",")):
            continuation = "=" in item and ":" not in item.partition("=")[0]
            if continuation and len(specs) > start:
                specs[-1] += "," + item
            elif item:
                specs.append(item)
    return specs
