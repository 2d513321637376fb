"""The configuration of ``srbench run``: what a run computes, stored in its manifest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import field_validator

from srbench.config import ConfigModel, validate

__all__ = ["DEFAULT_SCALE", "EXECUTORS", "MIN_SCALE", "RunConfig", "check_scales"]

#: The smallest scale a run or a training accepts: super-resolution enlarges, and x1 would
#: score an image against a copy of itself (PSNR inf).
MIN_SCALE = 2
#: How a run's cells are executed: in this process, or as tasks on a Ray cluster.
EXECUTORS = ("local", "ray")
#: The scale of ``srbench run`` when none is given.
DEFAULT_SCALE = 4


def check_scales(scales: tuple[int, ...]) -> str | None:
    """Why ``scales`` cannot be a run's (``None`` when they can): empty, or one below 2.

    Example:
        >>> check_scales((1, 4)).split(" (")[0]
        'every scale must be an integer of at least 2'
    """
    if not scales:
        return f"at least one scale is needed (e.g. {DEFAULT_SCALE})"
    small = [s for s in scales if s < MIN_SCALE]
    if small:
        return (
            f"every scale must be an integer of at least {MIN_SCALE} (super-resolution enlarges; "
            f"x1 would score an image against a copy of itself), got "
            f"{', '.join(map(str, small))}"
        )
    return None


class RunConfig(ConfigModel):
    """Everything that defines a run; stored in its manifest and reused by ``--resume``.

    Grid axes are tuples; ``all`` expands (datasets: the catalog's test sets; methods: every
    registered method except ``precomputed``). ``tile`` is the LR tile side (0: whole images),
    ``timeout`` the seconds one method may spend on one image (``None``: no limit), ``workers`` the
    threads that read, degrade and score beside the method (0: up to 4, one per core), ``isolate``
    whether each method runs in a worker process of its own (:mod:`srbench.run.isolation`),
    ``samples`` the draws of each stochastic method per image (:mod:`srbench.run.samples`),
    ``executor`` where the cells run (``local``, or ``ray``: :mod:`srbench.run.distributed`; it
    does not change the rows, and ``--resume`` may choose another).

    The values are checked for their types, and the scales for the rule above (at least one,
    each at least :data:`MIN_SCALE`; repeats dropped); :func:`srbench.run.plan.make_plan` checks
    the rest (tiles, names) against what is installed. Build one from settings with
    :func:`srbench.config.validate` (or :meth:`from_dict`) to get a bad value as an
    :class:`~srbench.errors.SrbenchError` naming its key; the constructor raises pydantic's
    ``ValidationError``.
    """

    datasets: tuple[str, ...] = ("all",)
    scales: tuple[int, ...] = (DEFAULT_SCALE,)
    degradations: tuple[str, ...] = ("bicubic",)
    methods: tuple[str, ...] = ("all",)
    metrics: tuple[str, ...] = ("psnr", "ssim")
    protocol: str = "y"
    shave: int | None = None
    seed: int = 0
    device: str = "auto"
    tile: int = 0
    tile_overlap: int = 8
    batch_size: int = 4
    timeout: float | None = None
    isolate: bool = False
    workers: int = 0
    save_images: bool = False
    method_files: tuple[str, ...] = ()
    accept_licence: tuple[str, ...] = ()
    samples: int = 1
    executor: str = "local"

    @field_validator("executor")
    @classmethod
    def _executor(cls, value: str) -> str:
        if value not in EXECUTORS:
            raise ValueError(f"must be one of {', '.join(EXECUTORS)}, got {value!r}")
        return value

    @field_validator("scales")
    @classmethod
    def _scales(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        why = check_scales(value)
        if why:
            raise ValueError(why)
        return tuple(dict.fromkeys(value))

    @field_validator("shave", "tile", "tile_overlap", "workers")
    @classmethod
    def _not_negative(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError(f"must be an integer >= 0, got {value}")
        return value

    @field_validator("batch_size", "samples")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be an integer >= 1, got {value}")
        return value

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """Rebuild a config from its manifest form (lists become tuples; keys this version does
        not know, from another version's manifest, are ignored).

        Raises:
            SrbenchError: A value of the wrong type, naming its key.
        """
        known = {k: v for k, v in data.items() if k in cls.model_fields}
        return validate(cls, known, "run manifest")
