"""The training loop of ``srbench train``: resumable, logged, validated through the benchmark's
own metric code, and ending in exported weights with a model card.

The run folder (``--out``) holds::

    checkpoints/last.pt      everything needed to continue bit-for-bit (written atomically;
    checkpoints/previous.pt  the one before, kept in case the last is damaged)
    log.jsonl, log.csv       one line per logged iteration (losses, learning rate, speed)
    validation.jsonl         PSNR/SSIM on the held-out images at each validation
    model/<method>-x<s>-<sha8>.pt + .json   the exported weights and their model card
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from srbench.degradations import parse_spec
from srbench.errors import CheckpointError, SrbenchError
from srbench.methods.trained import Architecture, architecture, architectures
from srbench.specs import split_spec
from srbench.system.files import atomic_path
from srbench.system.provenance import now
from srbench.training.data import (
    PatchPairs,
    TrainingImages,
    ValidationSet,
    load_images,
    validation_set,
)
from srbench.weights.loading import build_network, describe, import_target, native_layout, read_file

__all__ = ["TrainResult", "train"]

CHECKPOINT_FORMAT = "srbench-train-checkpoint/1"
# Settings a resumed training must share with its checkpoint (others, like iters, may grow).
_IDENTITY = ("method", "scale", "arch", "degradation", "data", "loss", "discriminator", "seed")

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
class _Parts:
    """Networks, optimisers and their companions; ``d_*`` only for GANs."""

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

    def eval_net(self) -> Any:
        """The network validated and exported: the EMA of the weights when enabled."""
        return self.ema.module if self.ema is not None else self.g


def train(
    config: Mapping[str, Any],
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
        config: A full configuration from :func:`srbench.training.config.load_config`.
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
        CheckpointError: ``resume`` without a checkpoint, a checkpoint of another configuration,
            or a damaged checkpoint.
        SrbenchError: Bad data or configuration.
    """
    import torch

    config = json.loads(json.dumps(config))  # plain types, so checkpoints load weights_only
    arch = architecture(config["method"])
    scales = tuple(config["scale"]) if arch.multiscale else (config["scale"],)
    checkpoint = out / "checkpoints" / "last.pt"
    state = _start_state(checkpoint, config, resume)
    out.mkdir(parents=True, exist_ok=True)
    degradation = parse_spec(config["degradation"])
    training = _training_images(data, config, scales, accept_licence, progress, log)
    data_record = training.record
    if state is not None and state["data"].get("version") != data_record["version"]:
        raise CheckpointError(
            f"{checkpoint} was trained on {state['data']['name']} ({state['data']['version']}); "
            f"--data {data} is {data_record['name']} ({data_record['version']}). Resume with "
            "the same data."
        )
    config["validation"]["data"] = validation or config["validation"]["data"]
    valsets = _validation_sets(config, scales, degradation, accept_licence, log)

    torch.manual_seed(config["seed"])
    parts = _build(config, arch, scales, device, len(training.classes), log)
    losses = _losses(config, device, random_vgg)
    start = 0
    history: list[dict[str, Any]] = []
    if state is not None:
        start, history = _restore(parts, state, device)
        _truncate_logs(out, start)
        log(f"resumed {checkpoint} at iteration {start}")
    elif config["init"]:
        log(_initialise(parts.g, config["init"], arch, scales))

    pairs = PatchPairs(
        training.images,
        scales,
        config["data"]["patch"],
        config["data"]["batch"],
        degradation,
        config["data"]["augment"],
        config["seed"],
        config["iters"] * config["data"]["batch"],
        training.labels if getattr(parts.d, "n_classes", 0) else None,
    )
    context = _Context(config, parts, losses, device, out, data_record, valsets, history, log)
    if state is not None:  # the card's seconds and it/s cover the whole training
        context.elapsed = float(state["elapsed"])
    iteration = _loop(context, pairs, start, progress)
    result = TrainResult(out, iteration, history=history, losses=_read_log(out))
    if iteration >= config["iters"] or context.stopped:
        _export(context, iteration, result, tag)
    return result


