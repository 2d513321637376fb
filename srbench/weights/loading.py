"""Reading weights and checkpoints into networks, with errors that say what went wrong.

Shared by the trained methods (inference) and ``srbench train`` (resume, initialisation). Files
are read with ``torch.load(weights_only=True)``: a weights file can never run code.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srbench.errors import CheckpointError

if TYPE_CHECKING:
    from spandrel import ImageModelDescriptor
    from torch import nn

    from srbench.methods.trained import Architecture

__all__ = [
    "build_network",
    "infer_scales",
    "interpolate_states",
    "load_checkpoint",
    "load_network",
    "load_strict",
    "native_layout",
    "read_file",
    "read_state",
]

#: How files of ``torch.save`` start: a zip archive, or (legacy format) a pickle.
_TORCH_MAGIC = (b"PK\x03\x04", b"\x80")
# Frozen constants (the DIV2K mean); a file without them still loads, they are rebuilt.
_CONSTANT_PREFIXES = ("sub_mean.", "add_mean.")


def import_target(target: str) -> Any:
    """The object named by ``"package.module:Name"``."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def build_network(
    arch: Architecture, scales: tuple[int, ...], kwargs: Mapping[str, Any] | None = None
) -> nn.Module:
    """The generator of ``arch`` for ``scales`` (one scale unless multi-scale)."""
    cls = import_target(arch.net)
    options = dict(arch.kwargs if kwargs is None else kwargs)
    if arch.multiscale:
        return cls(scales=tuple(scales), **options)
    if len(scales) != 1:
        raise CheckpointError(f"{arch.name} is single-scale; got scales {list(scales)}.")
    return cls(scale=scales[0], **options)


def read_file(path: Path, what: str = "weights file") -> dict[str, Any]:
    """``torch.load`` a file onto the CPU, turning every failure into a :class:`CheckpointError`:
    a missing path, a folder, an empty file, a file that is not a torch file (a text file, an
    image: the unpickler fails in arbitrary ways on such bytes), or one that holds no dict."""
    import torch

    if path.is_dir():
        raise CheckpointError(f"{what} {path} is a folder, not a file. Fix: give the file itself.")
    if not path.is_file():
        raise CheckpointError(f"{what} {path} does not exist.")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(
            f"{what} {path} is empty (0 bytes): an interrupted copy or download. Fix: copy or "
            "download it again."
        )
    with open(path, "rb") as handle:
        head = handle.read(16)
    if not head.startswith(_TORCH_MAGIC):
        raise CheckpointError(
            f"{what} {path} ({size:,} bytes) is not a torch file: it starts with {head!r}, where "
            "a file of torch.save starts a zip archive (or, before torch 1.6, a pickle). Fix: "
            "give the .pt/.pth file the weights were saved in."
        )
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 (the unpickler raises anything on foreign bytes)
        detail = (str(exc).splitlines() or [""])[0][:200]
        raise CheckpointError(
            f"{what} {path} ({size:,} bytes) cannot be read: it is truncated, corrupt or not a "
            f"torch file ({type(exc).__name__}: {detail}). Fix: copy or download it again; a "
            "training checkpoint can be replaced by the previous one (checkpoints/previous.pt)."
        ) from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{what} {path} holds a {type(data).__name__}, not a state dict.")
    return data


