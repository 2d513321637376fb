"""Folder-level operations behind the CLI: degrade HR images, upscale LR images.

Both map a function over a folder's images and write ``<stem>.png`` files. A file that cannot be
read or processed is reported and skipped; every other output is still written.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from srbench import __version__
from srbench.degradations import DegradationContext, parse_spec
from srbench.errors import SrbenchError
from srbench.imageio import list_images, modcrop, read_image, to_rgb, write_png
from srbench.methods import ImageContext, Tiling, create_method, prepare_method
from srbench.methods.inference import failure_message, infer

__all__ = ["FolderResult", "degrade_folder", "upscale_folder"]

MANIFEST_NAME = "srbench.json"
logger = logging.getLogger(__name__)


@dataclass
class FolderResult:
    """What a folder operation wrote and which inputs failed (with the reason)."""

    written: list[Path] = field(default_factory=list)
    failures: list[tuple[Path, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _map_folder(
    in_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    fn: Callable[[str, np.ndarray], np.ndarray],
    desc: str,
    progress: bool,
) -> FolderResult:
    result = FolderResult()
    files = list_images(in_dir)
    out = Path(out_dir)
    if out.resolve() == Path(in_dir).resolve():
        raise SrbenchError(f"--out {out} is the input folder; choose another so inputs survive.")
    for path in tqdm(files, desc=desc, unit="img", disable=not progress):
        try:
            img = fn(path.stem, read_image(path))
        except SrbenchError as exc:
            result.failures.append((path, str(exc)))
            continue
        target = out / f"{path.stem}.png"
        write_png(target, img)
        result.written.append(target)
    return result


def _write_manifest(out_dir: str | os.PathLike[str], record: dict[str, object]) -> None:
    path = Path(out_dir) / MANIFEST_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"srbench": __version__, **record}, indent=2) + "\n")


def degrade_folder(
    hr_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    scale: int,
    spec: str = "bicubic",
    seed: int = 0,
    dataset: str | None = None,
    progress: bool = False,
) -> FolderResult:
    """Write the LR image of every HR image in ``hr_dir`` (gray HR replicated to RGB, modcropped).

    ``dataset`` (default: the HR folder's name) and ``seed`` seed random degradations per image.
    A manifest ``srbench.json`` records the canonical spec and version beside the images.
    """
    _check_scale(scale)
    parsed = parse_spec(spec)
    canonical = parsed.canonical(scale)  # validates scale-dependent parameters up front
    dataset = dataset or Path(hr_dir).resolve().name

    def degrade(image_id: str, hr: np.ndarray) -> np.ndarray:
        hr = modcrop(to_rgb(hr), scale)
        return parsed(hr, scale, DegradationContext(dataset, image_id, seed))

    result = _map_folder(hr_dir, out_dir, degrade, f"degrade x{scale}", progress)
    _write_manifest(
        out_dir,
        {
            "operation": "degrade",
            "scale": scale,
            "degradation": canonical,
            "degradation_version": parsed.degradation.version,
            "dataset": dataset,
            "seed": seed,
        },
    )
    return result


def upscale_folder(
    lr_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    scale: int,
    method: str = "bicubic",
    progress: bool = False,
) -> FolderResult:
    """Upscale every image in ``lr_dir`` by ``scale`` with a method spec (such as ``bicubic``).

    Gray LR images are replicated to RGB first (methods take RGB). Each output goes through
    :func:`srbench.methods.inference.infer`, as in ``srbench run``: checked, quantised to
    ``uint8`` as the runner does (a trained method's float output too), with the same warning
    for a [0, 1] output (logged and recorded in ``srbench.json``). A method failure fails its
    image only.
    """
    _check_scale(scale)
    label, sr_method = create_method(method)
    prepare_method(sr_method, (scale,), label)  # before any image: a bad weights file fails once
    folder = Path(lr_dir).resolve().name
    warnings: list[str] = []

    def warn(message: str) -> None:
        if not warnings:  # once per method, as srbench run does
            warnings.append(message)
            logger.warning("warning: method %s: %s", label, message)

    def upscale(image_id: str, lr: np.ndarray) -> np.ndarray:
        context = ImageContext(folder, image_id, scale, "unknown")
        try:  # the checks and the quantisation of srbench run
            return infer(sr_method, to_rgb(lr), context, Tiling(), warn=warn)[0]
        except (SrbenchError, KeyboardInterrupt):
            raise
        except BaseException as exc:  # SystemExit too: one image fails, the others are written
            raise SrbenchError(failure_message(exc)) from exc

    result = _map_folder(lr_dir, out_dir, upscale, f"{label} x{scale}", progress)
    result.warnings = warnings
    _write_manifest(
        out_dir,
        {
            "operation": "upscale",
            "scale": scale,
            "method": label,
            "method_version": sr_method.version_at(scale),
            **({"warnings": {label: warnings[0]}} if warnings else {}),
        },
    )
    return result


def _check_scale(scale: int) -> None:
    if scale < 1:
        raise SrbenchError(f"--scale must be a positive integer, got {scale}.")
