"""The training loop of ``srbench train``: resumable, logged, validated through the benchmark's
own metric code, and ending in exported weights with a model card.

The run folder (``--out``) holds::

    checkpoints/last.pt      everything needed to continue bit-for-bit (written atomically;
    checkpoints/previous.pt  the one before, kept in case the last is damaged)
    log.jsonl, log.csv       one line per logged iteration (losses, learning rate, speed)
    validation.jsonl         PSNR/SSIM on the held-out images at each validation
    model/<method>-x<s>-<sha8>.pt + .json   the exported weights and their model card

This module runs the iterations (:func:`train`, the generator and discriminator steps); the
networks come from :mod:`~srbench.training.build`, checkpoints from
:mod:`~srbench.training.checkpoint`, validation from :mod:`~srbench.training.validation` and the
exported weights from :mod:`~srbench.training.export`. Under torchrun each process runs it on
its part of every batch (:mod:`~srbench.training.distributed`); rank 0 alone writes the run
folder.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from srbench.config import validate
from srbench.degradations import parse_spec
from srbench.errors import SrbenchError
from srbench.training import distributed
from srbench.training.build import build_losses, build_parts, initialise
from srbench.training.checkpoint import (
    check_data,
    read_log,
    restore,
    save,
    start_state,
    truncate_logs,
)
from srbench.training.config import TrainConfig
from srbench.training.data import PatchPairs, TrainingImages, load_images, loader_workers
from srbench.training.distributed import judge
from srbench.training.export import export
from srbench.training.state import Context, Log, TrainResult
from srbench.training.validation import validate as run_validation
from srbench.training.validation import validation_sets

__all__ = ["TrainResult", "train"]


def train(
    config: TrainConfig | Mapping[str, Any],
    data: str,
    out: Path,
    *,
    resume: bool = False,
    device: str = "cpu",
    tag: str | None = "trained",
    validation: str | None = None,
    accept_licence: Sequence[str] = (),
    progress: bool = True,
    log: Log = lambda _: None,
    random_vgg: bool = False,
) -> TrainResult:
    """Train ``config`` on ``data`` (a catalog set or a folder) into ``out``.

    Args:
        config: A configuration from :func:`srbench.training.config.load_config` (or the
            mapping it dumps to).
        data: Training images: a dataset name (``div2k-train``) or a folder.
        out: Run folder; holds checkpoints, logs and the exported weights.
        resume: Continue from ``out/checkpoints/last.pt``.
        device: ``cpu``, ``cuda`` or ``cuda:N`` (already resolved).
        tag: Install the exported weights in the store under this tag (``None``: do not).
        validation: Held-out images (name or folder) for PSNR/SSIM; overrides the config's.
        accept_licence: Dataset ids whose licence the user accepted (DIV2K).
        progress: Show a progress bar.
        log: Receives one line per event (start, validation, checkpoint, end).
        random_vgg: Randomly initialised VGG for perceptual losses (tests only).

    Raises:
        UnsafeNameError: ``tag`` is not a plain folder name (``../x``, ``/abs``, ``.hidden``).
        CheckpointError: ``resume`` without a checkpoint, a checkpoint of another configuration,
            or a damaged checkpoint.
        SrbenchError: Bad data or configuration.
    """
    from srbench.weights.tags import check_tag

    if tag:
        check_tag(tag)  # a tag names a folder of the weights store: refused before any work
    if not isinstance(config, TrainConfig):
        config = validate(TrainConfig, config, "train config")
    where, device = distributed.setup(device, log)
    try:
        distributed.check_batch(config.data.batch, where.world_size)
        return _train(
            config,
            data,
            out,
            where,
            device,
            resume=resume,
            tag=tag,
            validation=validation,
            accept_licence=accept_licence,
            progress=progress,
            log=log if where.main else _quiet,
            random_vgg=random_vgg,
        )
    finally:
        where.close()


def _quiet(_: str) -> None:
    """The log of ranks other than 0 (rank 0 says it once)."""


def _train(
    config: TrainConfig,
    data: str,
    out: Path,
    where: distributed.Distributed,
    device: str,
    *,
    resume: bool,
    tag: str | None,
    validation: str | None,
    accept_licence: Sequence[str],
    progress: bool,
    log: Log,
    random_vgg: bool,
) -> TrainResult:
    """:func:`train` in this process (one of several under torchrun, see ``where``)."""
    import torch

    checkpoint = out / "checkpoints" / "last.pt"
    state = start_state(checkpoint, config, resume)
    if where.main:
        out.mkdir(parents=True, exist_ok=True)
    degradation = parse_spec(config.degradation)
    with where.local_first():  # one download into a node's cache
        training = _training_images(data, config, accept_licence, progress and where.main, log)
        held_out = config.validation.model_copy(
            update={"data": validation or config.validation.data}
        )
        config = config.model_copy(update={"validation": held_out})
        valsets = validation_sets(config, degradation, accept_licence, log)
    if state is not None:
        check_data(state, checkpoint, data, training.record)

    torch.manual_seed(config.seed)
    parts = build_parts(config, device, len(training.classes), log)
    losses = build_losses(config, device, random_vgg)
    context = Context(config, parts, losses, device, out, training.record, valsets, [], log)
    context.where = where
    start = _begin(context, state, checkpoint)
    distributed.training_modules(parts, device, where)  # after the weights are in place
    pairs = _pairs(config, training, degradation, parts)
    iteration = _loop(context, pairs, start, progress and where.main)
    result = TrainResult(out, iteration, history=context.history, losses=read_log(out))
    if where.main and (iteration >= config.iters or context.stopped):
        export(context, iteration, result, tag)
    where.barrier()  # the others end once the weights are written and installed
    return result


def _training_images(
    data: str, config: TrainConfig, accept_licence: Sequence[str], progress: bool, log: Log
) -> TrainingImages:
    """The decoded training images large enough for a patch (with class labels from class
    folders unless ``data.labels`` is ``none``)."""
    side = config.data.patch * max(config.scales)
    labels = config.data.labels == "auto"
    training = load_images(data, side, accept_licence, progress, labels)
    if training.small:
        log(
            f"training data: {len(training.small)} image(s) smaller than {side}x{side} are not used"
        )
    if training.classes:
        names = ", ".join(training.classes[:5]) + (", ..." if len(training.classes) > 5 else "")
        log(f"training data: {len(training.classes)} class folders ({names})")
    return training


def _pairs(
    config: TrainConfig, training: TrainingImages, degradation: Any, parts: Any
) -> PatchPairs:
    """The training's samples: one patch pair per index, ``iters x batch`` of them (with class
    labels when the discriminator has a class head)."""
    labels = training.labels if getattr(parts.d, "n_classes", 0) else None
    data = config.data
    return PatchPairs(
        training.images,
        config.scales,
        data.patch,
        data.batch,
        degradation,
        data.augment,
        config.seed,
        config.iters * data.batch,
        labels,
    )


def _begin(context: Context, state: Any, checkpoint: Path) -> int:
    """The iteration to start from: the checkpoint's, restored (its logs cut back to it), or 0
    with the generator initialised from other weights when the config says ``init:``."""
    config = context.config
    if state is None:
        if config.init:
            context.log(initialise(context.parts.g, config.init, context.parts.arch, config.scales))
        return 0
    start, context.history = restore(context.parts, state, context.device)
    if context.where.main:
        truncate_logs(context.out, start)
    context.log(f"resumed {checkpoint} at iteration {start}")
    context.elapsed = float(state["elapsed"])  # the card's seconds and it/s cover it all
    return start


def _batches(pairs: PatchPairs, start: int, context: Context) -> Iterator[tuple[Any, Any]]:
    """This process's batches from iteration ``start`` on: the whole batch of each iteration in
    one process, its rank's equal part of it under torchrun."""
    from torch.utils.data import DataLoader

    where = context.where
    workers = loader_workers(context.config.data.workers, context.log)
    loader = DataLoader(
        pairs,
        batch_size=pairs.batch // where.world_size,
        sampler=distributed.RankIndices(
            start, context.config.iters, pairs.batch, where.rank, where.world_size
        ),
        num_workers=workers,
        pin_memory=context.device.startswith("cuda"),
        persistent_workers=False,
        prefetch_factor=4 if workers else None,
    )
    yield from loader


