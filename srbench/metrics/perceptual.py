"""LPIPS (Zhang et al. 2018) through the ``lpips`` package, exact on images of any size.

The ``lpips`` package computes, for each of its backbone's five layers, a per-position distance
map (unit-normalised features, squared difference, learned 1x1 weights) and sums the maps'
spatial means. Every step but the mean is local, so srbench evaluates large images in horizontal
strips: each strip is run with a margin wider than the deepest layer's receptive field, only the
rows of each layer's map that belong to the strip's core are kept, and the per-layer sums are
divided by the full map's size at the end. The result equals the whole-image value (to float
rounding) while memory stays bounded by the strip, which is what lets VGG-LPIPS run on 2K images.

The heads (linear layers) ship with the ``lpips`` wheel; the backbone (torchvision AlexNet or
VGG16 ImageNet weights) is read from the torch hub cache through :mod:`srbench.weights`, never
downloaded implicitly. Both files are checked against their declared SHA-256 before they are
loaded, and their short hashes are in the metric version (``1+alex.7be5be79+lin.df73285e``).
``random_backbone=True`` builds the same network with random backbone weights: the code path of
tests, and nothing else.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from srbench.metrics import batching
from srbench.metrics.base import MetricInfo, register_metric, weights_version
from srbench.metrics.batching import Batcher
from srbench.weights.backbones import ALEXNET, LPIPS_ALEX, LPIPS_VGG, VGG16

__all__ = ["LPIPS_METRICS", "LpipsScorer", "build_lpips"]

#: The backbone and the linear heads of each network.
_FILES = {"alex": (ALEXNET, LPIPS_ALEX), "vgg": (VGG16, LPIPS_VGG)}
#: Cumulative stride of each LPIPS layer of the backbone (rows of the input per map row).
_STRIDES = {"alex": (4, 8, 16, 16, 16), "vgg": (1, 2, 4, 8, 16)}
#: Input rows around a strip's core; above both backbones' deepest receptive field radius
#: (AlexNet conv5: 163 px, VGG16 conv5_3: 196 px) and a multiple of their total stride 16.
_MARGIN = 224
_ALIGN = 16


@dataclass
class LpipsScorer:
    """LPIPS of one backbone on one device, callable as ``scorer(sr, hr) -> float``.

    Calls from several threads are safe. With ``batch`` (on by default on an accelerator,
    :func:`~srbench.metrics.batching.batches_on`), calls on same-size pairs that arrive
    together run as one batch of at most ``max_pixels`` pixels per side; each call still gets
    its own value (equal to the one-pair value up to float rounding) or its own error.

    Attributes:
        model: The ``lpips.LPIPS`` module (eval mode).
        net: ``"alex"`` or ``"vgg"``.
        device: Torch device string.
        max_pixels: Images with more pixels are scored in strips of about this many pixels
            (the value is the same; only memory changes); a batch holds at most this many
            pixels per side.
        weights: The weights files loaded, by name (``{"file": path, "sha256": digest}``), for
            the run manifest.
        batch: Batch concurrent calls (``None``: on an accelerator only).
    """

    model: Any
    net: str
    device: str = "cpu"
    max_pixels: int = 2048 * 2048
    weights: dict[str, Any] = field(default_factory=dict)
    batch: bool | None = None
    _batcher: Batcher[_Pair, float] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.batch is None:
            self.batch = batching.batches_on(self.device)
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # a copy (another process, a Ray task) starts with its own empty queue
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_batcher")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _batcher=None)
        self._lock = threading.Lock()

    def __call__(self, sr: np.ndarray, hr: np.ndarray) -> float:
        """LPIPS of two ``uint8`` ``(H, W, 3)`` RGB images (0: identical)."""
        return self.distance(sr, hr, data_range=(0.0, 255.0))

    def distance(self, a: Any, b: Any, data_range: tuple[float, float] = (0.0, 1.0)) -> float:
        """LPIPS of two images given as ``(H, W, 3)`` arrays or ``(1, 3, H, W)`` tensors whose
        values span ``data_range`` (``(0, 1)``, ``(-1, 1)``, ``(0, 255)``): they are mapped to
        the ``[-1, 1]`` the networks were trained on."""
        pair = _Pair(_image_tensor(a), _image_tensor(b), _checked_range(data_range))
        if pair.x0.shape != pair.x1.shape:
            raise ValueError(
                f"LPIPS needs images of one size, got {tuple(pair.x0.shape)} and "
                f"{tuple(pair.x1.shape)}."
            )
        if not self.batch:
            return self._distances([pair])[0]
        return self._batches()(pair)

    def _distances(self, pairs: list[_Pair]) -> list[float]:
        """LPIPS of same-size pairs (same ``data_range``) in one batch: the network runs on
        all of them together, in strips when they hold more than ``max_pixels`` pixels."""
        import torch

        height, width = pairs[0].x0.shape[-2:]
        data_range = pairs[0].data_range
        x0 = _unit_batch([p.x0 for p in pairs], data_range, self.device)
        x1 = _unit_batch([p.x1 for p in pairs], data_range, self.device)
        sums = np.zeros((len(pairs), 5))
        counts = np.zeros(5)
        with torch.inference_mode():
            for start, stop, first, last in _strips(height, self._core_rows(width * len(pairs))):
                part = self._layer_maps(x0[..., start:stop, :], x1[..., start:stop, :])
                for layer, distance in enumerate(part):
                    stride = _STRIDES[self.net][layer]
                    end = None if last >= height else (last - start) // stride
                    kept = distance[..., (first - start) // stride : end, :]
                    sums[:, layer] += kept.double().sum(dim=(1, 2, 3)).cpu().numpy()
                    counts[layer] += kept[0].numel()
        return [float(np.sum(row / counts)) for row in sums]

    def _batches(self) -> Batcher[_Pair, float]:
        with self._lock:
            if self._batcher is None:
                self._batcher = Batcher(
                    self._distances,
                    self.max_pixels,
                    size=lambda pair: pair.x0.shape[-2] * pair.x0.shape[-1],
                    key=lambda pair: (tuple(pair.x0.shape), pair.data_range),
                )
            return self._batcher

    def _core_rows(self, width: int) -> int:
        rows = max(self.max_pixels // max(width, 1) - 2 * _MARGIN, 2 * _MARGIN)
        return rows // _ALIGN * _ALIGN

    def _layer_maps(self, x0: Any, x1: Any) -> list[Any]:
        """Per-layer distance maps ``(n, 1, h, w)``: the package's forward without the mean."""
        import lpips

        model = self.model
        outs0 = model.net.forward(model.scaling_layer(x0))
        outs1 = model.net.forward(model.scaling_layer(x1))
        return [
            model.lins[k](
                (lpips.normalize_tensor(outs0[k]) - lpips.normalize_tensor(outs1[k])) ** 2
            )
            for k in range(model.L)
        ]