def _training_images(
    data: str,
    config: Mapping[str, Any],
    scales: tuple[int, ...],
    accept_licence: Sequence[str],
    progress: bool,
    log: Log,
) -> TrainingImages:
    """The decoded training images large enough for a patch (with class labels from class
    folders unless ``data.labels`` is ``none``)."""
    side = config["data"]["patch"] * max(scales)
    labels = config["data"]["labels"] == "auto"
    training = load_images(data, side, accept_licence, progress, labels)
    if training.small:
        log(
            f"training data: {len(training.small)} image(s) smaller than {side}x{side} are not used"
        )
    if training.classes:
        names = ", ".join(training.classes[:5]) + (", ..." if len(training.classes) > 5 else "")
        log(f"training data: {len(training.classes)} class folders ({names})")
    return training


def _validation_sets(
    config: Mapping[str, Any],
    scales: tuple[int, ...],
    degradation: Any,
    accept_licence: Sequence[str],
    log: Log,
) -> list[ValidationSet]:
    token = config["validation"]["data"]
    if not token:
        log("no validation data (--val DATA): the model card will carry no validation scores")
        return []
    images, seed = config["validation"]["images"], config["seed"]
    return [validation_set(token, s, degradation, images, seed, accept_licence) for s in scales]


def _start_state(checkpoint: Path, config: Mapping[str, Any], resume: bool) -> Any:
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
    saved = state["config"]
    differ = [k for k in _IDENTITY if _identity(saved, k) != _identity(config, k)]
    if differ:
        arch = architectures().get(saved.get("method"))
        what = describe(arch, _as_tuple(saved["scale"]), saved["arch"]) if arch else "?"
        raise CheckpointError(
            f"{checkpoint} holds {what} trained with other settings ({', '.join(differ)}: "
            + "; ".join(f"{k} {saved.get(k)!r} vs {config.get(k)!r}" for k in differ)
            + "). Fix: resume with the checkpoint's method, scale and config, or use another --out."
        )
    return state


def _identity(config: Mapping[str, Any], key: str) -> Any:
    """A setting as far as it changes the result (DataLoader workers do not: samples depend
    only on the seed and their index)."""
    value = config.get(key)
    if key == "data" and isinstance(value, Mapping):
        return {k: v for k, v in value.items() if k != "workers"}
    return value


def _as_tuple(scale: Any) -> tuple[int, ...]:
    return tuple(scale) if isinstance(scale, list) else (scale,)


def _build(  # noqa: ANN202
    config: Mapping[str, Any],
    arch: Architecture,
    scales: tuple[int, ...],
    device: str,
    classes: int,
    log: Log,
):
    import inspect

    import torch

    cuda = device.startswith("cuda")
    memory = torch.channels_last if cuda and config["channels_last"] else torch.contiguous_format
    g = build_network(arch, scales, config["arch"]).to(device, memory_format=memory)
    opt, sched = _optimiser(g, config["optimizer"], config["schedule"])
    amp = bool(config["amp"]) and cuda
    parts = _Parts(arch, g, opt, sched, torch.amp.GradScaler("cuda", enabled=amp))
    if config["ema"]:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        parts.ema = AveragedModel(
            g, multi_avg_fn=get_ema_multi_avg_fn(config["ema"]), use_buffers=True
        )
    if arch.discriminator:
        spec = config["discriminator"]
        patch = config["data"]["patch"] * max(scales)
        d_class = import_target(arch.discriminator)
        options = dict(spec.get("arch", {}))
        if "n_classes" in inspect.signature(d_class).parameters:  # ACGAN: a class head
            options["n_classes"] = classes
        try:
            parts.d = d_class(patch_size=patch, **options)
        except ValueError as exc:  # the HR patch must suit the discriminator's strides
            raise SrbenchError(
                f"{arch.name}: the discriminator cannot take HR patches of data.patch x scale = "
                f"{patch} px ({exc}). Fix: change data.patch."
            ) from exc
        parts.d = parts.d.to(device, memory_format=memory)
        parts.d_opt, parts.d_sched = _optimiser(
            parts.d,
            {**config["optimizer"], **spec.get("optimizer", {})},
            {**config["schedule"], **spec.get("schedule", {})},
        )
        parts.d_scaler = torch.amp.GradScaler("cuda", enabled=amp)
    if classes:
        heads = getattr(parts.d, "n_classes", 0)
        log(
            f"{arch.name}: the discriminator learns the {classes} classes (ACGAN)"
            if heads
            else f"{arch.name} has no class head: the {classes} classes are pooled"
        )
    return parts