def _loop(context: Context, pairs: PatchPairs, start: int, progress: bool) -> int:
    from tqdm import tqdm

    config = context.config
    iteration = start
    began = time.monotonic() - context.elapsed
    window = (time.monotonic(), start)
    with tqdm(total=config.iters, initial=start, desc="train", disable=not progress) as bar:
        try:
            for lr, hr, labels in _batches(pairs, start, context):
                scale = pairs.scale_of(iteration * pairs.batch)
                stage = config.stages.at(iteration)[0] if config.stages else None
                logged = _step(context, lr, hr, labels, scale, stage=stage)
                iteration += 1
                bar.update()
                context.elapsed = time.monotonic() - began
                if iteration % config.log_every == 0 or iteration == config.iters:
                    speed = (iteration - window[1]) / max(time.monotonic() - window[0], 1e-9)
                    window = (time.monotonic(), iteration)
                    logged = context.where.mean(logged)  # the global batch's values
                    if context.where.main:
                        _log_line(context, iteration, logged, speed, stage)
                    bar.set_postfix(loss=f"{logged.get('loss', logged.get('d_loss')):.4g}")
                if _validate_and_save(context, iteration):
                    break
        except KeyboardInterrupt:
            if iteration > start and context.where.main:
                save(context, iteration)
                context.log(f"interrupted: saved iteration {iteration}; continue with --resume")
            raise
    return iteration


