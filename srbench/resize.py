"""MATLAB-compatible ``imresize``.

Reproduces MATLAB's ``imresize(img, scale, method)`` to the last bit for ``uint8`` images:

* kernels ``bicubic`` (a = -0.5), ``bilinear``, ``nearest``, ``lanczos2``, ``lanczos3``;
* when shrinking, the kernel is widened by ``1/scale`` (antialiasing) and re-normalised;
* the image is resized one axis at a time, the axis with the smallest scale first (the height
  axis first when both scales are equal);
* ``uint8`` input is rounded half away from zero and saturated to ``uint8`` after *each* 1-D pass;
* out-of-range taps are clamped to the edge pixel (``boundary="clamp"``), which is what the
  published LR test sets match; ``boundary="symmetric"`` mirrors them as some MATLAB releases do.

A network's bicubic input wants :func:`bicubic_upscale` (float64, never rounded).

Each pass is one sparse matrix product whose rows hold the taps in MATLAB's order, so the
float64 sums are accumulated in the same order as MATLAB's ``imresizemex``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from srbench.errors import SrbenchError

if TYPE_CHECKING:
    import scipy.sparse

__all__ = [
    "KERNELS",
    "STRIP_BYTES",
    "bicubic_upscale",
    "imresize",
    "interpolation_matrix",
    "output_shape",
    "strips",
    "warn_uint8_upscales",
]

Boundary = str  # "clamp" | "symmetric"

#: About the float64 working memory of one strip of :func:`imresize` (and of the metrics'
#: strips, :mod:`srbench.metrics.protocols`). Images whose work fits are done in one strip.
STRIP_BYTES = 32 * 1024 * 1024
#: Most (output pixel, tap) weights one axis may have (about 1 GB of indices and weights).
_MAX_TAPS = 2**26
BOUNDARIES = ("clamp", "symmetric")


def _cubic(x: np.ndarray) -> np.ndarray:
    # Keys' cubic with a = -0.5, written exactly as MATLAB's imresize/cubic.
    absx = np.abs(x)
    absx2 = absx**2
    absx3 = absx**3
    return (1.5 * absx3 - 2.5 * absx2 + 1) * (absx <= 1) + (
        -0.5 * absx3 + 2.5 * absx2 - 4 * absx + 2
    ) * ((absx > 1) & (absx <= 2))


def _triangle(x: np.ndarray) -> np.ndarray:
    return (x + 1) * ((x >= -1) & (x < 0)) + (1 - x) * ((x >= 0) & (x <= 1))


def _box(x: np.ndarray) -> np.ndarray:
    return ((x >= -0.5) & (x < 0.5)).astype(np.float64)


def _lanczos(a: int) -> Callable[[np.ndarray], np.ndarray]:
    def kernel(x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            # MATLAB's lanczos2/lanczos3, eps terms included (they define the value at 0).
            f = (np.sin(np.pi * x) * np.sin(np.pi * x / a) + np.spacing(1)) / (
                (np.pi**2 * x**2 / a) + np.spacing(1)
            )
        return f * (np.abs(x) < a)

    return kernel


@dataclass(frozen=True)
class Kernel:
    """An interpolation kernel and its support width (in input pixels at scale 1)."""

    func: Callable[[np.ndarray], np.ndarray]
    width: float


KERNELS: dict[str, Kernel] = {
    "nearest": Kernel(_box, 1.0),
    "bilinear": Kernel(_triangle, 2.0),
    "bicubic": Kernel(_cubic, 4.0),
    "lanczos2": Kernel(_lanczos(2), 4.0),
    "lanczos3": Kernel(_lanczos(3), 6.0),
}


Warn = Callable[[str], None]
_UINT8_UPSCALE: ContextVar[Warn | None] = ContextVar("srbench_uint8_upscale", default=None)
UINT8_UPSCALE_MESSAGE = (
    "it upscaled a uint8 image with imresize, which rounds after each of its two passes (up to "
    "0.07 dB of Y PSNR on Set5 at x2 before any network); use srbench.bicubic_upscale(lr, scale)."
)


@contextmanager
def warn_uint8_upscales(warn: Warn | None) -> Iterator[None]:
    """In the block (this thread or task), each :func:`imresize` that *upscales* a ``uint8``
    image calls ``warn`` with :data:`UINT8_UPSCALE_MESSAGE` (``None``: off). The runner wraps
    every method call in it (:func:`srbench.methods.inference.infer`); downscales are silent
    (that is how LR images are made)."""
    token = _UINT8_UPSCALE.set(warn)
    try:
        yield
    finally:  # a method that raises must not leave the warning on for the next caller
        _UINT8_UPSCALE.reset(token)


def bicubic_upscale(img: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB's ``imresize(im2double(img), scale)`` on the 0..255 scale, as ``float64``.

    The input of networks that refine an interpolated image (VDSR, SRCNN): ``img`` (``(H, W)`` or
    ``(H, W, C)``, ``uint8`` or float on 0..255) becomes ``float64`` *first*, so nothing is
    rounded; the output has MATLAB's size ``ceil(scale * size)``, unclipped (bicubic overshoots
    past 0 and 255). ``imresize`` on ``uint8`` rounds after each of its two passes (MATLAB's
    ``imresize(uint8)``: right for LR images and the ``bicubic`` baseline; as a network's input
    the rounding alone moves Set5's Y PSNR by up to 0.069 dB at x2 and 0.019 dB at x4).

    Example:
        >>> bicubic_upscale(np.array([[0, 255]], np.uint8), 2).round(3)[0].tolist()
        [-17.93, 51.797, 203.203, 272.93]
    """
    return imresize(np.asarray(img, dtype=np.float64), scale, method="bicubic")