@dataclass(frozen=True)
class _Pair:
    """One LPIPS call: two ``(1, 3, H, W)`` image tensors (any dtype, device) and their
    range."""

    x0: Any
    x1: Any
    data_range: tuple[float, float]


def _checked_range(data_range: tuple[float, float]) -> tuple[float, float]:
    lo, hi = (float(v) for v in data_range)
    if hi <= lo:
        raise ValueError(f"data_range must be (low, high) with low < high, got {data_range}.")
    return lo, hi


def _image_tensor(x: Any) -> Any:
    """``x`` as a ``(1, 3, H, W)`` tensor view (no copy), or a ValueError naming its shape."""
    import torch

    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.ndim == 3:  # (H, W, C) image
        t = t.permute(2, 0, 1)[None]
    if t.ndim != 4 or t.shape[:2] != (1, 3):
        shape = tuple(t.shape)
        raise ValueError(f"LPIPS needs one RGB image, (H, W, 3) or (1, 3, H, W); got {shape}.")
    return t


def _to_unit_tensor(x: Any, data_range: tuple[float, float], device: str) -> Any:
    """One image as the network's ``(1, 3, H, W)`` float32 input in ``[-1, 1]``."""
    return _unit_batch([_image_tensor(x)], _checked_range(data_range), device)


def _unit_batch(images: list[Any], data_range: tuple[float, float], device: str) -> Any:
    """Same-size ``(1, 3, H, W)`` tensors as one ``(n, 3, H, W)`` float32 batch in ``[-1, 1]``.

    Each image is mapped in float64 (float32 on MPS, which has none) and rounded once, as the
    ``lpips`` package's ``im2tensor`` does (``image / 127.5 - 1``): the same inputs, so the same
    values as the package. The batch is a fresh channels-last tensor: the layout ``im2tensor``
    hands the network, which the CPU convolutions take without a reorder (AlexNet's first one
    twice as fast as on NCHW). Fresh, not ``.contiguous(memory_format=...)``: a permuted
    (H, W, 3) image has batch stride 3, which PyTorch counts as channels-last-contiguous yet its
    convolutions treat as NCHW.
    """
    import torch

    lo, hi = data_range
    work = torch.float32 if torch.device(device).type == "mps" else torch.float64
    shape = (len(images), *images[0].shape[1:])
    x = torch.empty(shape, dtype=torch.float32, device=device, memory_format=torch.channels_last)
    for i, image in enumerate(images):
        unit = image[0].to(device, work, copy=True)  # a copy: the caller's tensor stays as is
        if lo != 0.0:
            unit.sub_(lo)
        x[i].copy_(unit.div_((hi - lo) / 2).sub_(1.0))
    return x


