"""Zoomed visual comparisons: the most textured crop of an image, and a figure of that crop in
HR and in each method's output beside the whole HR image.

:func:`interesting_box` picks the crop from the HR image alone, so every method is shown on the
same pixels; :func:`comparison_grid` draws it (a :class:`matplotlib.figure.Figure` built without
``pyplot``, like every srbench figure). :mod:`srbench.report.visuals` loads the images and
:func:`srbench.report.plots.save_figure` writes the figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from srbench.errors import SizeMismatchError, SrbenchError
from srbench.imageio import rgb2y
from srbench.metrics import METRICS

__all__ = ["comparison_grid", "interesting_box"]


def interesting_box(hr: np.ndarray, size: int, border: int = 0) -> tuple[int, int, int, int]:
    """``(top, left, size, size)``: the square window with the most texture (the highest
    gradient energy of luma), at least ``border`` pixels from the image's edges when it fits.

    Gradient energy rather than variance: variance favours one strong edge (a helmet's rim),
    while SR methods differ most on fine detail (text, fabric, hair).

    Window sums come from an integral image, so every position is scored at once and exactly
    (a centred box filter is ambiguous for even sizes). Ties go to the topmost, then leftmost.

    Example:
        >>> img = np.zeros((64, 64), np.uint8)
        >>> img[40:48, 8:16] = np.indices((8, 8)).sum(axis=0) % 2 * 255
        >>> interesting_box(img, 8)
        (40, 8, 8, 8)
    """
    height, width = hr.shape[:2]
    if not 1 <= size <= min(height, width):
        raise SrbenchError(f"a {size}-pixel box does not fit a {width}x{height} image.")
    if size + 2 * border > min(height, width):
        border = 0
    luma = (rgb2y(hr) if hr.ndim == 3 else hr).astype(np.float64)
    energy = np.zeros((height, width))
    energy[1:, :] += np.diff(luma, axis=0) ** 2
    energy[:, 1:] += np.diff(luma, axis=1) ** 2
    total = np.zeros((height + 1, width + 1))
    total[1:, 1:] = energy.cumsum(0).cumsum(1)
    windows = (
        total[size:, size:] - total[:-size, size:] - total[size:, :-size] + total[:-size, :-size]
    )
    inside = windows[border : height - size - border + 1, border : width - size - border + 1]
    top, left = np.unravel_index(np.argmax(inside), inside.shape)
    return int(top) + border, int(left) + border, size, size


def _format_scores(scores: Mapping[str, float]) -> str:
    parts = []
    for metric, value in scores.items():
        unit = METRICS.get(metric).unit if metric in METRICS else ""
        parts.append(f"{value:.2f} dB" if unit == "dB" else f"{value:.4g} {unit}".strip())
    return " / ".join(parts)


def _show(ax: Axes, image: np.ndarray, caption: str) -> None:
    gray = {"cmap": "gray", "vmin": 0, "vmax": 255} if image.ndim == 2 else {}
    # nearest: a zoomed crop must show the method's pixels, not the viewer's interpolation
    ax.imshow(image, interpolation="nearest", **gray)
    ax.set_title(caption, fontsize="small")
    ax.set_axis_off()


def _check_fits(
    hr: np.ndarray, outputs: Mapping[str, np.ndarray], box: tuple[int, int, int, int]
) -> None:
    """Refuse a box outside the image, or outputs of another size than ``hr``."""
    height, width = hr.shape[:2]
    top, left, box_h, box_w = box
    if min(box_h, box_w) < 1 or min(top, left) < 0 or top + box_h > height or left + box_w > width:
        raise SrbenchError(f"box {tuple(box)} is not inside the {width}x{height} image.")
    for label, image in outputs.items():
        if image.shape[:2] != (height, width):
            raise SizeMismatchError(
                f"{label} is {image.shape[1]}x{image.shape[0]}, HR is {width}x{height}."
            )


def comparison_grid(
    hr: np.ndarray,
    outputs: Mapping[str, np.ndarray],
    box: tuple[int, int, int, int],
    *,
    title: str = "",
    scores: Mapping[str, Mapping[str, float]] | None = None,
) -> Figure:
    """The whole HR image with ``box`` drawn on it, then the same zoomed crop of HR and of each
    output (in ``outputs`` order), captioned with its label and its ``scores``.

    ``box`` is ``(top, left, height, width)`` in HR pixels (see :func:`interesting_box`);
    ``scores`` maps a label to ``{metric: value}`` (such as ``28.43 dB / 0.8111``).

    Raises:
        SizeMismatchError: An output is not the size of ``hr``.
        SrbenchError: ``box`` is not inside the image.
    """
    _check_fits(hr, outputs, box)
    height, width = hr.shape[:2]
    top, left, box_h, box_w = box
    crops = {"HR": hr, **outputs}
    # at most 4 crops a row, rows filled evenly (5 crops: 3 + 2, not 4 + 1)
    rows = math.ceil(len(crops) / 4)
    columns = math.ceil(len(crops) / rows)
    aspect = box_h / box_w
    # the whole image spans every row of crops; its width follows from its aspect ratio
    whole = float(np.clip(rows * aspect * width / height, 0.6, 4.0))
    unit = 2.6  # inches per crop panel
    fig = Figure(
        figsize=(unit * (whole + columns), unit * rows * aspect + 0.6 * rows + 0.4 * bool(title)),
        layout="constrained",
    )
    grid = fig.add_gridspec(rows, columns + 1, width_ratios=[whole] + [1] * columns)
    overview = fig.add_subplot(grid[:, 0])
    _show(overview, hr, f"HR ({width}x{height})")
    overview.add_patch(
        Rectangle((left - 0.5, top - 0.5), box_w, box_h, fill=False, edgecolor="red", linewidth=1.5)
    )
    window = (slice(top, top + box_h), slice(left, left + box_w))
    for i, (label, image) in enumerate(crops.items()):
        ax = fig.add_subplot(grid[i // columns, 1 + i % columns])
        values = (scores or {}).get(label)
        _show(ax, image[window], f"{label}\n{_format_scores(values)}" if values else label)
    if title:
        fig.suptitle(title)
    return fig
