"""The configuration of ``srbench run``: what a run computes, stored in its manifest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from srbench.config import ConfigModel, validate

__all__ = ["RunConfig"]


class RunConfig(ConfigModel):
    """Everything that defines a run; stored in its manifest and reused by ``--resume``.

    Grid axes are tuples; ``all`` expands (datasets: the catalog's test sets; methods: every
    registered method except ``precomputed``). ``tile`` is the LR tile side (0: whole images),
    ``timeout`` the seconds one method may spend on one image (``None``: no limit), ``workers`` the
    threads that read, degrade and score beside the method (0: up to 4, one per core), ``isolate``
    whether each method runs in a worker process of its own (:mod:`srbench.run.isolation`).

    The values are checked for their types only; :func:`srbench.run.pipeline.run` checks the
    rest (scales, tiles, names) against what is installed.
    """

    datasets: tuple[str, ...] = ("all",)
    scales: tuple[int, ...] = (4,)
    degradations: tuple[str, ...] = ("bicubic",)
    methods: tuple[str, ...] = ("all",)
    metrics: tuple[str, ...] = ("psnr", "ssim")
    protocol: str = "y"
    shave: int | None = None
    seed: int = 0
    device: str = "auto"
    tile: int = 0
    tile_overlap: int = 16
    batch_size: int = 4
    timeout: float | None = None
    isolate: bool = False
    workers: int = 0
    save_images: bool = False
    method_files: tuple[str, ...] = ()
    accept_licence: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """Rebuild a config from its manifest form (lists become tuples; keys this version does
        not know, from another version's manifest, are ignored).

        Raises:
            SrbenchError: A value of the wrong type, naming its key.
        """
        known = {k: v for k, v in data.items() if k in cls.model_fields}
        return validate(cls, known, "run manifest")
