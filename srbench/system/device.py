"""Choosing the compute device without making torch a dependency of the weight-free path."""

from __future__ import annotations

import importlib.util

from srbench.errors import SrbenchError

__all__ = ["describe_device", "resolve_device"]


def _torch():  # noqa: ANN202
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    return torch


def resolve_device(requested: str = "auto") -> str:
    """``auto`` picks ``cuda`` when torch sees a GPU, else ``cpu``; an explicit device is checked.

    Example:
        >>> resolve_device("cpu")
        'cpu'
    """
    requested = requested.strip().lower()
    if requested == "cpu":
        return "cpu"
    torch = _torch()
    cuda = torch is not None and torch.cuda.is_available()
    if requested == "auto":
        return "cuda" if cuda else "cpu"
    if requested.startswith("cuda"):
        if not cuda:
            why = "torch is not installed" if torch is None else "torch sees no CUDA device"
            raise SrbenchError(f"--device {requested}: {why}. Use --device cpu or auto.")
        return requested
    raise SrbenchError(f"--device {requested!r}: expected auto, cpu, cuda or cuda:N.")


def describe_device(device: str) -> str:
    """A human-readable device name for manifests and runtime protocols (``cuda:0 (H100)``)."""
    if not device.startswith("cuda"):
        return device
    torch = _torch()
    index = torch.device(device).index or 0
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"


def synchronize(device: str) -> None:
    """Wait for queued GPU work, so runtimes measure the computation and not its launch."""
    if device.startswith("cuda"):
        _torch().cuda.synchronize(device)
