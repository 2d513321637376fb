"""Training configurations: one YAML file per method and scale, shipped with the method's family.

A file holds only what differs from the defaults of :class:`TrainConfig` (and may extend another
file with ``base: other.yaml``); :func:`load_config` merges the defaults, the files and the
command line's overrides and validates the result into a :class:`TrainConfig`. Its
``model_dump(mode="json")`` (plain dicts and lists) is stored in every checkpoint and model card.
A problem is reported with the file (or ``command line``) that set the value::

    config methods/x.yaml: optimizer.lr must be a positive number, got -1
"""

from __future__ import annotations

import copy
import inspect
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, field_validator, model_serializer

from srbench.config import (
    ConfigModel,
    Location,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    unknown_key,
    validate,
)
from srbench.errors import SpecError, SrbenchError
from srbench.methods.trained import Architecture, architecture

__all__ = [
    "DEFAULTS",
    "DataConfig",
    "DiscriminatorConfig",
    "OptimizerConfig",
    "STAGES",
    "ScheduleConfig",
    "StagesConfig",
    "TrainConfig",
    "VAEConfig",
    "ValidationConfig",
    "config_path",
    "default_scale",
    "load_config",
]

Beta = Annotated[float, Field(strict=True, ge=0, lt=1)]
#: A trained scale: at least 2 (super-resolution enlarges), as for ``srbench run``.
Scale = Annotated[int, Field(strict=True, ge=2)]
#: Generator arguments the loop sets itself (the scale), discriminator ones (patch, classes).
_SET_BY_TRAINING = {"scale", "scales", "patch_size", "n_classes"}


class DataConfig(ConfigModel):
    """Training patches and their loading."""

    patch: PositiveInt = 48  # LR patch side; the HR patch is patch * scale
    batch: PositiveInt = 16
    augment: bool = True  # random flips and 90-degree rotations
    workers: NonNegativeInt = 2
    labels: Literal["auto", "none"] = "auto"  # auto: class folders give class labels (ACGAN)


class OptimizerConfig(ConfigModel):
    """Adam's settings."""

    lr: PositiveFloat = 1.0e-4
    betas: Annotated[list[Beta], Field(min_length=2, max_length=2)] = [0.9, 0.999]
    eps: PositiveFloat = 1.0e-8
    weight_decay: NonNegativeFloat = 0.0


class ScheduleConfig(ConfigModel):
    """MultiStepLR, in iterations: the learning rate times ``gamma`` at each milestone."""

    milestones: list[NonNegativeInt] = []
    gamma: Annotated[float, Field(strict=True, gt=0, le=1)] = 0.5


