"""The degradation interface, its registry and the spec-string parser."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from srbench.errors import SizeMismatchError, SpecError
from srbench.registry import Registry
from srbench.specs import convert, split_spec

__all__ = [
    "DEGRADATIONS",
    "Degradation",
    "DegradationContext",
    "ParsedSpec",
    "parse_spec",
    "register",
]


@dataclass(frozen=True)
class DegradationContext:
    """Where an image comes from; seeds the random degradations.

    Attributes:
        dataset: Dataset name (or folder name for a plain folder of images).
        image_id: The image's id within the dataset (its file stem).
        seed: The global seed of the run.
    """

    dataset: str
    image_id: str
    seed: int = 0


DegradeFn = Callable[[np.ndarray, int, Mapping[str, Any], np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Degradation:
    """A registered degradation.

    Attributes:
        name: Canonical (lower-case) name.
        version: Bumped whenever the output for the same input changes.
        defaults: Parameter names and defaults; a default of ``None`` is resolved per scale by
            ``resolve``. Parameter types are those of the defaults (``int`` or ``float``).
        apply: ``apply(hr, scale, params, rng) -> lr`` on an RGB ``uint8`` HR image whose sides are
            multiples of ``scale``; returns ``uint8`` of size ``HR / scale``. Randomness must come
            only from ``rng`` (seeded per image).
        resolve: Fills scale-dependent parameters (``None`` defaults).
        types: Parameter types where a default is ``None``.
        description: One line for ``--help`` and the README.
    """

    name: str
    version: str
    defaults: Mapping[str, Any]
    apply: DegradeFn
    resolve: Callable[[dict[str, Any], int], dict[str, Any]] = lambda p, s: p
    types: Mapping[str, type] = field(default_factory=dict)
    description: str = ""


DEGRADATIONS: Registry[Degradation] = Registry("degradation")


def register(degradation: Degradation, aliases: tuple[str, ...] = ()) -> Degradation:
    """Add a degradation to the registry (its name and aliases must be new)."""
    DEGRADATIONS.add(degradation.name, degradation, aliases)
    return degradation


@dataclass(frozen=True)
class ParsedSpec:
    """A degradation spec parsed and validated against its degradation's parameters."""

    degradation: Degradation
    params: Mapping[str, Any]  # as given (type-converted); unresolved ones absent

    def resolved(self, scale: int) -> dict[str, Any]:
        """All parameters with defaults and scale-dependent values filled in.

        Raises:
            SpecError: A scale below 2 (no degradation is defined there: BD's decimation offset
                ``s - 1`` would be pixel 0) or a parameter value the scale does not allow.
        """
        if not (isinstance(scale, int | np.integer) and scale >= 2):
            raise SpecError(
                f"degradation {self.degradation.name}: the scale must be an integer of at least "
                f"2 (an LR image is smaller than its HR image), got {scale!r}."
            )
        params = {**self.degradation.defaults, **self.params}
        return self.degradation.resolve(params, scale)

    def canonical(self, scale: int) -> str:
        """The spec with every parameter resolved, sorted: ``blur:ksize=7,sigma=1.6``."""
        params = self.resolved(scale)
        body = ",".join(f"{k}={_format(v)}" for k, v in sorted(params.items()))
        return f"{self.degradation.name}:{body}" if body else self.degradation.name

    def seed(self, context: DegradationContext, scale: int) -> int:
        """The per-image seed: a stable hash, independent of run order and Python's hash salt."""
        key = "\x1f".join(
            [
                context.dataset,
                context.image_id,
                str(scale),
                self.canonical(scale),
                str(context.seed),
            ]
        )
        return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")

    def __call__(self, hr: np.ndarray, scale: int, context: DegradationContext) -> np.ndarray:
        """Degrade an RGB ``uint8`` HR image (already modcropped to ``scale``).

        Raises:
            SizeMismatchError: The image is smaller than the scale (its LR would be empty).
        """
        if min(hr.shape[:2]) < scale:
            raise SizeMismatchError(
                f"image {context.image_id!r} of {context.dataset} is {hr.shape[1]}x{hr.shape[0]}, "
                f"smaller than the scale x{scale}: its LR image would be empty. Fix: remove it, "
                "or use a smaller scale."
            )
        if hr.ndim != 3 or hr.shape[2] != 3 or hr.shape[0] % scale or hr.shape[1] % scale:
            raise ValueError(
                f"degradations take an RGB HR image whose sides are multiples of the scale; got "
                f"shape {hr.shape} at x{scale}. Use imageio.to_rgb() and modcrop() first."
            )
        rng = np.random.default_rng(self.seed(context, scale))
        return self.degradation.apply(hr, scale, self.resolved(scale), rng)


def _format(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def parse_spec(spec: str) -> ParsedSpec:
    """Parse ``name`` or ``name:key=value,...`` into a validated :class:`ParsedSpec`.

    Example:
        >>> parse_spec("BD:sigma=2").canonical(4)
        'blur:ksize=14,sigma=2.0'
    """
    name, raw_params = split_spec(spec, "degradation")
    degradation = DEGRADATIONS.get(name)
    params: dict[str, Any] = {}
    for key, raw in raw_params.items():
        if key not in degradation.defaults:
            known = ", ".join(degradation.defaults) or "none"
            raise SpecError(
                f"In degradation spec {spec!r}: {degradation.name!r} has no parameter {key!r} "
                f"(parameters: {known})."
            )
        kind = degradation.types.get(key, type(degradation.defaults[key]))
        params[key] = convert(spec, "degradation", key, raw, kind)
        if params[key] < 0:
            raise SpecError(f"In degradation spec {spec!r}: {key} must not be negative, got {raw}.")
    return ParsedSpec(degradation, params)
