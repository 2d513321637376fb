"""Training configurations: one YAML file per method and scale, shipped with the method's family.

A file holds only what differs from :data:`DEFAULTS` (and may extend another file with
``base: other.yaml``); :func:`load_config` merges, validates and returns a plain dict, which is
stored verbatim in every checkpoint and model card.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from srbench.errors import SrbenchError
from srbench.methods.trained import Architecture, architecture

__all__ = ["DEFAULTS", "config_path", "load_config"]

DEFAULTS: dict[str, Any] = {
    "method": None,
    "scale": None,  # one int, or a list for a multi-scale network (MDSR)
    "arch": {},  # constructor arguments; the method's paper configuration when empty
    "init": None,  # weights to start the generator from: a file, or a tag of a method
    "data": {
        "patch": 48,  # LR patch side; the HR patch is patch * scale
        "batch": 16,
        "augment": True,  # random flips and 90-degree rotations
        "workers": 2,
        "labels": "auto",  # auto: a folder of class folders gives class labels (ACGAN); none
    },
    "degradation": "bicubic",
    "loss": {"l1": 1.0},
    "optimizer": {"lr": 1.0e-4, "betas": [0.9, 0.999], "eps": 1.0e-8, "weight_decay": 0.0},
    "schedule": {"milestones": [], "gamma": 0.5},  # MultiStepLR, in iterations
    # GANs: {arch: {...}, optimizer: {...}, schedule: {...}, class_weight: 1.0 (ACGAN)}
    "discriminator": None,
    "iters": 1000,
    "ema": None,  # decay of an exponential moving average of the weights (0.999), or null
    "grad_clip": None,  # max global gradient norm, or null
    "time_limit": None,  # seconds of training after which it stops, saves and exports, or null
    "amp": True,  # float16 autocast on CUDA (ignored on CPU)
    "channels_last": True,  # on CUDA
    "validation": {"data": None, "every": 1000, "images": 10},
    "log_every": 50,
    "checkpoint_every": 500,
    "seed": 0,
}


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


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in seen:
        raise SrbenchError(f"config {path}: `base:` chain loops ({' -> '.join(map(str, seen))}).")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SrbenchError(f"config {path} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise SrbenchError(f"config {path} must be a mapping of settings.")
    base = data.pop("base", None)
    if base is None:
        return data
    return _merge(_read_yaml((path.parent / base).resolve(), (*seen, path)), data, str(path))


# Sections a file replaces as a whole: a loss is one formula, so a config's `loss: {mse: 1}`
# must not inherit the default's l1 term.
_WHOLE = ("loss",)


def _merge(base: Mapping[str, Any], override: Mapping[str, Any], where: str) -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if key in _WHOLE:
            out[key] = copy.deepcopy(value)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value, where)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check_keys(given: Mapping[str, Any], known: Mapping[str, Any], where: str) -> None:
    for key, value in given.items():
        if key not in known:
            raise SrbenchError(
                f"{where}: unknown setting {key!r}; known: {', '.join(sorted(known))}."
            )
        # loss and arch are open: the loss builder and the network check their own keys
        if (
            key not in ("loss", "arch")
            and isinstance(known[key], dict)
            and isinstance(value, Mapping)
        ):
            _check_keys(value, known[key], f"{where}.{key}")


def load_config(
    path: Path | None, method: str, scale: int | None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The full configuration: defaults <- the file <- ``overrides`` (command-line options).

    Raises:
        SrbenchError: Unknown settings, a method or scale the file does not match, bad values.
    """
    arch = architecture(method)
    if scale is not None and scale not in arch.scales:
        raise SrbenchError(
            f"{arch.name} trains at x{', x'.join(map(str, arch.scales))}; got --scale {scale}."
        )
    if path is None:
        path = config_path(arch.name, scale or max(arch.scales))
    from_file = _read_yaml(Path(path))
    _check_keys(from_file, DEFAULTS, str(path))
    config = _merge(_merge(DEFAULTS, from_file, str(path)), overrides or {}, "command line")
    if config["method"] not in (None, arch.name):
        raise SrbenchError(
            f"config {path} is for {config['method']}, not {arch.name}; pass the right --config."
        )
    config["method"] = arch.name
    config["scale"] = _scales(config, arch, scale, path)
    config["arch"] = {**arch.kwargs, **config["arch"]}
    _validate(config, arch, path)
    return config


_DISCRIMINATOR_KEYS = {"arch": None, "optimizer": None, "schedule": None, "class_weight": None}


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


def _validate(config: Mapping[str, Any], arch: Architecture, path: Path) -> None:
    positive = {
        "iters": config["iters"],
        "data.patch": config["data"]["patch"],
        "data.batch": config["data"]["batch"],
        "log_every": config["log_every"],
        "checkpoint_every": config["checkpoint_every"],
        "validation.every": config["validation"]["every"],
    }
    for name, value in positive.items():
        if not isinstance(value, int) or value < 1:
            raise SrbenchError(f"config {path}: {name} must be a positive integer, got {value!r}.")
    limit = config["time_limit"]
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0
    ):
        raise SrbenchError(
            f"config {path}: time_limit must be positive seconds or null, got {limit!r}."
        )
    ema = config["ema"]
    if ema is not None and not (isinstance(ema, float) and 0.0 < ema < 1.0):
        raise SrbenchError(f"config {path}: ema must be a decay in (0, 1) or null, got {ema!r}.")
    if bool(config["discriminator"]) != bool(arch.discriminator):
        need = "needs a `discriminator:` section" if arch.discriminator else "is not a GAN"
        raise SrbenchError(f"config {path}: {arch.name} {need}.")
    if config["discriminator"]:
        _check_keys(config["discriminator"], _DISCRIMINATOR_KEYS, f"{path}: discriminator")
    if config["data"]["labels"] not in ("auto", "none"):
        raise SrbenchError(
            f"config {path}: data.labels must be auto (class folders give labels) or none, got "
            f"{config['data']['labels']!r}."
        )