class DiscriminatorConfig(ConfigModel):
    """A GAN's discriminator: constructor arguments, and the optimiser and schedule settings
    that differ from the generator's. Dumped with the keys given only, as written in the file."""

    arch: dict[str, Any] = {}
    optimizer: OptimizerConfig = OptimizerConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    class_weight: NonNegativeFloat = 1.0  # of the class cross-entropy (ACGAN heads)

    @model_serializer(mode="wrap")
    def _as_given(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        given = {k: v for k, v in data.items() if k in self.model_fields_set}
        for key in ("optimizer", "schedule"):
            if key in given:
                given[key] = {
                    k: v for k, v in given[key].items() if k in getattr(self, key).model_fields_set
                }
        return given

    def optimizer_over(self, generator: OptimizerConfig) -> OptimizerConfig:
        """The generator's optimiser settings with this section's ``optimizer:`` on top."""
        return _over(generator, self.optimizer)

    def schedule_over(self, generator: ScheduleConfig) -> ScheduleConfig:
        """The generator's schedule with this section's ``schedule:`` on top."""
        return _over(generator, self.schedule)


def _over(base: Any, given: ConfigModel) -> Any:
    return base.model_copy(update={k: getattr(given, k) for k in given.model_fields_set})


class VAEConfig(ConfigModel):
    """A conditional VAE's KL term (SR-VAE): the loss is the ``loss:`` terms (the reconstruction)
    plus ``beta_t * KL(q || p)``, with ``beta_t = kl_weight * min(1, t / kl_warmup)`` at update
    ``t = 1, 2, ...`` (linear warm-up; ``kl_warmup: 0`` uses ``kl_weight`` from the start)."""

    kl_weight: NonNegativeFloat = 0.01
    kl_warmup: NonNegativeInt = 10000  # updates until beta reaches kl_weight


#: The stages of a NoGAN training, in the order they run.
STAGES: tuple[str, ...] = ("pretrain", "critic", "finetune")


class StagesConfig(ConfigModel):
    """A GAN trained in stages (the NoGAN schedule), iterations per stage, run in this order:
    ``pretrain`` the generator alone on the loss without its adversarial term; ``critic`` the
    discriminator alone on the frozen generator's output; ``finetune`` both, alternating one
    discriminator and one generator update on the whole loss. The training's ``iters`` is their
    sum."""

    pretrain: NonNegativeInt = 0
    critic: NonNegativeInt = 0
    finetune: NonNegativeInt = 0

    @property
    def total(self) -> int:
        """The iterations of all stages."""
        return self.pretrain + self.critic + self.finetune

    def at(self, iteration: int) -> tuple[str, int]:
        """The stage iteration ``iteration`` (0-based, over the whole training) belongs to, and
        its index within that stage (the last stage takes iterations past the total).

        Example:
            >>> StagesConfig(pretrain=2, critic=3, finetune=1).at(4)
            ('critic', 2)
        """
        start = 0
        for name in STAGES[:-1]:
            length = getattr(self, name)
            if iteration < start + length:
                return name, iteration - start
            start += length
        return STAGES[-1], iteration - start


class ValidationConfig(ConfigModel):
    """PSNR/SSIM on held-out images (``--val``) every ``every`` iterations."""

    data: str | None = None
    every: PositiveInt = 1000
    images: PositiveInt = 10


class TrainConfig(ConfigModel):
    """A training's full configuration (:func:`load_config` fills ``method``, ``scale`` and the
    paper's ``arch`` arguments). Settings are attributes (``config.data.patch``); checkpoints and
    model cards store ``model_dump(mode="json")``."""

    method: str | None = None
    scale: Scale | list[Scale] | None = None  # a list for a multi-scale network (MDSR)
    # constructor arguments of the generator; load_config starts from the paper's
    arch: Annotated[dict[str, Any], Field(validate_default=True)] = {}
    init: str | None = None  # weights to start the generator from: a file, or METHOD[:tag=T]
    data: DataConfig = DataConfig()
    degradation: str = "bicubic"
    loss: dict[str, Any] = {"l1": 1.0}  # term -> weight or {weight: ..., ...}; replaced whole
    optimizer: OptimizerConfig = OptimizerConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    # GANs only (and required for them)
    discriminator: Annotated[DiscriminatorConfig | None, Field(validate_default=True)] = None
    # conditional VAEs only (and required for them)
    vae: Annotated[VAEConfig | None, Field(validate_default=True)] = None
    iters: PositiveInt = 1000
    # NoGAN stages (GANs only); with them `iters` is their sum, set by load_config
    stages: StagesConfig | None = None
    ema: Annotated[float, Field(strict=True, gt=0, lt=1)] | None = None  # decay (0.999) or null
    grad_clip: PositiveFloat | None = None  # max global gradient norm, or null
    time_limit: PositiveFloat | None = None  # seconds of training, then save and export
    amp: bool = True  # float16 autocast on CUDA (ignored on CPU)
    channels_last: bool = True  # on CUDA
    validation: ValidationConfig = ValidationConfig()
    log_every: PositiveInt = 50
    checkpoint_every: PositiveInt = 500
    seed: NonNegativeInt = 0

    @property
    def scales(self) -> tuple[int, ...]:
        """The trained scales as a tuple (one for a single-scale network)."""
        scale = self.scale
        return tuple(scale) if isinstance(scale, list) else (scale,)  # type: ignore[arg-type]

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str | None) -> str | None:
        if value is not None:
            _architecture(value)
        return value

    @field_validator("arch")
    @classmethod
    def _generator_arguments(cls, value: dict[str, Any], info: Any) -> dict[str, Any]:
        arch = _architecture(info.data.get("method"))
        if arch is not None:
            _check_arguments(value, arch.net, "")
        return value

    @field_validator("loss")
    @classmethod
    def _loss_terms(cls, value: dict[str, Any], info: Any) -> dict[str, Any]:
        from srbench.training.losses import parse_loss_config

        try:
            terms = parse_loss_config(value)
        except SpecError as exc:
            raise ValueError(str(exc)) from exc
        arch = _architecture(info.data.get("method"))
        adversarial = terms.get("adversarial", {}).get("weight", 0) > 0
        if arch is not None and adversarial != bool(arch.discriminator):
            raise ValueError(
                f"{arch.name} is a GAN: add an adversarial term"
                if arch.discriminator
                else f"{arch.name} is not a GAN: remove the adversarial term"
            )
        return value

    @field_validator("discriminator")
    @classmethod
    def _gan(cls, value: DiscriminatorConfig | None, info: Any) -> DiscriminatorConfig | None:
        arch = _architecture(info.data.get("method"))
        if arch is None:
            return value
        if arch.discriminator and value is None:
            raise ValueError(f"{arch.name} needs a `discriminator:` section (it is a GAN)")
        if value is not None and not arch.discriminator:
            raise ValueError(f"{arch.name} is not a GAN: remove the `discriminator:` section")
        if value is not None:
            _check_arguments(value.arch, arch.discriminator, "arch.")
        return value

    @field_validator("vae")
    @classmethod
    def _variational(cls, value: VAEConfig | None, info: Any) -> VAEConfig | None:
        arch = _architecture(info.data.get("method"))
        if arch is None:
            return value
        if arch.variational and value is None:
            raise ValueError(
                f"{arch.name} needs a `vae:` section (kl_weight, kl_warmup): it is a VAE"
            )
        if value is not None and not arch.variational:
            raise ValueError(f"{arch.name} is not a VAE: remove the `vae:` section")
        return value

    @field_validator("stages")
    @classmethod
    def _staged(cls, value: StagesConfig | None, info: Any) -> StagesConfig | None:
        if value is None:
            return value
        if value.total == 0:
            raise ValueError("the stages have no iterations: give one of them at least 1")
        arch = _architecture(info.data.get("method"))
        if arch is not None and not arch.discriminator:
            raise ValueError(f"{arch.name} is not a GAN: remove the `stages:` section")
        iters = info.data.get("iters")
        if iters is not None and iters != value.total:
            raise ValueError(
                f"a staged training runs its stages' iterations ({value.pretrain} + "
                f"{value.critic} + {value.finetune} = {value.total}), not iters {iters}; "
                "drop `iters` (and --iters) and set stages.pretrain/critic/finetune instead"
            )
        return value


