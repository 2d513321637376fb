"""Reading and writing images, and the colour rules of the evaluation protocol.

The image contract: an image is a ``uint8`` array, ``(H, W)`` for a gray image (kept gray, because
the protocol scores gray images on their gray values) or ``(H, W, 3)`` for an RGB image.

Conversion rules applied by :func:`read_image`:

* 8-bit gray (``L``) stays gray; 1-bit (``1``) becomes gray 0/255.
* Palette (``P``) images are expanded through their palette to RGB (or to gray when the palette is
  gray); a palette with transparency is refused.
* RGBA / LA images are accepted only when every alpha value is 255 (the alpha channel is then
  dropped); any transparent pixel is refused, because compositing would invent pixel values.
* 16-bit, 32-bit integer, float and CMYK images are refused: scaling them to 8 bits is a choice
  the user must make (and record), not one srbench makes silently.
* EXIF orientation is ignored, as MATLAB's ``imread`` does.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from srbench.color import luma
from srbench.errors import ImageReadError, SizeMismatchError, UnsupportedImageError
from srbench.system.files import atomic_path

__all__ = [
    "IMAGE_SUFFIXES",
    "image_index",
    "list_images",
    "modcrop",
    "quantize",
    "read_image",
    "rgb2gray",
    "rgb2y",
    "to_rgb",
    "write_png",
]

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")
_FIX = (
    "Convert it to an 8-bit RGB or gray PNG first "
    "(for example with ImageMagick: `magick in.png -depth 8 -alpha off out.png`)."
)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as ``uint8``: ``(H, W)`` if gray, ``(H, W, 3)`` if colour.

    Raises:
        ImageReadError: The file is missing, not an image, corrupt or truncated.
        UnsupportedImageError: The image has transparency, more than 8 bits per sample, or a
            colour mode srbench does not convert (see the module docstring for the rules).
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            _refuse_high_bit_depth(im, path)
            im.load()
            return _to_uint8_array(im, path)
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file.") from None
    except Image.DecompressionBombError as exc:  # not an OSError: it would escape as a crash
        raise UnsupportedImageError(
            f"{path}: refused as a possible decompression bomb ({exc}). Downscale or crop it."
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(
            f"{path}: cannot decode the image ({exc}). The file is corrupt, truncated or not an "
            "image; re-download or re-export it."
        ) from None


def _refuse_high_bit_depth(im: Image.Image, path: Path) -> None:
    # Pillow opens 16-bit-per-channel RGB(A) PNGs as 8-bit "RGB", silently dropping the low byte,
    # so the bit depth is read from the PNG header itself.
    if im.format == "PNG":
        with open(path, "rb") as fh:
            header = fh.read(26)
        if header[:8] == _PNG_SIGNATURE and header[24] == 16:
            raise UnsupportedImageError(f"{path}: 16-bit PNG images are not supported. {_FIX}")
    if im.mode.startswith("I") or im.mode == "F":
        raise UnsupportedImageError(
            f"{path}: image mode {im.mode!r} (more than 8 bits per sample) is not supported. {_FIX}"
        )


def _to_uint8_array(im: Image.Image, path: Path) -> np.ndarray:
    if im.mode == "P":
        if "transparency" in im.info:
            raise UnsupportedImageError(f"{path}: palette image with transparency. {_FIX}")
        im = im.convert("RGB")
        arr = np.asarray(im)
        return arr[..., 0].copy() if _is_gray(arr) else arr
    if im.mode in ("RGBA", "LA", "PA"):
        alpha = np.asarray(im.getchannel("A"))
        if alpha.min() < 255:
            raise UnsupportedImageError(
                f"{path}: image has transparent pixels (alpha < 255 in {int((alpha < 255).sum())} "
                f"pixels); srbench will not guess a background. {_FIX}"
            )
        im = im.convert("L" if im.mode == "LA" else "RGB")
    elif im.mode == "1":
        im = im.convert("L")
    elif im.mode != "L" and im.mode != "RGB":
        raise UnsupportedImageError(f"{path}: image mode {im.mode!r} is not supported. {_FIX}")
    return np.array(im, dtype=np.uint8)


def _is_gray(rgb: np.ndarray) -> bool:
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def write_png(path: str | os.PathLike[str], img: np.ndarray) -> None:
    """Write a ``uint8`` image as PNG atomically (a crash never leaves a partial file)."""
    if img.dtype != np.uint8:
        raise TypeError(f"write_png expects uint8, got {img.dtype}; quantize() it first.")
    with atomic_path(path) as tmp:
        Image.fromarray(img).save(tmp, format="PNG")


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files directly inside ``folder`` (by suffix, any case), sorted by name.

    An image's id is its file stem, so one folder may not hold two images of one stem
    (``img.png`` and ``img.bmp``, or ``img.png`` and ``img.PNG``): a command would otherwise
    read one and drop, or overwrite, the other. Every command lists folders through this
    function (or :func:`image_index`), so the rule holds for all of them.

    Raises:
        ImageReadError: The folder does not exist, holds no image files, or holds two images
            with one stem (each such group is named).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageReadError(f"{folder}: not a folder. Pass a folder of images.")
    files = _image_files(folder)
    if not files:
        raise ImageReadError(f"{folder}: no images found (looked for {', '.join(IMAGE_SUFFIXES)}).")
    return files


def image_index(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """Stem -> image file of ``folder``; empty when the folder is missing or holds no image.

    Raises:
        ImageReadError: Two images of ``folder`` share a stem (see :func:`list_images`).
    """
    folder = Path(folder)
    return {p.stem: p for p in _image_files(folder)} if folder.is_dir() else {}


def _image_files(folder: Path) -> list[Path]:
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    by_stem: dict[str, list[str]] = {}
    for path in files:
        by_stem.setdefault(path.stem, []).append(path.name)
    twins = [names for names in by_stem.values() if len(names) > 1]
    if twins:
        groups = "; ".join(", ".join(names) for names in twins[:10])
        more = f" (and {len(twins) - 10} more)" if len(twins) > 10 else ""
        raise ImageReadError(
            f"{folder}: {groups}{more} share a file stem. An image is named by its stem (its "
            "outputs are <stem>.png, it pairs with <stem>.* of another folder), so each stem "
            "must be one file. Fix: remove or rename one of each."
        )
    return files


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop from the top-left so height and width are multiples of ``scale`` (MATLAB ``modcrop``).

    Raises:
        SizeMismatchError: A side is shorter than ``scale``: nothing would be left.

    Example:
        >>> modcrop(np.zeros((7, 10, 3), np.uint8), 3).shape
        (6, 9, 3)
    """
    h, w = img.shape[:2]
    if h < scale or w < scale:
        smaller = f", or use a scale of at most {min(h, w)} for it" if min(h, w) >= 2 else ""
        raise SizeMismatchError(
            f"a {w}x{h} image is smaller than the scale x{scale}: cropping it to multiples of "
            f"{scale} leaves nothing. Fix: remove it from the folder{smaller} (images need at "
            f"least {scale} px a side at x{scale})."
        )
    return img[: h - h % scale, : w - w % scale]


