"""Typed, validated configuration: the base of srbench's settings models, and the one function
that turns a mapping into one.

A model is a frozen pydantic model that refuses unknown keys. :func:`validate` reports every problem
at once as one :class:`~srbench.errors.SrbenchError`, a line per problem naming where the value came
from, its dotted key, what was given and what is allowed::

    config methods/x.yaml: optimizer.lr must be a positive number, got -1
    command line: unknown setting 'data.pach'; known: augment, batch, labels, patch, workers

Imported by ``srbench run`` and ``srbench train`` only: pydantic takes a tenth of a second to load.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal, TypeVar

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from srbench.errors import SrbenchError

__all__ = [
    "ConfigModel",
    "NonNegativeFloat",
    "NonNegativeInt",
    "PositiveFloat",
    "PositiveInt",
    "describe_errors",
    "unknown_key",
    "validate",
]

#: A key's position: field names, list indices and (dropped from messages) union branch tags.
Location = tuple[str | int, ...]
#: Where values came from: one place, or the place of each key (a layered file and overrides).
Where = str | Callable[[Location], str]

# Strict numbers: YAML's `true` or `"1e-4"` (YAML 1.1 reads 1e-4 as a string) is not a number.
PositiveInt = Annotated[int, Field(strict=True, gt=0)]
NonNegativeInt = Annotated[int, Field(strict=True, ge=0)]
PositiveFloat = Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]

Model = TypeVar("Model", bound="ConfigModel")


class ConfigModel(BaseModel):
    """Base of srbench's configuration models: frozen, no unknown keys. Build one from settings
    with :func:`validate`, whose errors say where each bad value came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def validate(model: type[Model], data: Mapping[str, Any], where: Where) -> Model:
    """``data`` as a ``model``.

    Args:
        model: A :class:`ConfigModel` subclass.
        data: The settings (nested mappings for nested models).
        where: Names the source in messages: ``"config methods/x.yaml"``, ``"command line"``, or
            a function from a key's location to the source that set it.

    Raises:
        SrbenchError: One line per problem: ``<where>: <key> must be <allowed>, got <value>``.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SrbenchError(describe_errors(exc, model, where)) from exc


def unknown_key(key: str, known: Sequence[str]) -> PydanticCustomError:
    """The error a validator raises for a key outside ``known`` (reported like an unknown field:
    ``unknown setting 'arch.evil'; known: depth, n_feats``); ``key`` may be dotted."""
    return PydanticCustomError(
        "unknown_key", "unknown key {key}", {"key": key, "known": ", ".join(sorted(known))}
    )


def describe_errors(exc: ValidationError, model: type[BaseModel], where: Where) -> str:
    """One line per error of ``exc`` (raised validating ``model``), without repeats."""
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        line = _line(error, model, where)
        if line not in lines:
            lines.append(line)
    return "\n".join(lines)


def _line(error: Any, model: type[BaseModel], where: Where) -> str:
    keys, leaf, parent = _walk(model, error["loc"])
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "unknown_key":
        keys += ctx["key"].split(".")
    place = where(tuple(keys)) if callable(where) else where
    key = _dotted(keys)
    if kind == "extra_forbidden":
        known = ", ".join(sorted(parent.model_fields)) if parent is not None else "?"
        return f"{place}: unknown setting {key!r}; known: {known}"
    if kind == "unknown_key":
        return f"{place}: unknown setting {key!r}; known: {ctx['known'] or 'none'}"
    if kind in ("value_error", "assertion_error"):
        return f"{place}: {key}: {ctx['error']}" if key else f"{place}: {ctx['error']}"
    if kind == "missing":
        return f"{place}: {key} is required ({_allowed(leaf)})"
    if kind in ("too_short", "too_long"):
        count = _length(leaf)
        return f"{place}: {key} must have {count} items, got {error['input']!r}"
    return f"{place}: {key} must be {_allowed(leaf)}, got {error['input']!r}{_hint(error)}"


def _hint(error: Any) -> str:
    """YAML 1.1 reads ``1e-4`` and ``1e5`` (no decimal point) as strings: say so."""
    value = error["input"]
    try:
        number = float(value) if isinstance(value, str) else None
    except ValueError:
        number = None
    if number is None or error["type"] not in ("float_type", "int_type"):
        return ""
    fix = f"{int(number)}" if error["type"] == "int_type" and number.is_integer() else "1.0e-4"
    return f" (YAML reads {value} as a string: write numbers like {fix})"


def _walk(model: type[BaseModel], loc: Location) -> tuple[list[str | int], Any, Any]:
    """The key path of ``loc`` without union branch tags, the annotation of its last key, and the
    model holding that key (for the list of known keys)."""
    keys: list[str | int] = []
    node: Any = model
    parent: Any = None
    for item in loc:
        target = _model_in(node)
        if target is not None and isinstance(item, str):
            parent, keys = target, [*keys, item]
            field = target.model_fields.get(item)
            node = _annotation(field) if field is not None else Any
            continue
        base, members = _unwrap(node)
        if members is not None:  # a union: an index goes into its list member; a tag is skipped
            lists = [m for m in members if typing.get_origin(_unwrap(m)[0]) in (list, tuple)]
            if not (isinstance(item, int) and lists):
                continue
            base = _unwrap(lists[0])[0]
        keys.append(item)
        origin, args = typing.get_origin(base), typing.get_args(base)
        node = (args[-1] if origin is dict else args[0]) if origin in (list, tuple, dict) else Any
    return keys, node, parent


def _annotation(field: FieldInfo) -> Any:
    """The field's annotation with its constraints (``Annotated[float, Gt(0)]``)."""
    return field.rebuild_annotation()


