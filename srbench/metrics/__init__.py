"""Metrics, their metadata registry and the evaluation protocols.

``METRICS`` maps a name to a :class:`MetricInfo` (direction, level, version, compute function);
``PROTOCOLS`` maps ``y`` / ``rgb`` to a :class:`Protocol`. :func:`score_pair` is the one function
that scores an SR/HR pair; given a :class:`Reference` (``protocol.reference(hr, scale)``) instead
of the HR image, it prepares that image once for all the SR images scored against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from srbench.errors import SrbenchError
from srbench.metrics import distribution as _distribution  # noqa: F401  (fid, kid)
from srbench.metrics import fidelity as _fidelity  # noqa: F401  (registers psnr, ssim)
from srbench.metrics import noreference as _noreference  # noqa: F401  (brisque)
from srbench.metrics import perceptual as _perceptual  # noqa: F401  (lpips, lpips-vgg)
from srbench.metrics.base import METRICS, ImageMetricFn, MetricInfo, register_metric
from srbench.metrics.protocols import PROTOCOLS, Protocol, Reference, get_protocol

__all__ = [
    "DEFAULT_METRICS",
    "METRICS",
    "PROTOCOLS",
    "MetricInfo",
    "Protocol",
    "Reference",
    "get_protocol",
    "register_metric",
    "score_pair",
]

DEFAULT_METRICS = ("psnr", "ssim")

register_metric(
    MetricInfo(
        "runtime",
        higher_is_better=False,
        level="image",
        version="1",
        unit="s",
        description="Wall-clock seconds of the method on one image (measured by srbench run).",
    )
)


def score_pair(
    sr: np.ndarray,
    hr: np.ndarray | Reference,
    scale: int,
    protocol: Protocol | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
    scorers: Mapping[str, ImageMetricFn] | None = None,
) -> dict[str, float]:
    """Score one ``uint8`` SR image against its (un-cropped) HR image.

    Image-level metrics only (set-level ones such as FID are computed over a whole set). A
    model-backed metric (LPIPS) needs its scorer in ``scorers``, built once with
    ``METRICS.get(name).load(device)``. ``hr`` may be a :class:`Reference` made by
    ``protocol.reference(hr, scale)``: what depends on the HR image alone is then computed once
    for every SR image scored against it (the same values).

    Example:
        >>> hr = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
        >>> score_pair(hr, hr, 4)["psnr"]
        inf
    """
    if sr.dtype != np.uint8:
        raise TypeError(
            f"score_pair expects a uint8 SR image, got {sr.dtype}; quantize() it first."
        )
    reference = _reference(hr, scale, protocol)
    infos = [i for i in map(METRICS.get, metrics) if i.level == "image" and i.name != "runtime"]
    computes = {}
    for info in infos:
        compute = (scorers or {}).get(info.name) or info.compute
        if compute is None:
            raise SrbenchError(
                f"metric {info.name} needs its model: pass scorers={{'{info.name}': "
                f"METRICS.get('{info.name}').load('cpu')}}."
            )
        computes[info.name] = compute
    # Protocol metrics in bounded memory (large images in strips), then the RGB-input ones.
    by_protocol = {i.name: computes[i.name] for i in infos if i.inputs == "protocol"}
    out = reference.score(sr, by_protocol) if by_protocol else {}
    if any(i.inputs == "rgb" for i in infos):
        pair = reference.rgb_pair(sr)
        out.update({i.name: computes[i.name](*pair) for i in infos if i.inputs == "rgb"})
    return {i.name: out[i.name] for i in infos}


def _reference(hr: np.ndarray | Reference, scale: int, protocol: Protocol | None) -> Reference:
    """``hr`` as a :class:`Reference`: a one-shot one (nothing kept) for an HR array."""
    if not isinstance(hr, Reference):
        return Reference(protocol or get_protocol(), hr, scale, keep=False)
    if (protocol is not None and hr.protocol != protocol) or hr.scale != scale:
        raise SrbenchError(
            f"score_pair got a Reference prepared for protocol {hr.protocol.key(hr.scale)} at "
            f"x{hr.scale}, but was asked for "
            f"{(protocol or hr.protocol).key(scale)} at x{scale}; prepare the reference with "
            "the protocol and scale it is scored with."
        )
    return hr