def _optimiser(net: Any, options: Mapping[str, Any], schedule: Mapping[str, Any]) -> tuple:
    import torch

    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(
        params,
        lr=options["lr"],
        betas=tuple(options["betas"]),
        eps=options["eps"],
        weight_decay=options.get("weight_decay", 0.0),
    )
    sched = torch.optim.lr_scheduler.MultiStepLR(
        opt, milestones=list(schedule["milestones"]), gamma=schedule["gamma"]
    )
    return opt, sched


def _losses(config: Mapping[str, Any], device: str, random_vgg: bool) -> tuple[Any, Any]:
    from srbench.training.losses import build_adversarial, build_generator_loss

    generator = build_generator_loss(config["loss"], random_vgg=random_vgg, device=device)
    if generator.needs_discriminator != bool(config["discriminator"]):
        raise SrbenchError(
            f"{config['method']}: the loss has "
            f"{'an' if generator.needs_discriminator else 'no'} adversarial term but the "
            f"method {'is not' if generator.needs_discriminator else 'is'} a GAN; fix loss: "
            "in the config."
        )
    adversarial = build_adversarial(config["loss"]) if generator.needs_discriminator else None
    return generator, adversarial


def _init_weights(source: str, scales: tuple[int, ...]) -> Path:
    """The weights file named by ``METHOD[:tag=TAG][,scale=S]`` (default: the method's default
    tag, at the training scale when the method has it)."""
    from srbench.weights import tags as weightstore

    name, options = split_spec(source, "init")
    other = architectures().get(name)
    if other is None or options.keys() - {"tag", "scale"}:
        raise SrbenchError(
            f"init {source!r}: expected a weights file or METHOD[:tag=TAG][,scale=S] with METHOD "
            f"one of {', '.join(architectures())}."
        )
    default = scales[0] if scales[0] in other.scales else other.scales[-1]
    scale = int(options.get("scale", default))
    tag = options.get("tag", other.default_tag)
    return weightstore.resolve(other.name, tag, scale, other.official).path


def _initialise(g: Any, source: str, arch: Architecture, scales: tuple[int, ...]) -> str:
    """Start the generator from other weights (SRGAN from SRResNet; EDSR x4 from x2): tensors
    whose names and shapes match are copied; only the upsampling tail may differ."""
    path = Path(source).expanduser()
    if not path.is_file():
        path = _init_weights(source, scales)
    state = native_layout(arch, read_file(path, "init weights"))
    own = g.state_dict()
    copied = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    skipped = [k for k in own if k not in copied]
    foreign = [k for k in skipped if not k.startswith(("tail.", "upsample."))]
    if foreign or not copied:
        raise CheckpointError(
            f"init weights {path} do not fit {arch.name}: {len(foreign)} body tensor(s) differ "
            f"({', '.join(foreign[:3])}). Fix: init from the same architecture."
        )
    g.load_state_dict({**own, **copied})
    return f"initialised {len(copied)} of {len(own)} tensors from {path}"