def output_shape(in_shape: tuple[int, int], scale: float) -> tuple[int, int]:
    """Return MATLAB's output size ``ceil(scale * in)`` for a scale factor.

    Example:
        >>> output_shape((255, 256), 1 / 3)
        (85, 86)
    """
    return (math.ceil(scale * in_shape[0]), math.ceil(scale * in_shape[1]))


@lru_cache(maxsize=64)
def _weights(
    in_len: int, out_len: int, scale: float, method: str, antialias: bool, boundary: Boundary
) -> scipy.sparse.csr_matrix:
    """Sparse (out_len x in_len) matrix of one axis' taps, in MATLAB's tap order.

    Duplicate column indices (taps clamped onto the edge pixel) are kept as separate entries so
    that the product accumulates them one by one, as MATLAB does.
    """
    import scipy.sparse  # here, not at import: listings import this module and need no scipy

    kernel = KERNELS[method]
    if scale < 1 and antialias:

        def h(x: np.ndarray) -> np.ndarray:
            return scale * kernel.func(scale * x)

        width = kernel.width / scale
    else:
        h, width = kernel.func, kernel.width
    taps = math.ceil(width) + 2
    if taps * out_len > _MAX_TAPS:  # a scale such as 1e-9 would ask for gigabytes of weights
        raise SrbenchError(
            f"imresize by {scale!r} from {in_len} to {out_len} px needs {taps} kernel taps per "
            f"output pixel, more than srbench allocates; resize in several steps instead."
        )
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    indices = left[:, None] + np.arange(taps, dtype=np.float64)
    weights = h(u[:, None] - indices)
    total = weights[:, 0].copy()
    for k in range(1, taps):  # sequential sum, as MATLAB's sum(weights, 2)
        total += weights[:, k]
    weights = weights / total[:, None]
    cols = _boundary_indices(indices.astype(np.int64) - 1, in_len, boundary)
    keep = np.any(weights != 0, axis=0)
    weights, cols = weights[:, keep], cols[:, keep]
    n_taps = weights.shape[1]
    indptr = np.arange(0, out_len * n_taps + 1, n_taps)
    matrix = scipy.sparse.csr_matrix(
        (weights.ravel(), cols.ravel(), indptr), shape=(out_len, in_len)
    )
    matrix.has_canonical_format = False  # keep duplicates; never let scipy merge them
    return matrix


