"""Training on several processes (``torchrun``): DistributedDataParallel over the sample stream.

``torchrun`` (``python -m torch.distributed.run``) starts one process per device and tells each
its ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; :func:`setup` reads them, joins the process
group (NCCL on CUDA, gloo on CPU) and puts the process on ``cuda:LOCAL_RANK``. Without them a
training is one process (:data:`SINGLE`) and nothing here changes it.

How a run of ``W`` processes equals one process with the same global batch ``B`` (config
``data.batch``, which ``W`` must divide): iteration ``t`` of one process uses samples
``t*B .. t*B + B - 1`` of the deterministic ``(seed, index)`` stream; rank ``r`` takes the
``B/W`` of them from ``t*B + r*B/W`` (:func:`rank_indices`). Each rank's loss is the mean over
its part, and DDP averages the gradients, so the update is the one of the mean over the whole
batch (up to float rounding) for networks without batch statistics. Batch norm normalises each
rank's part by its own statistics unless converted to SyncBatchNorm (done on CUDA; SyncBatchNorm
has no CPU kernel), and a relativistic GAN's mean over the batch is each rank's mean.

Rank 0 alone validates, checkpoints, logs, exports and installs; every rank keeps the same
weights, optimiser states and EMA (the same updates from the same start).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from srbench.errors import SrbenchError

__all__ = [
    "SINGLE",
    "Distributed",
    "RankIndices",
    "check_batch",
    "env_rank",
    "in_torchrun",
    "launch",
    "setup",
    "sync_batch_norm",
    "training_modules",
]

# How long a rank waits for the others in a collective: the others wait for rank 0's validation
# (and checkpoint) in their next update, which NCCL's default of 10 minutes may not cover.
TIMEOUT = timedelta(hours=1)

# Logged values that are the same on every rank (schedules), not averaged over the ranks.
_SHARED = frozenset({"lr", "d_lr", "kl_beta"})


@dataclass(frozen=True)
class Distributed:
    """Where this process stands in a multi-process training.

    Attributes:
        rank: This process's rank (0 validates, checkpoints, logs and exports).
        world_size: Number of processes.
        local_rank: Rank on this node (the CUDA device index).
        owns_group: This training initialised the process group (and destroys it at the end).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def active(self) -> bool:
        """More than one process trains."""
        return self.world_size > 1

    @property
    def main(self) -> bool:
        """This process writes the run folder."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every rank (nothing in one process)."""
        if self.active:
            import torch.distributed as dist

            dist.barrier()

    def mean(self, values: Mapping[str, float]) -> dict[str, float]:
        """The logged values averaged over the ranks (each rank's over its equal part of the
        batch, so the mean is the global batch's); schedule values are shared and kept."""
        if not self.active:
            return dict(values)
        import torch
        import torch.distributed as dist

        keys = [k for k in values if k not in _SHARED]
        summed = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
        summed = summed.to(self._device())
        dist.all_reduce(summed)
        means = (summed.cpu() / self.world_size).tolist()
        return {k: (means[keys.index(k)] if k in keys else values[k]) for k in values}

    def agree(self, flag: bool) -> bool:
        """Rank 0's ``flag`` on every rank (decisions taken from a clock, such as a time
        limit, must not differ between ranks)."""
        if not self.active:
            return flag
        import torch
        import torch.distributed as dist

        value = torch.tensor([int(flag)], device=self._device())
        dist.broadcast(value, 0)
        return bool(value.item())

    @contextmanager
    def local_first(self) -> Iterator[None]:
        """Local rank 0 runs the body first (downloads, decoding into a shared cache), the
        other ranks after it."""
        if self.active and self.local_rank != 0:
            self.barrier()
        yield
        if self.active and self.local_rank == 0:
            self.barrier()

    def close(self) -> None:
        """Leave the process group if this training joined it."""
        if self.owns_group:
            import torch.distributed as dist

            dist.destroy_process_group()

    def _device(self) -> str:
        import torch.distributed as dist

        return f"cuda:{self.local_rank}" if dist.get_backend() == "nccl" else "cpu"


SINGLE = Distributed()


