"""What a training is built from: the generator (and a GAN's discriminator) with their
optimisers, schedules and gradient scalers, the losses, and generator weights to start from."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from srbench.errors import CheckpointError, MissingWeightsError, SrbenchError
from srbench.methods.trained import Architecture, architecture, architectures
from srbench.specs import split_spec
from srbench.training.config import OptimizerConfig, ScheduleConfig, TrainConfig
from srbench.training.state import Log, Parts
from srbench.weights.loading import build_network, import_target, native_layout, read_file

__all__ = ["build_losses", "build_parts", "initialise"]


def build_parts(config: TrainConfig, device: str, classes: int, log: Log) -> Parts:
    """The networks of ``config`` on ``device`` with their optimisers, schedules and scalers
    (and the EMA of the generator's weights when ``ema`` is set). ``classes``: the number of
    class labels of the training data (0: unlabelled), for an ACGAN discriminator's head."""
    import torch

    arch = architecture(config.method)
    memory = _memory_format(config, device)
    g = build_network(arch, config.scales, config.arch).to(device, memory_format=memory)
    opt, sched = _optimiser(g, config.optimizer, config.schedule)
    parts = Parts(arch, g, opt, sched, torch.amp.GradScaler("cuda", enabled=_amp(config, device)))
    if config.ema:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        parts.ema = AveragedModel(
            g, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True
        )
    if arch.discriminator:
        _add_discriminator(parts, config, device, classes)
    if classes:
        log(
            f"{arch.name}: the discriminator learns the {classes} classes (ACGAN)"
            if getattr(parts.d, "n_classes", 0)
            else f"{arch.name} has no class head: the {classes} classes are pooled"
        )
    return parts


def _memory_format(config: TrainConfig, device: str) -> Any:
    import torch

    cuda = device.startswith("cuda")
    return torch.channels_last if cuda and config.channels_last else torch.contiguous_format


def _amp(config: TrainConfig, device: str) -> bool:
    return bool(config.amp) and device.startswith("cuda")


def _add_discriminator(parts: Parts, config: TrainConfig, device: str, classes: int) -> None:
    """A GAN's discriminator for HR patches, with its optimiser (the generator's settings under
    the ``discriminator:`` section's), schedule and scaler."""
    import torch

    arch, spec = parts.arch, config.discriminator
    assert spec is not None and arch.discriminator is not None  # the config's validation
    patch = config.data.patch * max(config.scales)
    d_class = import_target(arch.discriminator)
    options = dict(spec.arch)
    if "n_classes" in inspect.signature(d_class).parameters:  # ACGAN: a class head
        options["n_classes"] = classes
    try:
        d = d_class(patch_size=patch, **options)
    except ValueError as exc:  # the HR patch must suit the discriminator's strides
        raise SrbenchError(
            f"{arch.name}: the discriminator cannot take HR patches of data.patch x scale = "
            f"{patch} px ({exc}). Fix: change data.patch."
        ) from exc
    parts.d = d.to(device, memory_format=_memory_format(config, device))
    parts.d_opt, parts.d_sched = _optimiser(
        parts.d, spec.optimizer_over(config.optimizer), spec.schedule_over(config.schedule)
    )
    parts.d_scaler = torch.amp.GradScaler("cuda", enabled=_amp(config, device))


def _optimiser(net: Any, options: OptimizerConfig, schedule: ScheduleConfig) -> tuple:
    import torch

    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(
        params,
        lr=options.lr,
        betas=tuple(options.betas),
        eps=options.eps,
        weight_decay=options.weight_decay,
    )
    sched = torch.optim.lr_scheduler.MultiStepLR(
        opt, milestones=list(schedule.milestones), gamma=schedule.gamma
    )
    return opt, sched


def build_losses(config: TrainConfig, device: str, random_vgg: bool) -> tuple[Any, Any]:
    """The generator loss of ``config.loss`` and, for a GAN, its adversarial loss (the
    discriminator step's); the config's validation made sure the two agree. A VAE's generator
    loss is ``config.loss`` as the reconstruction plus the ``vae:`` section's KL term."""
    from srbench.training.losses import VAEObjective, build_adversarial, build_generator_loss

    generator = build_generator_loss(config.loss, random_vgg=random_vgg, device=device)
    if config.vae is not None:
        return VAEObjective(generator, config.vae.kl_weight, config.vae.kl_warmup), None
    adversarial = build_adversarial(config.loss) if generator.needs_discriminator else None
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
    try:
        return weightstore.resolve(other.name, tag, scale, other.official).path
    except MissingWeightsError as exc:  # say which setting asked for them
        raise MissingWeightsError(f"init {source!r}: {exc}") from exc


def initialise(g: Any, source: str, arch: Architecture, scales: tuple[int, ...]) -> str:
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