def interpolation_matrix(
    in_len: int, out_len: int, scale: float, method: str = "bicubic"
) -> np.ndarray:
    """Dense float64 (out_len, in_len) matrix of MATLAB ``imresize``'s taps along one axis.

    For upscaling (``scale >= 1``, where antialiasing changes nothing), with out-of-range taps
    clamped to the edge pixel like :func:`imresize`'s default. Taps clamped onto the same edge
    pixel are summed into one entry, so the float sums run in a different order from
    :func:`imresize`'s: the results agree to rounding (~1e-15 relative), not to the bit.
    Applying it along both axes of a float image reproduces ``imresize(img, scale, method=...)``.

    Args:
        in_len: Input length along the axis.
        out_len: Output length, ``ceil(scale * in_len)`` for MATLAB's own size.
        scale: Scale factor, at least 1.
        method: One of ``KERNELS``.

    Returns:
        The matrix; ``matrix @ column`` resizes one column.

    Raises:
        SrbenchError: For an unknown method, a scale below 1 or a length below 1.

    Example:
        >>> interpolation_matrix(2, 4, 2)
        array([[ 1.0703125, -0.0703125],
               [ 0.796875 ,  0.203125 ],
               [ 0.203125 ,  0.796875 ],
               [-0.0703125,  1.0703125]])
    """
    if method not in KERNELS:
        raise SrbenchError(
            f"Unknown resize method {method!r}; expected one of {', '.join(KERNELS)}."
        )
    if not (math.isfinite(scale) and scale >= 1):
        raise SrbenchError(
            f"interpolation_matrix is for upscaling: need scale >= 1, got {scale!r}."
        )
    if in_len < 1 or out_len < 1:
        raise SrbenchError(f"Lengths must be positive, got in_len={in_len}, out_len={out_len}.")
    return _weights(int(in_len), int(out_len), float(scale), method, False, "clamp").toarray()


def _boundary_indices(idx: np.ndarray, n: int, boundary: Boundary) -> np.ndarray:
    if boundary == "clamp":
        return np.clip(idx, 0, n - 1)
    period = 2 * n  # MATLAB's aux = [1:n, n:-1:1]
    mirrored = np.mod(idx, period)
    return np.where(mirrored < n, mirrored, period - 1 - mirrored)


def _resize_axis0(img: np.ndarray, matrix: scipy.sparse.csr_matrix) -> np.ndarray:
    """Resize the first axis of a float64 array of shape (L, ...) by a tap matrix."""
    flat = img.reshape(img.shape[0], -1)
    return np.asarray(matrix @ flat).reshape((matrix.shape[0], *img.shape[1:]))


def _row_block(matrix: scipy.sparse.csr_matrix, r0: int, r1: int) -> tuple[int, int, Any]:
    """Rows ``r0:r1`` of a tap matrix as ``(lo, hi, sub)``: ``sub`` holds the same entries in
    the same order, its columns shifted to index input rows ``lo:hi`` (all that they read)."""
    import scipy.sparse

    start, stop = matrix.indptr[r0], matrix.indptr[r1]
    cols = matrix.indices[start:stop]
    lo, hi = int(cols.min()), int(cols.max()) + 1
    sub = scipy.sparse.csr_matrix(
        (matrix.data[start:stop], cols - lo, matrix.indptr[r0 : r1 + 1] - start),
        shape=(r1 - r0, hi - lo),
    )
    sub.has_canonical_format = False  # as in _weights: never merge the clamped duplicates
    return lo, hi, sub


def _round_saturate(values: np.ndarray) -> np.ndarray:
    """MATLAB's double -> uint8 cast (as :func:`srbench.imageio.quantize`), kept in float64."""
    values += 0.5
    np.floor(values, out=values)
    return np.clip(values, 0, 255, out=values)