@dataclass
class _Context:
    config: Mapping[str, Any]
    parts: _Parts
    losses: tuple[Any, Any]
    device: str
    out: Path
    data: dict[str, Any]
    valsets: list[ValidationSet]
    history: list[dict[str, Any]]
    log: Log
    elapsed: float = 0.0
    stopped: str | None = None  # why training ended before `iters` ("time limit")


def _batches(pairs: PatchPairs, start: int, context: _Context) -> Iterator[tuple[Any, Any]]:
    from torch.utils.data import DataLoader

    workers = context.config["data"]["workers"]
    loader = DataLoader(
        pairs,
        batch_size=pairs.batch,
        sampler=range(start * pairs.batch, len(pairs)),
        num_workers=workers,
        pin_memory=context.device.startswith("cuda"),
        persistent_workers=False,
        prefetch_factor=4 if workers else None,
    )
    yield from loader


def _loop(context: _Context, pairs: PatchPairs, start: int, progress: bool) -> int:
    from tqdm import tqdm

    config = context.config
    iteration = start
    began = time.monotonic() - context.elapsed
    window = (time.monotonic(), start)
    with tqdm(total=config["iters"], initial=start, desc="train", disable=not progress) as bar:
        try:
            for lr, hr, labels in _batches(pairs, start, context):
                scale = pairs.scale_of(iteration * pairs.batch)
                parts = _step(context, lr, hr, labels, scale)
                iteration += 1
                bar.update()
                context.elapsed = time.monotonic() - began
                if iteration % config["log_every"] == 0 or iteration == config["iters"]:
                    speed = (iteration - window[1]) / max(time.monotonic() - window[0], 1e-9)
                    window = (time.monotonic(), iteration)
                    _log_line(context, iteration, parts, speed)
                    bar.set_postfix(loss=f"{parts['loss']:.4g}")
                last = iteration == config["iters"] or _out_of_time(context)
                if iteration % config["validation"]["every"] == 0 or last:
                    _validate(context, iteration)
                if iteration % config["checkpoint_every"] == 0 or last:
                    _save(context, iteration)
                if last and iteration < config["iters"]:
                    context.stopped = "time limit"
                    context.log(
                        f"time limit of {config['time_limit']} s reached at iteration {iteration}"
                        f" of {config['iters']}: saved; --resume continues it"
                    )
                    break
        except KeyboardInterrupt:
            if iteration > start:
                _save(context, iteration)
                context.log(f"interrupted: saved iteration {iteration}; continue with --resume")
            raise
    return iteration


def _out_of_time(context: _Context) -> bool:
    limit = context.config["time_limit"]
    return limit is not None and context.elapsed >= limit


def _forward(parts: _Parts, net: Any, lr: Any, scale: int) -> Any:
    return net(lr, scale) if parts.arch.multiscale else net(lr)


def _step(context: _Context, lr: Any, hr: Any, labels: Any, scale: int) -> dict[str, float]:
    import torch

    parts, generator_loss = context.parts, context.losses[0]
    cuda = context.device.startswith("cuda")
    memory = torch.channels_last if cuda and context.config["channels_last"] else None
    lr, hr = (t.to(context.device, non_blocking=True) for t in (lr, hr))
    if memory is not None:
        lr, hr = lr.contiguous(memory_format=memory), hr.contiguous(memory_format=memory)
    autocast = torch.autocast("cuda", torch.float16, enabled=parts.scaler.is_enabled())
    with autocast:
        sr = _forward(parts, parts.g, lr, scale)
    logged: dict[str, float] = {}
    real_logits = fake_logits = None
    if parts.d is not None:
        logged |= _discriminator_step(context, sr.detach(), hr, labels, autocast)
        parts.d.requires_grad_(False)
        with autocast:
            # The generator sees validity only: ACGAN's class loss trains the discriminator.
            fake_logits = parts.d(sr).float()
            if context.losses[1].needs_real:  # relativistic losses compare with real
                real_logits = parts.d(hr).float().detach()
        parts.d.requires_grad_(True)
    loss, terms = generator_loss(sr.float(), hr, fake_logits=fake_logits, real_logits=real_logits)
    if not torch.isfinite(loss):
        raise SrbenchError(
            f"the loss became {loss.item()} (terms {terms}); lower optimizer.lr, set grad_clip, "
            "or resume from an earlier checkpoint."
        )
    _apply(parts.opt, parts.sched, parts.scaler, parts.g, loss, context.config["grad_clip"])
    if parts.ema is not None:
        parts.ema.update_parameters(parts.g)
    return {"loss": loss.item(), **terms, **logged, "lr": parts.sched.get_last_lr()[0]}


