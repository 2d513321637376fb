"""``precomputed``: score SR images that another program wrote, as if a method had made them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from srbench.errors import ImageReadError
from srbench.imageio import image_index, read_image
from srbench.methods.base import ImageContext, MethodCard, SRMethod, Tiling

__all__ = ["Precomputed"]


class Precomputed(SRMethod):
    """Reads ``<dir>/<image id><suffix>.<ext>`` for each image instead of computing it.

    ``dir`` and ``suffix`` may contain ``{dataset}``, ``{scale}`` and ``{degradation}``, so one
    spec covers a grid: ``precomputed:dir=out/X{scale},suffix=_x{scale},label=RCAN``.

    A folder holding two images of one stem (``baby.png`` and ``baby.bmp``) is refused, naming
    both: when it is created for a ``dir`` without fields (exit status 2 before any work), else
    for each image read from that folder.
    """

    card = MethodCard(
        "precomputed",
        "SR images produced elsewhere: precomputed:dir=DIR[,suffix=S][,label=NAME].",
        timed=False,
        uses_device=False,
    )

    def __init__(self, device: str = "cpu", *, dir: str, suffix: str = "") -> None:  # noqa: A002
        super().__init__(device)
        self.dir, self.suffix = dir, suffix
        self._folders: dict[Path, dict[str, Path]] = {}
        if "{" not in dir:
            self._images(Path(dir).expanduser())

    def _images(self, folder: Path) -> dict[str, Path]:
        """Stem -> file of ``folder``, listed once (raises if two images share a stem)."""
        if not self._folders.get(folder):  # a folder still empty is listed again next time
            self._folders[folder] = image_index(folder)
        return self._folders[folder]

    def upscale(self, lr: np.ndarray, scale: int) -> np.ndarray:
        """Not available: precomputed images are looked up by image id (see super_resolve)."""
        raise NotImplementedError("precomputed images are found by image id, not computed")

    def super_resolve(self, lr: np.ndarray, context: ImageContext, tiling: Tiling) -> np.ndarray:
        """Read the stored SR image of ``context``'s image."""
        fields = {
            "dataset": context.dataset,
            "scale": context.scale,
            "degradation": context.degradation,
        }
        folder = Path(self.dir.format(**fields)).expanduser()
        stem = context.image_id + self.suffix.format(**fields)
        path = self._images(folder).get(stem)
        if path is not None:
            return read_image(path)
        raise ImageReadError(
            f"no precomputed SR image {stem}.* in {folder}; check dir= and suffix= of the "
            "precomputed method (image ids are the HR file stems)."
        )