def _architecture(method: Any) -> Architecture | None:
    if not isinstance(method, str):
        return None
    try:
        return architecture(method)
    except SrbenchError as exc:
        raise ValueError(str(exc)) from exc


def _check_arguments(given: Mapping[str, Any], target: str, prefix: str) -> None:
    """Every key of ``given`` must be a constructor argument of ``target`` ("module:Class")."""
    from srbench.weights.loading import import_target

    params = inspect.signature(import_target(target)).parameters
    known = [p for p in params if p not in _SET_BY_TRAINING]
    for key in given:
        if key not in known:
            raise unknown_key(f"{prefix}{key}", known)


#: The defaults as a plain mapping (what a config file's settings are merged onto).
DEFAULTS: dict[str, Any] = TrainConfig().model_dump(mode="json")


def config_path(method: str, scale: int) -> Path:
    """The shipped config for ``scale``: ``x<scale>.yaml`` (``multiscale.yaml`` for MDSR)."""
    folder = architecture(method).config_dir
    for name in (f"x{scale}.yaml", "multiscale.yaml"):
        if (folder / name).is_file():
            return folder / name
    shipped = sorted(p.name for p in folder.glob("*.yaml")) if folder.is_dir() else []
    raise SrbenchError(
        f"no training config for {method} x{scale} in {folder} (there: "
        f"{', '.join(shipped) or 'nothing'}). Fix: pass --config FILE (copy a shipped one)."
    )


def default_scale(method: str) -> int:
    """The scale ``srbench train METHOD`` trains without ``--scale``: 4 where the method has it
    (the papers' usual figure), else its largest (a multi-scale network trains all its scales).

    Example:
        >>> default_scale("srresnet"), default_scale("srugan")
        (4, 4)
    """
    scales = architecture(method).scales
    return 4 if 4 in scales else max(scales)