def strips(rows: int, bytes_per_row: int, budget: int | None = None) -> list[tuple[int, int]]:
    """``(start, stop)`` row ranges covering ``rows`` so that one strip's float64 temporaries
    stay near ``budget`` bytes (default :data:`STRIP_BYTES`); one range when all rows fit.

    No strip has a single row unless the image has one (a single row of a gray image would take
    scipy's matrix-vector path instead of the matrix-matrix one).

    Example:
        >>> strips(10, 100, budget=400)
        [(0, 4), (4, 8), (8, 10)]
    """
    budget = STRIP_BYTES if budget is None else budget
    step = max(2, min(rows, budget // max(bytes_per_row, 1)))
    starts = list(range(0, rows, step))
    if len(starts) > 1 and rows - starts[-1] == 1:
        starts.pop()  # the last single row joins the strip before it
    return [(a, b) for a, b in zip(starts, [*starts[1:], rows], strict=True)]


def imresize(
    img: np.ndarray,
    scale: float | None = None,
    *,
    shape: tuple[int, int] | None = None,
    method: str = "bicubic",
    antialias: bool | None = None,
    boundary: Boundary = "clamp",
) -> np.ndarray:
    """Resize an image exactly as MATLAB's ``imresize``.

    Args:
        img: ``(H, W)`` or ``(H, W, C)`` array. ``uint8`` input is resized with MATLAB's uint8
            semantics (rounded and saturated after each 1-D pass) and returned as ``uint8``;
            float input is resized in float64 without rounding and returned in its own dtype.
            To upscale a network's input, use :func:`bicubic_upscale` (float64 first).
        scale: Scale factor (``1/4`` shrinks by four). Output size is ``ceil(scale * size)``.
        shape: Output ``(H, W)`` instead of ``scale``; per-axis scales are then ``out / in``.
        method: One of ``KERNELS``.
        antialias: Widen the kernel when shrinking. ``None`` is MATLAB's default: on, except for
            ``nearest``.
        boundary: ``"clamp"`` (edge pixel) or ``"symmetric"`` (mirror) for out-of-range taps.

    Returns:
        The resized image.

    Raises:
        SrbenchError: For an unknown method or boundary, a bad scale or shape, or an
            unsupported dtype.

    Example:
        >>> img = np.arange(16, dtype=np.uint8).reshape(4, 4) * 16
        >>> imresize(img, 1 / 2)
        array([[ 41,  73],
               [167, 199]], dtype=uint8)
    """
    _check_args(img, scale, shape, method, boundary)
    in_hw = img.shape[:2]
    if shape is None:
        assert scale is not None
        out_hw = output_shape(in_hw, scale)
        scales = (float(scale), float(scale))
    else:
        out_hw = (int(shape[0]), int(shape[1]))
        scales = (out_hw[0] / in_hw[0], out_hw[1] / in_hw[1])
    if antialias is None:
        antialias = method != "nearest"
    is_uint8 = img.dtype == np.uint8
    warn = _UINT8_UPSCALE.get()
    if is_uint8 and warn is not None and max(scales) > 1:
        warn(UINT8_UPSCALE_MESSAGE)
    matrices = [
        _weights(in_hw[axis], out_hw[axis], scales[axis], method, antialias, boundary)
        for axis in (0, 1)
    ]
    order = sorted((0, 1), key=lambda a: scales[a])  # stable: height first on ties
    out = np.empty((*out_hw, *img.shape[2:]), np.uint8 if is_uint8 else img.dtype)
    # Strips of output rows: every output value is the same sum of the same products in the same
    # order as on the whole image (each row of a tap matrix is one output row's sum), so strips
    # change the memory needed (float64 temporaries of one strip), never a bit of the result.
    channels = math.prod(img.shape[2:])
    taps = math.ceil(in_hw[0] / out_hw[0]) + 1
    per_row = 8 * channels * (taps * in_hw[1] + in_hw[1] + 3 * out_hw[1])
    for r0, r1 in strips(out_hw[0], per_row):
        lo, hi, rows = _row_block(matrices[0], r0, r1)
        # Width first (only with shape= and a smaller width scale): the input rows lo:hi first.
        block = img[lo:hi].astype(np.float64)
        for axis in order:
            resized = _resize_axis0(np.moveaxis(block, axis, 0), rows if axis == 0 else matrices[1])
            if is_uint8:  # rounded while contiguous: several times faster than on a moved view
                resized = _round_saturate(resized)
            block = np.moveaxis(resized, 0, axis)
        out[r0:r1] = block  # the cast of astype (uint8 values are already rounded, saturated)
    return out


def _check_args(
    img: np.ndarray,
    scale: float | None,
    shape: tuple[int, int] | None,
    method: str,
    boundary: str,
) -> None:
    if method not in KERNELS:
        raise SrbenchError(
            f"Unknown resize method {method!r}; expected one of {', '.join(KERNELS)}."
        )
    if boundary not in BOUNDARIES:
        raise SrbenchError(f"Unknown boundary {boundary!r}; expected one of {BOUNDARIES}.")
    if img.ndim not in (2, 3) or min(img.shape) < 1:
        raise SrbenchError(
            f"imresize expects an (H, W) or (H, W, C) image with every side at least 1, got "
            f"{img.shape}."
        )
    if img.dtype != np.uint8 and not np.issubdtype(img.dtype, np.floating):
        raise SrbenchError(f"imresize supports uint8 and float images, got dtype {img.dtype}.")
    if (scale is None) == (shape is None):
        raise SrbenchError("imresize needs exactly one of scale= or shape=.")
    if scale is not None and not (math.isfinite(scale) and scale > 0):
        raise SrbenchError(f"Scale factor must be a positive finite number, got {scale!r}.")
    if shape is not None and min(shape) < 1:
        raise SrbenchError(f"Output shape must be positive, got {shape!r}.")