def read_state(arch: Architecture, path: Path, what: str = "weights file") -> dict[str, Any]:
    """The state dict in ``path`` in ``arch``'s key layout (:func:`native_layout`), or a
    :class:`CheckpointError` saying why the file is not one: unreadable (:func:`read_file`), or a
    dict that does not map names to tensors (a training checkpoint, another program's file)."""
    import torch

    data = read_file(path, what)
    try:
        state = native_layout(arch, data)
    except Exception as exc:  # noqa: BLE001 (a converter meeting a foreign dict)
        raise CheckpointError(
            f"{what} {path} is not a state dict of {arch.name} in any layout srbench knows "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    foreign = [
        f"{k!r} ({type(v).__name__})"
        for k, v in state.items()
        if not isinstance(k, str) or not isinstance(v, torch.Tensor)
    ]
    if foreign or not state:
        found = f"entries that are not tensors: {', '.join(foreign[:3])}" if foreign else "nothing"
        raise CheckpointError(
            f"{what} {path} is not a state dict (names -> tensors) of {arch.name}: it holds "
            f"{found}. A training checkpoint is not a weights file. Fix: give the exported "
            "weights (model/<method>-x<s>-<sha8>.pt of `srbench train`) or the authors' file."
        )
    return state


def native_layout(arch: Architecture, state: Mapping[str, Any]) -> dict[str, Any]:
    """``state`` with its keys in ``arch``'s layout: a family that knows other published layouts
    of its weights (ESRGAN's first release, BasicSR) names its converter in
    :attr:`~srbench.methods.trained.Architecture.layouts`; other states are returned as they are."""
    return import_target(arch.layouts)(state) if arch.layouts else dict(state)


def load_strict(net: nn.Module, state: Mapping[str, Any], source: str, expected: str) -> None:
    """Load ``state`` into ``net`` with every key and shape matching, else explain the mismatch.

    ``expected`` describes the architecture (``"edsr x4 (32 blocks x 256)"``) for the message.
    """
    own = net.state_dict()
    state = dict(state)
    for key in own:
        if key.startswith(_CONSTANT_PREFIXES) and key not in state:
            state[key] = own[key]
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
        for k in own
        if k in state and hasattr(state[k], "shape") and state[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        problems = []
        if missing:
            problems.append(f"{len(missing)} missing key(s) ({', '.join(missing[:3])}...)")
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected key(s) ({', '.join(unexpected[:3])}...)")
        if shapes:
            problems.append(f"{len(shapes)} shape mismatch(es) (file vs model: {shapes[0]})")
        raise CheckpointError(
            f"{source} does not fit {expected}: {'; '.join(problems)}. It was made for another "
            "architecture, scale or configuration. Fix: pick the method and scale it was trained "
            "for, or give its model card (the .json beside it) so srbench knows its configuration."
        )
    net.load_state_dict(state, strict=True)


def describe(arch: Architecture, scales: tuple[int, ...], kwargs: Mapping[str, Any]) -> str:
    """``edsr x4 (n_resblocks=32, n_feats=256, res_scale=0.1)`` for messages."""
    options = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{arch.name} x{','.join(map(str, scales))} ({options})"


def load_network(
    arch: Architecture,
    path: Path,
    scales: tuple[int, ...],
    card: Mapping[str, Any] | None = None,
) -> nn.Module:
    """Build ``arch`` (with the card's configuration when there is one) and load ``path``."""
    kwargs = dict(card["arch"]["kwargs"]) if card else dict(arch.kwargs)
    net_scales = arch.scales if arch.multiscale else scales
    net = build_network(arch, net_scales, kwargs)
    state = read_state(arch, path)
    load_strict(net, state, f"weights file {path}", describe(arch, net_scales, kwargs))
    return net


def interpolate_states(
    psnr: Mapping[str, Any], gan: Mapping[str, Any], alpha: float
) -> dict[str, Any]:
    """ESRGAN's network interpolation: ``(1 - alpha) * psnr + alpha * gan`` for every floating
    tensor (integer ones, like batch-norm counters, come from ``gan``). ``alpha`` 0 and 1 return
    copies of ``psnr`` and ``gan`` exactly.

    Raises:
        CheckpointError: The two states are not of one architecture.
    """
    if psnr.keys() != gan.keys():
        differ = sorted(psnr.keys() ^ gan.keys())
        raise CheckpointError(
            f"network interpolation needs two states of one architecture; {len(differ)} key(s) "
            f"are in only one ({', '.join(differ[:3])}...)."
        )
    shapes = [k for k in gan if tuple(psnr[k].shape) != tuple(gan[k].shape)]
    if shapes:
        raise CheckpointError(
            f"network interpolation: {shapes[0]} is {tuple(psnr[shapes[0]].shape)} in the PSNR "
            f"weights and {tuple(gan[shapes[0]].shape)} in the GAN weights; they were trained "
            "with other configurations."
        )
    out = {}
    for key, value in gan.items():
        if not value.is_floating_point() or alpha == 1:
            out[key] = value.clone()
        elif alpha == 0:
            out[key] = psnr[key].clone()
        else:
            out[key] = (1 - alpha) * psnr[key] + alpha * value
    return out


def infer_scales(arch: Architecture, path: Path) -> tuple[int, ...]:
    """The scales a bare state-dict file (no model card) serves, found by matching its keys and
    shapes against the architecture at each scale (built on the meta device: no memory)."""
    import torch

    state = read_state(arch, path)
    candidates = [arch.scales] if arch.multiscale else [(s,) for s in arch.scales]
    for scales in candidates:
        with torch.device("meta"):
            own = build_network(arch, scales).state_dict()
        keys = {k for k in own if not k.startswith(_CONSTANT_PREFIXES)}
        if (
            keys <= state.keys()
            and all(tuple(state[k].shape) == tuple(own[k].shape) for k in keys)
            and not (state.keys() - own.keys())
        ):
            return scales
    raise CheckpointError(
        f"weights file {path} does not fit {describe(arch, arch.scales, arch.kwargs)} at any "
        f"scale ({len(state)} tensors, first keys: {', '.join(list(state)[:3])}). Fix: pick the "
        "method it was trained for, or put its model card (.json) beside it."
    )


def _read_safetensors(path: Path, what: str) -> dict[str, Any]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(path, device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(
            f"{what} {path} ({path.stat().st_size:,} bytes) is not a readable safetensors file: "
            f"it is truncated, corrupt or of another format ({exc}). Fix: copy or download it "
            "again."
        ) from exc


def _key_summary(state: Mapping[str, Any]) -> str:
    """``"412 tensors, first keys: conv_first.weight, conv_first.bias, ..."`` for messages."""
    keys = [str(k) for k in list(state)[:4]]
    return f"{len(state)} entries, first keys: {', '.join(keys) or 'none'}"


def load_checkpoint(path: Path, what: str = "weights file") -> ImageModelDescriptor:
    """Any super-resolution checkpoint spandrel recognises, as its model descriptor (on the CPU,
    float32; ``.architecture.id``, ``.scale``, ``.model``...).

    The file is read safely (``torch.load(weights_only=True)``, or safetensors) with the errors of
    :func:`read_file`; the authors' wrappings (``params``, ``params_ema``, ``state_dict``...) and
    prefixes (``module.``) are removed by spandrel's own canonicalisation.

    Raises:
        CheckpointError: The file cannot be read (truncated, not a torch/safetensors file), holds
            no tensors, spandrel recognises no architecture in it (the message gives the number of
            entries and the first key names), the recognised architecture does not load it, or
            it is not an RGB super-resolution model (a denoiser, a grayscale or inpainting model).
    """
    from spandrel import (
        MAIN_REGISTRY,
        ImageModelDescriptor,
        UnsupportedModelError,
        canonicalize_state_dict,
    )

    if path.is_file() and path.suffix.lower() == ".safetensors":
        data = _read_safetensors(path, what)
    else:
        data = read_file(path, what)
    state = canonicalize_state_dict(data)
    tensors = sum(hasattr(v, "shape") for v in state.values())
    if not tensors:
        raise CheckpointError(
            f"{what} {path} holds no tensors ({_key_summary(state)}): it is not a weights file. "
            "A training checkpoint keeps the weights under another key; give the exported weights."
        )
    try:
        found = MAIN_REGISTRY.load(state)
    except UnsupportedModelError:
        raise CheckpointError(
            f"{what} {path} is not a checkpoint of any architecture spandrel knows "
            f"({_key_summary(state)}). Fix: give the authors' file of a supported architecture "
            "(https://github.com/chaiNNer-org/spandrel lists them)."
        ) from None
    except Exception as exc:  # noqa: BLE001 (an architecture's loader meeting odd shapes)
        raise CheckpointError(
            f"{what} {path} looks like a spandrel-supported architecture but does not load "
            f"({type(exc).__name__}: {str(exc)[:200]}; {_key_summary(state)})."
        ) from exc
    if not isinstance(found, ImageModelDescriptor) or found.purpose not in ("SR", "Restoration"):
        raise CheckpointError(
            f"{what} {path} is a {found.architecture.id} model for {found.purpose}, not "
            "single-image super-resolution."
        )
    if found.scale < 2 or (found.input_channels, found.output_channels) != (3, 3):
        raise CheckpointError(
            f"{what} {path} is a {found.architecture.id} model of scale {found.scale} with "
            f"{found.input_channels} input and {found.output_channels} output channels; srbench "
            "runs RGB super-resolution models (3 channels, scale 2 or more)."
        )
    return found
