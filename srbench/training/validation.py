"""Validation during training: PSNR and SSIM of the network on held-out images (``--val``),
measured by the benchmark's own metric code and protocol, logged to ``validation.jsonl``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from srbench.training.config import TrainConfig
from srbench.training.data import ValidationSet, validation_set
from srbench.training.state import Context, Log

__all__ = ["validate", "validation_sets"]


def validation_sets(
    config: TrainConfig, degradation: Any, accept_licence: Sequence[str], log: Log
) -> list[ValidationSet]:
    """The held-out images at each trained scale (none without ``validation.data``)."""
    token = config.validation.data
    if not token:
        log("no validation data (--val DATA): the model card will carry no validation scores")
        return []
    images, seed = config.validation.images, config.seed
    return [
        validation_set(token, s, degradation, images, seed, accept_licence) for s in config.scales
    ]


def validate(context: Context, iteration: int) -> None:
    """Score the network (its EMA when enabled) on the validation sets; record and log it."""
    import torch

    from srbench.metrics.protocols import get_protocol

    if not context.valsets:
        return
    net = context.parts.eval_net()
    net.eval()
    protocol = get_protocol()
    record: dict[str, Any] = {"iteration": iteration}
    with torch.inference_mode():
        for valset in context.valsets:
            scale = valset.pairs[0][2].shape[0] // valset.pairs[0][1].shape[0]
            record[f"x{scale}"] = _score(context, net, valset, scale, protocol)
    context.parts.g.train()
    context.history.append(record)
    with open(context.out / "validation.jsonl", "a") as handle:
        handle.write(json.dumps(record) + "\n")
    scores = "; ".join(
        f"{k} psnr {v['psnr']:.3f} ssim {v['ssim']:.4f}" for k, v in record.items() if k[0] == "x"
    )
    context.log(f"iteration {iteration}: validation {scores}")


def _score(context: Context, net: Any, valset: ValidationSet, scale: int, protocol: Any) -> dict:
    """Mean PSNR and SSIM of ``net`` over one validation set."""
    import torch

    from srbench.imageio import quantize
    from srbench.metrics import score_pair

    scores = []
    for _, lr, hr in valset.pairs:
        x = torch.from_numpy(lr.transpose(2, 0, 1).copy()).float()[None] / 255.0
        y = context.parts.forward(net, x.to(context.device), scale)
        sr = quantize(y[0].float().cpu().numpy().transpose(1, 2, 0) * 255.0)
        scores.append(score_pair(sr, hr, scale, protocol, ("psnr", "ssim")))
    return {
        "dataset": valset.name,
        "images": len(scores),
        "protocol": protocol.key(scale),
        **{m: float(np.mean([s[m] for s in scores])) for m in ("psnr", "ssim")},
    }
