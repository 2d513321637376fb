"""What a training carries between its parts: the networks and optimisers (:class:`Parts`), the
run in progress (:class:`Context`) and what it produced (:class:`TrainResult`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srbench.training.distributed import SINGLE, Distributed

if TYPE_CHECKING:
    from srbench.methods.trained import Architecture
    from srbench.training.config import TrainConfig
    from srbench.training.data import ValidationSet

__all__ = ["Context", "Log", "Parts", "TrainResult"]

Log = Callable[[str], None]


@dataclass
class TrainResult:
    """What a training produced.

    Attributes:
        out: The run folder.
        iterations: Iterations done in total.
        weights: The exported weights file (``None`` if training stopped early).
        card: The model card.
        installed: Where the weights were installed in the store (``None`` if not installed).
        history: Validation results, one mapping per validation.
        losses: The logged records (iteration, losses, learning rate).
    """

    out: Path
    iterations: int
    weights: Path | None = None
    card: dict[str, Any] = field(default_factory=dict)
    installed: Path | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    losses: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Parts:
    """Networks, optimisers and their companions; ``d_*`` only for GANs."""

    #: The attributes a checkpoint stores (those that are not ``None``), in this order.
    STATEFUL = ("g", "opt", "sched", "scaler", "ema", "d", "d_opt", "d_sched", "d_scaler")

    arch: Architecture
    g: Any
    opt: Any
    sched: Any
    scaler: Any
    ema: Any = None
    d: Any = None
    d_opt: Any = None
    d_sched: Any = None
    d_scaler: Any = None
    #: What the steps call (DistributedDataParallel around the networks when several processes
    #: train; :func:`~srbench.training.distributed.training_modules`).
    g_step: Any = None
    d_step: Any = None

    def eval_net(self) -> Any:
        """The network validated and exported: the EMA of the weights when enabled."""
        return self.ema.module if self.ema is not None else self.g

    def forward(self, net: Any, lr: Any, scale: int) -> Any:
        """``net`` (the generator or its EMA) on ``lr``; a multi-scale network is told the scale."""
        return net(lr, scale) if self.arch.multiscale else net(lr)


@dataclass
class Context:
    """A training in progress: its settings, networks, losses and where it writes."""

    config: TrainConfig
    parts: Parts
    losses: tuple[Any, Any]  # the generator loss, and the adversarial loss of a GAN
    device: str
    out: Path
    data: dict[str, Any]  # the training data's record for the checkpoint and card
    valsets: list[ValidationSet]
    history: list[dict[str, Any]]
    log: Log
    elapsed: float = 0.0
    stopped: str | None = None  # why training ended before `iters` ("time limit")
    where: Distributed = SINGLE  # this process's rank among those training (torchrun)