def quantize(values: np.ndarray) -> np.ndarray:
    """MATLAB's cast of real values to ``uint8``: round half away from zero, then saturate."""
    return np.clip(np.floor(np.asarray(values, dtype=np.float64) + 0.5), 0, 255).astype(np.uint8)


def to_rgb(img: np.ndarray) -> np.ndarray:
    """Replicate a gray ``(H, W)`` image to three channels; RGB passes through."""
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img


def rgb2y(img: np.ndarray) -> np.ndarray:
    """Y of MATLAB's ``rgb2ycbcr(im2double(img))``, scaled to 0..255, as unrounded ``float32``
    (:func:`srbench.color.luma` cast to ``float32``, as the y protocol scores it).

    Example:
        >>> float(rgb2y(np.full((1, 1, 3), 255, np.uint8))[0, 0])
        235.0
    """
    return luma(img).astype(np.float32)


# MATLAB rgb2gray: the luma row of inv(YIQ matrix), to full double precision.
_GRAY_WEIGHTS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])


def rgb2gray(img: np.ndarray) -> np.ndarray:
    """MATLAB's ``rgb2gray`` of a ``uint8`` RGB image (weighted sum, then rounded to ``uint8``).

    An RGB image whose three channels are equal maps to that channel exactly.
    """
    return quantize(img.astype(np.float64) @ _GRAY_WEIGHTS)
