"""Checkpoints of a training (``checkpoints/last.pt``, the one before as ``previous.pt``): what
they hold, saving and restoring them, whether a resumed training matches its checkpoint, and the
logs cut back to the checkpoint a training resumes from."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from srbench.config import validate
from srbench.errors import CheckpointError, SrbenchError
from srbench.methods.trained import architectures
from srbench.system.files import atomic_path
from srbench.training.config import TrainConfig
from srbench.training.state import Context, Parts
from srbench.weights.loading import describe, read_file

__all__ = [
    "CHECKPOINT_FORMAT",
    "check_data",
    "read_log",
    "restore",
    "save",
    "start_state",
    "truncate_logs",
]

CHECKPOINT_FORMAT = "srbench-train-checkpoint/1"
# Settings a resumed training must share with its checkpoint (others, like iters, may grow).
_IDENTITY = (
    "method",
    "scale",
    "arch",
    "degradation",
    "data",
    "loss",
    "discriminator",
    "vae",
    "stages",
    "seed",
)


def start_state(checkpoint: Path, config: TrainConfig, resume: bool) -> Any:
    """The checkpoint's contents to resume from (``None`` for a new training).

    Raises:
        CheckpointError: A new training over an existing one, ``resume`` without a checkpoint,
            a damaged checkpoint, or one trained with other settings.
    """
    if not resume:
        if checkpoint.is_file():
            raise CheckpointError(
                f"{checkpoint.parent.parent} already holds a training ({checkpoint}); pass "
                "--resume to continue it, or another --out to start a new one."
            )
        return None
    if not checkpoint.is_file():
        raise CheckpointError(
            f"--resume: there is no checkpoint {checkpoint}. Drop --resume to start training."
        )
    state = read_file(checkpoint, "checkpoint")
    if state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{checkpoint} is not an srbench training checkpoint (format {CHECKPOINT_FORMAT})."
        )
    _check_identity(checkpoint, _saved_config(checkpoint, state["config"]), config.model_dump())
    return state


def check_data(state: Mapping[str, Any], checkpoint: Path, data: str, record: Mapping) -> None:
    """A training resumes on the data it was trained on (the same version)."""
    if state["data"].get("version") != record["version"]:
        raise CheckpointError(
            f"{checkpoint} was trained on {state['data']['name']} ({state['data']['version']}); "
            f"--data {data} is {record['name']} ({record['version']}). Resume with the same data."
        )


def _saved_config(checkpoint: Path, saved: Mapping[str, Any]) -> dict[str, Any]:
    """A checkpoint's configuration read back through :class:`TrainConfig` (as it dumps)."""
    try:
        return validate(TrainConfig, saved, f"checkpoint {checkpoint}").model_dump()
    except SrbenchError as exc:
        raise CheckpointError(
            f"{checkpoint} holds a configuration this srbench does not accept:\n{exc}"
        ) from exc


def _check_identity(checkpoint: Path, saved: dict[str, Any], config: dict[str, Any]) -> None:
    differ = [k for k in _IDENTITY if _identity(saved, k) != _identity(config, k)]
    if not differ:
        return
    arch = architectures().get(saved["method"])
    what = describe(arch, _as_tuple(saved["scale"]), saved["arch"]) if arch else "?"
    raise CheckpointError(
        f"{checkpoint} holds {what} trained with other settings ({', '.join(differ)}: "
        + "; ".join(f"{k} {saved.get(k)!r} vs {config.get(k)!r}" for k in differ)
        + "). Fix: resume with the checkpoint's method, scale and config, or use another --out."
    )


def _identity(config: Mapping[str, Any], key: str) -> Any:
    """A setting as far as it changes the result (DataLoader workers do not: samples depend
    only on the seed and their index; the last stage may grow, as ``iters`` may)."""
    value = config.get(key)
    if key == "data" and isinstance(value, Mapping):
        return {k: v for k, v in value.items() if k != "workers"}
    if key == "stages" and isinstance(value, Mapping):
        return {k: v for k, v in value.items() if k != "finetune"}
    return value


def _as_tuple(scale: Any) -> tuple[int, ...]:
    return tuple(scale) if isinstance(scale, list) else (scale,)


def save(context: Context, iteration: int) -> None:
    """Write ``checkpoints/last.pt`` atomically (the last one becomes ``previous.pt``) and
    refresh ``log.csv``."""
    import torch

    state = {
        "format": CHECKPOINT_FORMAT,
        "config": context.config.model_dump(mode="json"),
        "iteration": iteration,
        "data": context.data,
        "history": context.history,
        "elapsed": context.elapsed,
        "rng": {"torch": torch.get_rng_state()},
    }
    if context.config.stages is not None:  # where in a NoGAN schedule (for people and logs)
        name, within = context.config.stages.at(iteration - 1)
        state["stage"] = {"name": name, "iteration": within + 1}
    for name in Parts.STATEFUL:
        item = getattr(context.parts, name)
        if item is not None:
            state[name] = item.state_dict()
    if torch.cuda.is_available():
        state["rng"]["cuda"] = torch.cuda.get_rng_state_all()
    last = context.out / "checkpoints" / "last.pt"
    with atomic_path(last) as tmp:
        torch.save(state, tmp)
        if last.is_file():
            last.replace(last.with_name("previous.pt"))
    _write_csv(context.out)


def _write_csv(out: Path) -> None:
    import pandas as pd

    records = read_log(out)
    if records:
        with atomic_path(out / "log.csv") as tmp:
            pd.DataFrame.from_records(records).to_csv(tmp, index=False)


def restore(parts: Parts, state: Mapping[str, Any], device: str) -> tuple[int, list]:
    """Load a checkpoint's states into ``parts`` and the random state; ``(iteration, history)``.

    Raises:
        CheckpointError: The checkpoint lacks a state the training needs.
    """
    import torch

    for name in Parts.STATEFUL:
        item = getattr(parts, name)
        if item is None:
            continue
        if name not in state:
            raise CheckpointError(f"the checkpoint has no {name} state; it is incomplete.")
        item.load_state_dict(state[name])
    torch.set_rng_state(state["rng"]["torch"])
    if "cuda" in state["rng"] and device.startswith("cuda"):
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return int(state["iteration"]), list(state["history"])


def read_log(out: Path, name: str = "log.jsonl") -> list[dict[str, Any]]:
    """The records of ``out/name`` (one JSON object a line), or ``[]`` without the file."""
    path = out / name
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def truncate_logs(out: Path, iteration: int) -> None:
    """Drop lines logged after the checkpoint a training resumes from (they will be redone)."""
    for name in ("log.jsonl", "validation.jsonl"):
        kept = [r for r in read_log(out, name) if r["iteration"] <= iteration]
        if (out / name).is_file():
            with atomic_path(out / name) as tmp:
                tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
