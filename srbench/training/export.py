"""The end of a training: the exported weights (``model/<method>-x<s>-<sha8>.pt``), their model
card beside them (``.json``), and their installation in the weights store as a tag."""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Mapping
from typing import Any

from srbench.degradations import parse_spec
from srbench.system.files import atomic_path
from srbench.system.provenance import now
from srbench.training.state import Context, TrainResult

__all__ = ["export"]


def export(context: Context, iteration: int, result: TrainResult, tag: str | None) -> None:
    """Write the weights validated (the EMA's when enabled) and their card into ``out/model``;
    install them as ``<method>:tag=<tag>`` unless ``tag`` is ``None``. Fills ``result``.

    Raises:
        UnsafeNameError: ``tag`` is not a plain folder name (checked before anything is written;
            :func:`srbench.training.loop.train` checks it before training, too).
    """
    import torch

    from srbench.system.provenance import library_versions
    from srbench.weights import tags as weightstore

    if tag:
        weightstore.check_tag(tag)

    arch, scales = context.parts.arch, context.config.scales
    state = {k: v.detach().cpu() for k, v in context.parts.eval_net().state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    digest = hashlib.sha256(buffer.getbuffer()).hexdigest()
    name = f"{arch.name}-x{'-'.join(map(str, scales))}-{digest[:8]}.pt"
    folder = context.out / "model"
    with atomic_path(folder / name) as tmp:
        tmp.write_bytes(buffer.getbuffer())
    params = sum(p.numel() for p in context.parts.g.parameters() if p.requires_grad)
    card = _card(context, iteration, name, digest, params, library_versions())
    (folder / name).with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    result.weights, result.card = folder / name, card
    if tag:
        result.installed = weightstore.install(folder / name, card, arch.name, tag)
        context.log(f"installed as {arch.name}:tag={tag} ({result.installed})")


def _card(
    context: Context,
    iteration: int,
    name: str,
    digest: str,
    params: int,
    versions: Mapping[str, Any],
) -> dict[str, Any]:
    from srbench.weights.tags import CARD_FORMAT

    config, scales = context.config.model_dump(mode="json"), context.config.scales
    canonical = parse_spec(context.config.degradation).canonical(scales[0])
    return {
        "format": CARD_FORMAT,
        "method": config["method"],
        "scales": list(scales),
        "file": name,
        "sha256": digest,
        "params": params,
        "created": now(),
        "arch": {"net": context.parts.arch.net, "kwargs": config["arch"]},
        "training": _training(context, iteration, canonical, config),
        "validation": context.history[-1] if context.history else None,
        "versions": versions,
    }


def _training(
    context: Context, iteration: int, canonical: str, config: dict[str, Any]
) -> dict[str, Any]:
    """The card's ``training`` section: data, degradation, progress, speed and the config."""
    from srbench.system.device import describe_device

    its = iteration / context.elapsed if context.elapsed else math.nan
    return {
        "summary": f"{context.data['name']} ({context.data['used']} images), {canonical}, "
        f"{iteration} iterations",
        "data": context.data,
        "degradation": canonical,
        "iterations": iteration,
        "planned_iterations": config["iters"],
        "stopped": context.stopped,
        "batch": config["data"]["batch"],  # the global batch, over every process
        "world_size": context.where.world_size,
        "lr_patch": config["data"]["patch"],
        "ema": config["ema"],
        "device": describe_device(context.device)
        + (f" x {context.where.world_size} processes" if context.where.active else ""),
        "seconds": round(context.elapsed, 1),
        "iterations_per_second": round(its, 3),
        "config": config,
    }
