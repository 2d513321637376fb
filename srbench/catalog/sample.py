"""The built-in offline sample: five HR images that ship inside scikit-image.

They need no download, so the README's quick start and CI run anywhere. The set mixes what the
standard sets contain: RGB photos, a gray image (``camera``, scored by the gray rule) and sizes
that are not multiples of 3 or 4 (exercising ``modcrop``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from srbench.imageio import write_png

__all__ = ["SAMPLE_IMAGES", "sample_images", "write_sample"]

SAMPLE_IMAGES = ("astronaut", "camera", "chelsea", "coffee", "rocket")


def sample_images() -> dict[str, np.ndarray]:
    """The sample's HR images by id, as ``uint8`` arrays."""
    import skimage.data  # here, not at the top: scikit-image takes 0.3 s to import

    return {
        name: np.asarray(getattr(skimage.data, name)(), dtype=np.uint8) for name in SAMPLE_IMAGES
    }


def write_sample(out: str | os.PathLike[str]) -> list[Path]:
    """Write the sample HR images as ``<id>.png`` into ``out``; returns the paths."""
    paths = []
    for name, img in sample_images().items():
        path = Path(out) / f"{name}.png"
        write_png(path, img)
        paths.append(path)
    return paths
