"""The images behind a visual comparison: an HR image and the SR images a run made of it.

:func:`sr_images` reads the PNGs ``srbench run --save-images`` kept, and recomputes the others
exactly as the run did (same dataset, degradation spec, seed, method spec and tiling), so a
figure can show any image of any run. :func:`srbench.report.comparison.comparison_grid` draws
them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from srbench.catalog.resolve import Dataset, resolve_dataset
from srbench.degradations import DegradationContext, parse_spec
from srbench.errors import RunError, SrbenchError
from srbench.imageio import modcrop, read_image, to_rgb
from srbench.methods import (
    METHODS,
    ImageContext,
    SRMethod,
    Tiling,
    create_method,
    load_method_file,
    prepare_method,
)
from srbench.methods.inference import infer
from srbench.run.cells import image_path
from srbench.run.plan import expand_methods
from srbench.specs import split_spec
from srbench.store import MANIFEST, read_manifest, read_run
from srbench.system.device import resolve_device

__all__ = ["sr_images"]


def sr_images(
    results_dir: str | os.PathLike[str],
    run_id: str,
    dataset: str,
    scale: int,
    degradation: str,
    image_id: str,
    methods: Sequence[str],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The modcropped RGB HR image and each method's SR image (by label, in ``methods`` order).

    A saved PNG is read when the run kept one; otherwise the SR image is recomputed. The
    recomputation refuses to run when the dataset, degradation or method has a different
    version than the run recorded, since its output would not be the image the run scored.

    Raises:
        RunError: No such run, or the run did not score this image with one of ``methods``
            (or that cell failed).
        SrbenchError: The image can no longer be reproduced (versions changed, dataset gone).
    """
    run_dir = Path(results_dir) / "runs" / run_id
    if not (run_dir / MANIFEST).is_file():
        raise RunError(f"no run {run_id!r} in {run_dir.parent}; `srbench ls runs` lists them.")
    manifest = read_manifest(run_dir)
    canonical = parse_spec(degradation).canonical(scale)
    cell = _cell(results_dir, run_id, dataset, scale, canonical, image_id)
    scored = _scored(cell, run_id, image_id, methods)
    data = _dataset(manifest, dataset)
    _check_version(f"dataset {dataset}", cell["dataset_version"].iloc[0], data.version)
    hr = modcrop(to_rgb(data.load(image_id)), scale)
    context = ImageContext(data.name, image_id, scale, canonical)
    config = manifest["config"]
    lr: np.ndarray | None = None
    outputs: dict[str, np.ndarray] = {}
    for label in methods:
        saved = image_path(run_dir, context, label)
        if saved.is_file():
            outputs[label] = read_image(saved)
            continue
        if lr is None:  # degraded once, on first need, as the runner does
            spec = parse_spec(canonical)
            _check_version(
                "degradation", cell["degradation_version"].iloc[0], spec.degradation.version
            )
            lr = spec(hr, scale, DegradationContext(data.name, image_id, config["seed"]))
        method = _method(manifest, label)
        prepare_method(method, (scale,), label)
        _check_version(f"method {label}", scored.at[label, "method_version"], method.card.version)
        tiling = Tiling(config["tile"], config["tile_overlap"], config["batch_size"])
        outputs[label], _ = infer(method, lr, context, tiling)
    return hr, outputs


def _cell(
    results_dir: str | os.PathLike[str],
    run_id: str,
    dataset: str,
    scale: int,
    canonical: str,
    image_id: str,
) -> pd.DataFrame:
    """The run's store rows of one image (every method and metric)."""
    rows = read_run(Path(results_dir) / "runs" / run_id)
    cell = rows[
        (rows["dataset"] == dataset)
        & (rows["scale"] == scale)
        & (rows["degradation"] == canonical)
        & (rows["image"] == image_id)
    ]
    if cell.empty:
        raise RunError(
            f"run {run_id} has no {dataset} image {image_id!r} at x{scale} with {canonical}."
        )
    return cell


def _scored(cell: pd.DataFrame, run_id: str, image_id: str, methods: Sequence[str]) -> pd.DataFrame:
    """One row per method of ``cell``, once every one of ``methods`` is known to have scored
    the image without an error."""
    scored = cell.drop_duplicates("method").set_index("method")
    for label in methods:
        if label not in scored.index:
            raise RunError(
                f"run {run_id} did not run {label!r} on {image_id}; it ran "
                f"{', '.join(scored.index)}."
            )
        if isinstance(scored.at[label, "error"], str):
            raise RunError(
                f"{label} failed on {image_id} in run {run_id}: {scored.at[label, 'error']}"
            )
    return scored


def _check_version(what: str, recorded: str, current: str) -> None:
    if str(recorded) != str(current):
        raise SrbenchError(
            f"{what} is version {current} now but {recorded} in the run, so its image cannot be "
            "recomputed as the run made it; re-run with --save-images."
        )


def _dataset(manifest: dict[str, Any], name: str) -> Dataset:
    record = next((d for d in manifest.get("datasets", []) if d["name"] == name), None)
    if record is None:
        raise RunError(f"run {manifest['run_id']} has no dataset {name!r}.")
    # a folder is found again by its path; catalog sets and `sample` by name
    token = record["location"] if record["kind"] == "folder" else name
    licences = manifest["config"].get("accept_licence", ())
    return resolve_dataset(token, accept_licence=licences, progress=False)


def _method(manifest: dict[str, Any], label: str) -> SRMethod:
    """Build the method the run labelled ``label`` from the run's method specs."""
    config = manifest["config"]
    for target in config.get("method_files", ()):
        load_method_file(target)
    name = manifest["methods"][label]["name"]
    for spec in expand_methods(config["methods"]):
        cls = METHODS.get(split_spec(spec, "method")[0])
        if cls.card.name != name:  # only specs of the right class are instantiated
            continue
        device = resolve_device(config["device"]) if cls.card.uses_device else "cpu"
        made, method = create_method(spec, device)
        if made == label:
            return method
    raise SrbenchError(f"no method spec of run {manifest['run_id']} gives the label {label!r}.")