def _unwrap(annotation: Any) -> tuple[Any, tuple | None]:
    """``(base without Annotated, union members or None)``."""
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return annotation, typing.get_args(annotation)
    return annotation, None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds (``Model``, ``Model | None``), or None."""
    base, members = _unwrap(annotation)
    for candidate in members or (base,):
        candidate, _ = _unwrap(candidate)
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _dotted(keys: Sequence[str | int]) -> str:
    out = ""
    for key in keys:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


def _allowed(annotation: Any) -> str:
    """What a value of ``annotation`` may be, in words: ``a number in (0, 1) or null``."""
    base, members = _unwrap(annotation)
    if members is not None:
        words = [_allowed(m) for m in members if m is not type(None)]
        return " or ".join(words) + (" or null" if type(None) in members else "")
    origin = typing.get_origin(base)
    if origin is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(base)))
    if origin in (list, tuple, Sequence):
        return "a list"
    if origin in (dict, Mapping) or _model_in(base) is not None:
        return "a mapping of settings"
    if base in (int, float):
        return _number(annotation, "integer" if base is int else "number")
    return {bool: "true or false", str: "a string"}.get(base, "valid")


def _constraints(annotation: Any) -> list[Any]:
    found: list[Any] = []
    while typing.get_origin(annotation) is Annotated:
        annotation, *metadata = typing.get_args(annotation)
        for item in metadata:
            found += item.metadata if isinstance(item, FieldInfo) else [item]
    return found


def _number(annotation: Any, noun: str) -> str:
    """``a positive integer``, ``an integer >= 0``, ``a number in (0, 1]``."""
    low = next((c for c in _constraints(annotation) if isinstance(c, Gt | Ge)), None)
    high = next((c for c in _constraints(annotation) if isinstance(c, Lt | Le)), None)
    article = "an" if noun[0] in "aeiou" else "a"
    if low is not None and high is not None:
        left = f"({low.gt}" if isinstance(low, Gt) else f"[{low.ge}"
        right = f"{high.lt})" if isinstance(high, Lt) else f"{high.le}]"
        return f"{article} {noun} in {left}, {right}"
    if isinstance(low, Gt) and low.gt == 0:
        return f"a positive {noun}"
    if low is not None:
        return f"{article} {noun} " + (f"> {low.gt}" if isinstance(low, Gt) else f">= {low.ge}")
    if high is not None:
        return f"{article} {noun} " + (f"< {high.lt}" if isinstance(high, Lt) else f"<= {high.le}")
    return f"{article} {noun}"


def _length(annotation: Any) -> str:
    lengths = [c for c in _constraints(annotation) if isinstance(c, MinLen)]
    longest = [c for c in _constraints(annotation) if isinstance(c, MaxLen)]
    low = lengths[0].min_length if lengths else 0
    high = longest[0].max_length if longest else None
    return str(low) if low == high else f"{low} to {high if high is not None else 'any'}"