def setup(device: str, log: Any = lambda _: None) -> tuple[Distributed, str]:
    """Join the torchrun process group when the environment names one; ``(where, device)``
    with the device of this rank (``cuda:LOCAL_RANK`` when training on CUDA).

    Raises:
        SrbenchError: ``WORLD_SIZE`` or ``RANK`` are not integers.
    """
    if int(_env("WORLD_SIZE", "1")) <= 1:
        return SINGLE, device
    import torch
    import torch.distributed as dist

    rank, world, local = (int(_env(k, "0")) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    cuda = device.startswith("cuda")
    if cuda:
        device = f"cuda:{local}"
        torch.cuda.set_device(local)
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group(
            "nccl" if cuda else "gloo", rank=rank, world_size=world, timeout=TIMEOUT
        )
    where = Distributed(rank, world, local, owns)
    if where.main:
        log(f"distributed: {world} processes ({'nccl' if cuda else 'gloo'}), this one rank 0")
    return where, device


def in_torchrun() -> bool:
    """This process was started by torchrun (or another launcher setting ``WORLD_SIZE``)."""
    return "WORLD_SIZE" in os.environ


def launch(nproc: int, args: Sequence[str]) -> int:
    """``srbench ARGS`` in ``nproc`` processes on this machine through torch's elastic launcher
    (``torchrun --standalone --nproc-per-node NPROC -m srbench ARGS``); the exit status: 0, or
    the first failed process's."""
    import sys

    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    options = parse_args(
        ["--standalone", "--nproc-per-node", str(nproc), "-m", "srbench", "train", *args]
    )
    try:
        run(options)
    except ChildFailedError as exc:
        codes = [f.exitcode for f in exc.failures.values()]
        print(exc.format_msg(), file=sys.stderr)
        return next((c for c in codes if c > 0), 1)
    return 0


def env_rank() -> int:
    """This process's rank as torchrun names it (0 outside torchrun): only rank 0 talks."""
    return int(_env("RANK", "0"))


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, default)
    if not value.strip().isdigit():
        raise SrbenchError(f"environment {name}={value!r}: expected a non-negative integer.")
    return value


def check_batch(batch: int, world_size: int) -> None:
    """The global batch splits evenly over the processes.

    Raises:
        SrbenchError: It does not.
    """
    if batch % world_size:
        raise SrbenchError(
            f"data.batch {batch} is the global batch and must be divisible by the number of "
            f"processes ({world_size}). Fix: a data.batch that is a multiple of {world_size}, "
            "or another number of processes."
        )


class RankIndices(Sequence[int]):
    """The sample indices rank ``rank`` of ``world_size`` draws from iteration ``start`` on:
    for each iteration ``t``, ``t*batch + rank*part .. + part - 1`` with ``part = batch /
    world_size`` (one process: every index from ``start * batch``)."""

    def __init__(self, start: int, iters: int, batch: int, rank: int, world_size: int) -> None:
        self.start, self.batch, self.rank = start, batch, rank
        self.part = batch // world_size
        self.count = max(iters - start, 0) * self.part

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, position: int) -> int:  # type: ignore[override]
        if not 0 <= position < self.count:
            raise IndexError(position)
        iteration, within = divmod(position, self.part)
        return (self.start + iteration) * self.batch + self.rank * self.part + within


def training_modules(parts: Any, device: str, where: Distributed) -> None:
    """Set ``parts.g_step`` and ``parts.d_step``, what the training steps call: the generator
    (a VAE's posterior pass) and a GAN's discriminator on real and generated images, each in
    DistributedDataParallel when several processes train (their gradients averaged over the
    ranks). Batch norm becomes SyncBatchNorm on CUDA (:func:`sync_batch_norm`)."""
    import torch

    class Posterior(torch.nn.Module):
        """A conditional VAE's training pass as ``forward`` (the pass DDP synchronises)."""

        def __init__(self, g: Any) -> None:
            super().__init__()
            self.g = g

        def forward(self, lr: Any, hr: Any, noise: Any, rows: Any = None) -> Any:
            return self.g.posterior_forward(lr, hr, noise, rows)

    class Judge(torch.nn.Module):
        """The discriminator on real and generated images in one forward (one DDP pass per
        update): ``((real logits, classes), (fake logits, classes))``."""

        def __init__(self, d: Any) -> None:
            super().__init__()
            self.d = d

        def forward(self, real: Any, fake: Any) -> tuple[Any, Any]:
            return judge(self.d, real), judge(self.d, fake)

    arch = parts.arch
    sync_batch_norm(parts.g, device, where)
    g = Posterior(parts.g) if arch.variational else parts.g
    # MDSR uses one scale's head and tail per batch: DDP must look for unused parameters.
    parts.g_step = wrap(g, device, where, find_unused=arch.multiscale or arch.variational)
    if parts.d is not None:
        sync_batch_norm(parts.d, device, where)
        parts.d_step = wrap(Judge(parts.d), device, where)


def judge(d: Any, x: Any) -> tuple[Any, Any]:
    """Validity logits and, from an ACGAN discriminator, class logits (else ``None``)."""
    return d.forward_with_classes(x) if getattr(d, "n_classes", 0) else (d(x), None)


def wrap(net: Any, device: str, where: Distributed, find_unused: bool = False) -> Any:
    """``net`` in DistributedDataParallel (gradients averaged over the ranks), or ``net``
    itself in one process."""
    if not where.active:
        return net
    from torch.nn.parallel import DistributedDataParallel

    ids = [int(device.split(":")[1])] if device.startswith("cuda:") else None
    return DistributedDataParallel(net, device_ids=ids, find_unused_parameters=find_unused)


def sync_batch_norm(net: Any, device: str, where: Distributed) -> Any:
    """Batch norm over the whole global batch (SyncBatchNorm) on CUDA; unchanged elsewhere
    (SyncBatchNorm has no CPU kernel: there each rank normalises by its own part)."""
    if not (where.active and device.startswith("cuda")):
        return net
    import torch

    return torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