def _discriminator_step(
    context: _Context, fake: Any, real: Any, labels: Any, autocast: Any
) -> dict[str, float]:
    """One discriminator update; with class labels (ACGAN) it also learns to classify real and
    generated images, weighted by ``discriminator.class_weight`` (``d_loss`` logs the validity
    part, ``d_class`` the cross-entropy, ``d_class_acc`` the accuracy on real images)."""
    import torch

    parts, adversarial = context.parts, context.losses[1]
    with autocast:
        (real_logits, real_classes), (fake_logits, fake_classes) = (
            _judge(parts.d, real),
            _judge(parts.d, fake),
        )
    loss = adversarial.discriminator(real_logits.float(), fake_logits.float())
    logged = {"d_loss": loss}
    if real_classes is not None:
        labels = labels.to(context.device, non_blocking=True)
        ce = torch.nn.functional.cross_entropy
        classes = (ce(real_classes.float(), labels) + ce(fake_classes.float(), labels)) / 2
        accuracy = (real_classes.argmax(1) == labels).float().mean()
        logged |= {"d_class": classes, "d_class_acc": accuracy}
        loss = loss + context.config["discriminator"].get("class_weight", 1.0) * classes
    _apply(parts.d_opt, parts.d_sched, parts.d_scaler, parts.d, loss, context.config["grad_clip"])
    values = torch.stack([v.detach().float() for v in logged.values()]).tolist()
    return dict(zip(logged, values, strict=True))


def _judge(d: Any, x: Any) -> tuple[Any, Any]:
    """Validity logits and, from an ACGAN discriminator, class logits (else ``None``)."""
    return d.forward_with_classes(x) if getattr(d, "n_classes", 0) else (d(x), None)


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


def _log_line(context: _Context, iteration: int, parts: Mapping[str, float], speed: float) -> None:
    record = {"iteration": iteration, **parts, "it_per_s": speed, "elapsed_s": context.elapsed}
    path = context.out / "log.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        handle.write(json.dumps(record) + "\n")


def _read_log(out: Path, name: str = "log.jsonl") -> list[dict[str, Any]]:
    path = out / name
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def _truncate_logs(out: Path, iteration: int) -> None:
    """Drop lines logged after the checkpoint a training resumes from (they will be redone)."""
    for name in ("log.jsonl", "validation.jsonl"):
        kept = [r for r in _read_log(out, name) if r["iteration"] <= iteration]
        if (out / name).is_file():
            with atomic_path(out / name) as tmp:
                tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))


def _validate(context: _Context, iteration: int) -> None:
    import torch

    from srbench.imageio import quantize
    from srbench.metrics import score_pair
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
            scores = []
            for _, lr, hr in valset.pairs:
                x = torch.from_numpy(lr.transpose(2, 0, 1).copy()).float()[None] / 255.0
                y = _forward(context.parts, net, x.to(context.device), scale)
                sr = quantize(y[0].float().cpu().numpy().transpose(1, 2, 0) * 255.0)
                scores.append(score_pair(sr, hr, scale, protocol, ("psnr", "ssim")))
            record[f"x{scale}"] = {
                "dataset": valset.name,
                "images": len(scores),
                "protocol": protocol.key(scale),
                **{m: float(np.mean([s[m] for s in scores])) for m in ("psnr", "ssim")},
            }
    context.parts.g.train()
    context.history.append(record)
    with open(context.out / "validation.jsonl", "a") as handle:
        handle.write(json.dumps(record) + "\n")
    scores = "; ".join(
        f"{k} psnr {v['psnr']:.3f} ssim {v['ssim']:.4f}" for k, v in record.items() if k[0] == "x"
    )
    context.log(f"iteration {iteration}: validation {scores}")