def _strips(height: int, core: int) -> Iterator[tuple[int, int, int, int]]:
    """``(start, stop, first, last)``: input rows ``[start, stop)`` of each strip, whose core
    ``[first, last)`` it owns.

    Map row ``j`` of a strip starting at input row ``start`` (a multiple of every layer's
    stride) is row ``j + start / stride`` of the whole image's map, so a core owns the map rows
    from ``(first - start) / stride``; the last strip owns everything to the bottom.
    """
    if height <= core + 2 * _MARGIN:
        yield 0, height, 0, height
        return
    for first in range(0, height, core):
        last = min(first + core, height)
        yield max(first - _MARGIN, 0), min(last + _MARGIN, height), first, last


def build_lpips(net: str = "alex", device: str = "cpu", random_backbone: bool = False) -> Any:
    """The ``lpips.LPIPS`` module (v0.1) with its packaged heads and the backbone's ImageNet
    weights from the torch hub cache (random ones with ``random_backbone``), both checked
    against their declared hashes. The files loaded are in the module's ``srbench_weights``
    attribute (name -> ``{"file": path, "sha256": digest}``).

    Raises:
        MissingWeightsError: The backbone or the packaged heads are not on this machine.
        ChecksumError: A file there is not the declared one.
    """
    import torch

    from srbench.system.extras import require
    from srbench.weights import files as weights

    lpips = require("lpips", "LPIPS")
    backbone_file, heads_file = _FILES[net]
    heads = weights.record(heads_file.name)
    backbone = None if random_backbone else weights.record(backbone_file.name)
    with _quiet():  # torchvision's "pretrained is deprecated" warning, lpips' prints
        model = lpips.LPIPS(
            pretrained=True,
            net=net,
            version="0.1",
            pnet_rand=True,
            model_path=heads["file"],
            verbose=False,
        )
    if backbone is not None:
        state = torch.load(backbone["file"], map_location="cpu", weights_only=True)
        model.net.load_state_dict(_slice_keys(model.net.state_dict(), state), strict=True)
    model.srbench_weights = {
        backbone_file.name: backbone or "random weights (tests only)",
        heads_file.name: heads,
    }
    return model.eval().to(device)


def _slice_keys(ours: dict[str, Any], torchvision_state: dict[str, Any]) -> dict[str, Any]:
    """torchvision ``features.<i>.<param>`` keys renamed to lpips' ``slice<k>.<i>.<param>``."""
    mapped = {}
    for key in ours:
        _, index, param = key.split(".")
        source = f"features.{index}.{param}"
        if source not in torchvision_state:
            raise KeyError(f"{source} is not in the backbone checkpoint; is it the right file?")
        mapped[key] = torchvision_state[source]
    return mapped


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings(), contextlib.redirect_stdout(None):
        warnings.simplefilter("ignore", UserWarning)
        yield


def _loader(net: str):  # noqa: ANN202
    def load(device: str) -> LpipsScorer:
        model = build_lpips(net, device)
        scorer = LpipsScorer(
            model, net, device, weights=dict(getattr(model, "srbench_weights", {}))
        )
        if net == "vgg":  # VGG maps at full resolution: ~4 GB per 2K pair, so strips of 1 Mpx
            scorer.max_pixels = 1024 * 1024
        return scorer

    return load


LPIPS_METRICS = (
    register_metric(
        MetricInfo(
            "lpips",
            higher_is_better=False,
            level="image",
            version=weights_version("1", alex=ALEXNET, lin=LPIPS_ALEX),
            inputs="rgb",
            load=_loader("alex"),
            weights=(ALEXNET.name, LPIPS_ALEX.name),
            description="LPIPS v0.1 with the AlexNet backbone (the reference); RGB, shaved.",
        )
    ),
    register_metric(
        MetricInfo(
            "lpips-vgg",
            higher_is_better=False,
            level="image",
            version=weights_version("1", vgg16=VGG16, lin=LPIPS_VGG),
            inputs="rgb",
            load=_loader("vgg"),
            weights=(VGG16.name, LPIPS_VGG.name),
            description="LPIPS v0.1 with the VGG16 backbone; RGB, shaved.",
        )
    ),
)
