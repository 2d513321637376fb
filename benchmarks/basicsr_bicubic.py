"""A folder x4 bicubic end to end the BasicSR way: the reference of ``benchmarks.speed``'s B100 row.

Run as ``python -m benchmarks.basicsr_bicubic FOLDER`` (a fresh interpreter, as ``srbench run``
is): for each PNG, ``cv2.imread`` (BGR), crop to a multiple of 4, BasicSR's MATLAB-style
``imresize`` down by 1/4 and up by 4 (each result rounded to ``uint8``, as a saved LR image and
a saved SR image would be), then BasicSR's ``calculate_psnr`` and ``calculate_ssim`` on Y with
``crop_border=4``. Prints ``{"image stem": [psnr, ssim], ...}`` as JSON on stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np

from benchmarks.fieldtools import basicsr_imresize, basicsr_psnr_ssim

SCALE = 4


def _to_uint8(img: np.ndarray) -> np.ndarray:
    """BasicSR's ``tensor2img`` rounding of a ``[0, 1]`` float image."""
    return (np.clip(img, 0, 1) * 255.0).round().astype(np.uint8)


def score_folder(folder: Path) -> dict[str, list[float]]:
    """PSNR and SSIM (Y, shave 4) of bicubic x4 for every PNG in ``folder``, by file stem."""
    imresize = basicsr_imresize()
    metrics = basicsr_psnr_ssim()
    if imresize is None or metrics is None:
        raise SystemExit("basicsr is not installed: pip install basicsr==1.4.2 --no-deps")
    psnr, ssim = metrics
    scores = {}
    for path in sorted(folder.glob("*.png")):
        hr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        h, w = hr.shape[:2]
        hr = hr[: h - h % SCALE, : w - w % SCALE]
        lr = _to_uint8(imresize(hr / 255.0, 1 / SCALE))
        sr = _to_uint8(imresize(lr / 255.0, SCALE))
        scores[path.stem] = [
            float(psnr(sr, hr, SCALE, test_y_channel=True)),
            float(ssim(sr, hr, SCALE, test_y_channel=True)),
        ]
    return scores


if __name__ == "__main__":
    print(json.dumps(score_folder(Path(sys.argv[1]))))