def _save(context: _Context, iteration: int) -> None:
    import torch

    parts = context.parts
    state = {
        "format": CHECKPOINT_FORMAT,
        "config": context.config,
        "iteration": iteration,
        "data": context.data,
        "history": context.history,
        "elapsed": context.elapsed,
        "rng": {"torch": torch.get_rng_state()},
    }
    for name in ("g", "opt", "sched", "scaler", "ema", "d", "d_opt", "d_sched", "d_scaler"):
        item = getattr(parts, name)
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

    records = _read_log(out)
    if records:
        with atomic_path(out / "log.csv") as tmp:
            pd.DataFrame.from_records(records).to_csv(tmp, index=False)


def _restore(parts: _Parts, state: Mapping[str, Any], device: str) -> tuple[int, list]:
    import torch

    for name in ("g", "opt", "sched", "scaler", "ema", "d", "d_opt", "d_sched", "d_scaler"):
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


def _export(context: _Context, iteration: int, result: TrainResult, tag: str | None) -> None:
    import torch

    from srbench.system.provenance import library_versions
    from srbench.weights import tags as weightstore

    config, arch = context.config, context.parts.arch
    scales = _as_tuple(config["scale"])
    state = {k: v.detach().cpu() for k, v in context.parts.eval_net().state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    digest = hashlib.sha256(buffer.getbuffer()).hexdigest()
    name = f"{arch.name}-x{'-'.join(map(str, scales))}-{digest[:8]}.pt"
    folder = context.out / "model"
    with atomic_path(folder / name) as tmp:
        tmp.write_bytes(buffer.getbuffer())
    params = sum(p.numel() for p in context.parts.g.parameters() if p.requires_grad)
    card = _card(context, iteration, scales, name, digest, params, library_versions())
    (folder / name).with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    result.weights, result.card = folder / name, card
    if tag:
        result.installed = weightstore.install(folder / name, card, arch.name, tag)
        context.log(f"installed as {arch.name}:tag={tag} ({result.installed})")


def _card(
    context: _Context,
    iteration: int,
    scales: tuple[int, ...],
    name: str,
    digest: str,
    params: int,
    versions: Mapping[str, Any],
) -> dict[str, Any]:
    from srbench.system.device import describe_device
    from srbench.weights.tags import CARD_FORMAT

    config = context.config
    canonical = parse_spec(config["degradation"]).canonical(scales[0])
    last = context.history[-1] if context.history else None
    its = iteration / context.elapsed if context.elapsed else math.nan
    return {
        "format": CARD_FORMAT,
        "method": config["method"],
        "scales": list(scales),
        "file": name,
        "sha256": digest,
        "params": params,
        "created": now(),
        "arch": {"net": context.parts.arch.net, "kwargs": config["arch"]},
        "training": {
            "summary": f"{context.data['name']} ({context.data['used']} images), {canonical}, "
            f"{iteration} iterations",
            "data": context.data,
            "degradation": canonical,
            "iterations": iteration,
            "planned_iterations": config["iters"],
            "stopped": context.stopped,
            "batch": config["data"]["batch"],
            "lr_patch": config["data"]["patch"],
            "ema": config["ema"],
            "device": describe_device(context.device),
            "seconds": round(context.elapsed, 1),
            "iterations_per_second": round(its, 3),
            "config": config,
        },
        "validation": last,
        "versions": versions,
    }