def _validate_and_save(context: Context, iteration: int) -> bool:
    """Validate and checkpoint when due; ``True`` when the time limit stops the training."""
    config, where = context.config, context.where
    # Every rank stops where rank 0's clock says (the ranks' clocks differ a little).
    last = iteration == config.iters or (
        config.time_limit is not None and where.agree(_out_of_time(context))
    )
    # Rank 0 alone validates and saves; the others go on and wait for it in the next update.
    if (iteration % config.validation.every == 0 or last) and where.main:
        run_validation(context, iteration)
    if (iteration % config.checkpoint_every == 0 or last) and where.main:
        save(context, iteration)
    if last and iteration < config.iters:
        context.stopped = "time limit"
        context.log(
            f"time limit of {config.time_limit} s reached at iteration {iteration} of "
            f"{config.iters}: saved; --resume continues it"
        )
        return True
    return False


def _out_of_time(context: Context) -> bool:
    limit = context.config.time_limit
    return limit is not None and context.elapsed >= limit


def _step(
    context: Context, lr: Any, hr: Any, labels: Any, scale: int, stage: str | None = None
) -> dict[str, float]:
    """One generator update (after the discriminator's, for a GAN); the values to log.

    ``stage`` (a staged GAN's, see :class:`~srbench.training.config.StagesConfig`) narrows it:
    ``pretrain`` updates the generator alone on its loss without the adversarial term,
    ``critic`` the discriminator alone on the frozen generator's output, ``finetune`` (as
    ``None``) both."""
    import torch

    parts, generator_loss = context.parts, context.losses[0]
    cuda = context.device.startswith("cuda")
    memory = torch.channels_last if cuda and context.config.channels_last else None
    lr, hr = (t.to(context.device, non_blocking=True) for t in (lr, hr))
    if memory is not None:
        lr, hr = lr.contiguous(memory_format=memory), hr.contiguous(memory_format=memory)
    autocast = torch.autocast("cuda", torch.float16, enabled=parts.scaler.is_enabled())
    if parts.arch.variational:
        return _vae_step(context, lr, hr, autocast)
    if stage == "critic":
        return _critic_step(context, lr, hr, labels, scale, autocast)
    with autocast:
        sr = parts.forward(parts.g_step or parts.g, lr, scale)
    logged: dict[str, float] = {}
    real_logits = fake_logits = None
    adversarial = parts.d is not None and stage != "pretrain"
    if adversarial:
        logged |= _discriminator_step(context, sr.detach(), hr, labels, autocast)
        # The generator's pass goes through the bare discriminator: its weights take no gradient
        # here, and the generator's DDP averages the generator's.
        parts.d.requires_grad_(False)
        with autocast:
            # The generator sees validity only: ACGAN's class loss trains the discriminator.
            fake_logits = parts.d(sr).float()
            if context.losses[1].needs_real:  # relativistic losses compare with real
                real_logits = parts.d(hr).float().detach()
        parts.d.requires_grad_(True)
    loss, terms = generator_loss(
        sr.float(), hr, fake_logits=fake_logits, real_logits=real_logits, adversarial=adversarial
    )
    return _update_generator(context, loss, {**terms, **logged})