def load_config(
    path: Path | None, method: str, scale: int | None, overrides: Mapping[str, Any] | None = None
) -> TrainConfig:
    """The full configuration: defaults <- the file (<- its bases) <- ``overrides`` (options).

    Without ``scale``, the file's ``scale:`` is trained; without both, :func:`default_scale`'s
    shipped config.

    Raises:
        SrbenchError: Unknown settings, a method or scale the file does not match, bad values;
            one line per problem, naming the file (or ``command line``) and the key.
    """
    arch = architecture(method)
    if scale is not None and scale not in arch.scales:
        raise SrbenchError(
            f"{arch.name} trains at x{', x'.join(map(str, arch.scales))}; got --scale {scale}."
        )
    if path is None:
        path = config_path(arch.name, scale or default_scale(arch.name))
    layers = [*_read_layers(Path(path)), ("command line", dict(overrides or {}))]
    config = copy.deepcopy(DEFAULTS)
    for _, settings in layers:
        config = _merge(config, settings)
    if config["method"] not in (None, arch.name):
        raise SrbenchError(
            f"config {path} is for {config['method']}, not {arch.name}; pass the right --config."
        )
    config["method"] = arch.name
    config["scale"] = _scales(config, arch, scale, path)
    _staged_iters(config, layers)
    if isinstance(config["arch"], Mapping):
        config["arch"] = {**arch.kwargs, **config["arch"]}
    return validate(TrainConfig, config, lambda loc: _origin(layers, loc))


def _staged_iters(config: dict[str, Any], layers: list[tuple[str, dict[str, Any]]]) -> None:
    """A staged training's ``iters`` is its stages' sum: a base's ``iters`` (an unstaged
    recipe's) is replaced; one set with or after ``stages`` (``--iters``) must agree.

    Raises:
        SrbenchError: ``iters`` set with or after the stages disagrees with their sum (named by
            the file, or ``command line``, that set it).
    """
    stages = config.get("stages")
    if not isinstance(stages, Mapping):
        return
    counts = [stages.get(name, 0) for name in STAGES]
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts):
        return  # bad counts are left to the validation's message
    staged = max(i for i, (_, s) in enumerate(layers) if _sets(s, ("stages",)))
    for where, settings in layers[staged:]:
        if _sets(settings, ("iters",)) and settings["iters"] != sum(counts):
            raise SrbenchError(
                f"{where}: iters {settings['iters']!r} is not the stages' sum "
                f"({' + '.join(map(str, counts))} = {sum(counts)}): a staged training runs its "
                "stages. Fix: drop `iters` (or --iters) and set stages.pretrain/critic/finetune."
            )
    config["iters"] = sum(counts)


def _read_layers(path: Path, seen: tuple[Path, ...] = ()) -> list[tuple[str, dict[str, Any]]]:
    """``("config <file>", settings)`` of a file and of its ``base:`` chain, the base first."""
    if path.resolve() in seen:
        raise SrbenchError(f"config {path}: `base:` chain loops ({' -> '.join(map(str, seen))}).")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SrbenchError(f"config {path} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise SrbenchError(f"config {path} must be a mapping of settings.")
    base = data.pop("base", None)
    if base is None:
        return [(f"config {path}", data)]
    below = _read_layers(Path(os.path.normpath(path.parent / base)), (*seen, path.resolve()))
    return [*below, (f"config {path}", data)]


# Sections a file replaces as a whole: a loss is one formula, so a config's `loss: {mse: 1}`
# must not inherit the default's l1 term.
_WHOLE = ("loss",)


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if key in _WHOLE:
            out[key] = copy.deepcopy(value)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _origin(layers: list[tuple[str, dict[str, Any]]], loc: Location) -> str:
    """The source of the setting at ``loc``: the last layer that sets it, else the file."""
    for where, settings in reversed(layers):
        if loc and _sets(settings, loc):
            return where
    return layers[-2][0]


def _sets(settings: Mapping[str, Any], loc: Location) -> bool:
    node: Any = settings
    for key in loc:
        if isinstance(key, int):  # an item of a list this layer set
            return True
        if not isinstance(node, Mapping) or key not in node:
            return False
        node = node[key]
    return True


def _scales(config: Mapping[str, Any], arch: Architecture, scale: int | None, path: Path) -> Any:
    configured = config["scale"]
    scales = list(configured) if isinstance(configured, list) else [configured or scale]
    if arch.multiscale:
        scales = list(configured) if isinstance(configured, list) else list(arch.scales)
        if scale is not None and scale not in scales:
            raise SrbenchError(f"config {path} trains x{scales}; --scale {scale} is not one.")
    elif scale is not None and configured not in (None, scale):
        raise SrbenchError(
            f"config {path} is for x{configured}, not --scale {scale}; pass the right --config."
        )
    elif scale is not None:
        scales = [scale]
    bad = [s for s in scales if s not in arch.scales]
    if bad or None in scales:
        raise SrbenchError(
            f"{arch.name} trains at x{', x'.join(map(str, arch.scales))}; got {scales}. "
            "Fix: --scale S."
        )
    return scales if arch.multiscale else scales[0]