def _vae_step(context: Context, lr: Any, hr: Any, autocast: Any) -> dict[str, float]:
    """One update of a conditional VAE: its posterior needs the HR, and its loss adds the
    warmed-up KL to the reconstruction (:class:`~srbench.training.losses.VAEObjective`)."""
    import numpy as np
    import torch

    parts = context.parts
    # MultiStepLR counts the updates done, and a checkpoint restores it: the warm-up resumes
    # exactly where it stopped.
    update = parts.sched.last_epoch + 1
    # The posterior's noise is a function of (seed, update), as the batches are of (seed,
    # index): torch's global generator also feeds the DataLoader, which draws from it once per
    # start, so noise from it would differ after a resume.
    state = np.random.SeedSequence([context.config.seed, update]).generate_state(1, np.uint64)
    noise = torch.Generator(device=hr.device).manual_seed(int(state[0]))
    where, batch = context.where, context.config.data.batch
    # Under torchrun, this rank's rows of the whole batch's noise (as one process draws it).
    rows = (where.rank * batch // where.world_size, batch) if where.active else None
    with autocast:
        if parts.g_step is not None:  # the posterior pass as the module's forward (for DDP)
            sr, kl = parts.g_step(lr, hr, noise, rows)
        else:
            sr, kl = parts.g.posterior_forward(lr, hr, noise, rows)
    loss, terms = context.losses[0](sr.float(), hr, kl.float(), update)
    return _update_generator(context, loss, terms)


def _update_generator(context: Context, loss: Any, terms: dict[str, float]) -> dict[str, float]:
    """Step the generator (and its EMA) on ``loss``; the values to log."""
    import torch

    parts = context.parts
    if not torch.isfinite(loss):
        raise SrbenchError(
            f"the loss became {loss.item()} (terms {terms}); lower optimizer.lr, set grad_clip, "
            "or resume from an earlier checkpoint."
        )
    _apply(parts.opt, parts.sched, parts.scaler, parts.g, loss, context.config.grad_clip)
    if parts.ema is not None:
        parts.ema.update_parameters(parts.g)
    return {"loss": loss.item(), **terms, "lr": parts.sched.get_last_lr()[0]}


def _critic_step(
    context: Context, lr: Any, hr: Any, labels: Any, scale: int, autocast: Any
) -> dict[str, float]:
    """A critic pre-training update: the discriminator learns from the output of the generator,
    which is frozen (evaluation mode, no gradient, its optimiser and schedule untouched)."""
    import torch

    parts = context.parts
    parts.g.eval()
    try:
        with torch.no_grad(), autocast:
            sr = parts.forward(parts.g, lr, scale)
    finally:
        parts.g.train()
    logged = _discriminator_step(context, sr, hr, labels, autocast)
    return {**logged, "d_lr": parts.d_sched.get_last_lr()[0]}


def _discriminator_step(
    context: Context, fake: Any, real: Any, labels: Any, autocast: Any
) -> dict[str, float]:
    """One discriminator update; with class labels (ACGAN) it also learns to classify real and
    generated images, weighted by ``discriminator.class_weight`` (``d_loss`` logs the validity
    part, ``d_acc`` the share of real and generated images it told apart, ``d_class`` the
    cross-entropy, ``d_class_acc`` the accuracy on real images)."""
    import torch

    parts, adversarial = context.parts, context.losses[1]
    with autocast:
        if parts.d_step is not None:  # both passes in one forward (one DDP pass per update)
            (real_logits, real_classes), (fake_logits, fake_classes) = parts.d_step(real, fake)
        else:
            (real_logits, real_classes), (fake_logits, fake_classes) = (
                judge(parts.d, real),
                judge(parts.d, fake),
            )
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    loss = adversarial.discriminator(real_logits, fake_logits)
    logged = {"d_loss": loss, "d_acc": adversarial.accuracy(real_logits, fake_logits)}
    if real_classes is not None:
        labels = labels.to(context.device, non_blocking=True)
        ce = torch.nn.functional.cross_entropy
        classes = (ce(real_classes.float(), labels) + ce(fake_classes.float(), labels)) / 2
        accuracy = (real_classes.argmax(1) == labels).float().mean()
        logged |= {"d_class": classes, "d_class_acc": accuracy}
        assert context.config.discriminator is not None  # a GAN's config has the section
        loss = loss + context.config.discriminator.class_weight * classes
    _apply(parts.d_opt, parts.d_sched, parts.d_scaler, parts.d, loss, context.config.grad_clip)
    values = torch.stack([v.detach().float() for v in logged.values()]).tolist()
    return dict(zip(logged, values, strict=True))


def _apply(opt: Any, sched: Any, scaler: Any, net: Any, loss: Any, clip: float | None) -> None:
    import torch

    scaler.scale(loss).backward()
    if clip:
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
    scaler.step(opt)
    scaler.update()
    opt.zero_grad(set_to_none=True)
    sched.step()


def _log_line(
    context: Context,
    iteration: int,
    parts: Mapping[str, float],
    speed: float,
    stage: str | None = None,
) -> None:
    record = {
        "iteration": iteration,
        **parts,
        "it_per_s": speed,
        "elapsed_s": context.elapsed,
        "world_size": context.where.world_size,
    }
    if stage is not None:
        record = {"iteration": iteration, "stage": stage, **record}
    path = context.out / "log.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        handle.write(json.dumps(record) + "\n")
