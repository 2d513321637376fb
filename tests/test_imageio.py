"""Image reading rules: what is converted, what is refused, and the messages."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srbench.errors import ImageReadError, UnsupportedImageError
from srbench.imageio import list_images, modcrop, quantize, read_image, rgb2gray, write_png


def _png_16bit_rgb(path: Path, h: int = 4, w: int = 5) -> None:
    """A 48-bit RGB PNG written by hand (Pillow cannot write one, and reads it as 8-bit)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = b"".join(b"\x00" + np.arange(w * 3, dtype=">u2").tobytes() * 1 for _ in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif"])
def test_lossless_formats_round_trip(tmp_path, rng, suffix):
    img = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / f"a{suffix}")
    assert np.array_equal(read_image(tmp_path / f"a{suffix}"), img)


def test_jpeg_is_read_as_uint8_rgb(tmp_path, rng):
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "a.jpg")
    img = read_image(tmp_path / "a.jpg")
    assert img.dtype == np.uint8 and img.shape == (16, 16, 3)


def test_gray_stays_gray(tmp_path, rng):
    gray = rng.integers(0, 256, (9, 7), dtype=np.uint8)
    write_png(tmp_path / "g.png", gray)
    assert np.array_equal(read_image(tmp_path / "g.png"), gray)


def test_palette_is_expanded_and_gray_palette_stays_gray(tmp_path, rng):
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(rgb).quantize(16).save(tmp_path / "p.png")
    expected = np.asarray(Image.open(tmp_path / "p.png").convert("RGB"))
    assert np.array_equal(read_image(tmp_path / "p.png"), expected)
    gray = rng.integers(0, 256, (8, 8), dtype=np.uint8)
    Image.fromarray(gray).convert("P").save(tmp_path / "gp.png")
    assert np.array_equal(read_image(tmp_path / "gp.png"), gray)


def test_opaque_rgba_drops_alpha(tmp_path, rng):
    rgba = rng.integers(0, 256, (6, 6, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    Image.fromarray(rgba).save(tmp_path / "a.png")
    assert np.array_equal(read_image(tmp_path / "a.png"), rgba[..., :3])


def test_transparent_rgba_is_refused(tmp_path, rng):
    rgba = rng.integers(0, 256, (6, 6, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[0, 0, 3] = 10
    Image.fromarray(rgba).save(tmp_path / "a.png")
    with pytest.raises(
        UnsupportedImageError, match=r"a.png: image has transparent pixels .* 1 pixels"
    ):
        read_image(tmp_path / "a.png")


def test_palette_with_transparency_is_refused(tmp_path, rng):
    Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).quantize(4).save(
        tmp_path / "p.png", transparency=0
    )
    with pytest.raises(UnsupportedImageError, match="palette image with transparency"):
        read_image(tmp_path / "p.png")


def test_16bit_gray_is_refused(tmp_path):
    Image.fromarray(np.full((4, 4), 40000, np.uint16)).save(tmp_path / "g16.png")
    with pytest.raises(
        UnsupportedImageError, match="16-bit PNG images are not supported.*-depth 8"
    ):
        read_image(tmp_path / "g16.png")


def test_16bit_rgb_is_refused_not_truncated(tmp_path):
    _png_16bit_rgb(tmp_path / "c48.png")
    assert Image.open(tmp_path / "c48.png").mode == "RGB"  # Pillow would silently truncate
    with pytest.raises(UnsupportedImageError, match="16-bit PNG"):
        read_image(tmp_path / "c48.png")


def test_16bit_tiff_is_refused(tmp_path):
    Image.fromarray(np.full((4, 4), 40000, np.uint16)).save(tmp_path / "g16.tif")
    with pytest.raises(UnsupportedImageError, match="more than 8 bits"):
        read_image(tmp_path / "g16.tif")


def test_cmyk_is_refused(tmp_path):
    Image.new("CMYK", (4, 4)).save(tmp_path / "c.jpg")
    with pytest.raises(UnsupportedImageError, match="mode 'CMYK' is not supported"):
        read_image(tmp_path / "c.jpg")


def test_truncated_png_names_file_and_fix(tmp_path, rng):
    write_png(tmp_path / "t.png", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    data = (tmp_path / "t.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=r"t.png: cannot decode .* corrupt, truncated"):
        read_image(tmp_path / "t.png")


def test_corrupt_file_names_file(tmp_path):
    (tmp_path / "x.png").write_bytes(b"this is not an image at all")
    with pytest.raises(ImageReadError, match="x.png: cannot decode"):
        read_image(tmp_path / "x.png")


def test_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "nope.png")


def test_write_png_is_atomic_and_leaves_no_temp_files(tmp_path, rng):
    img = rng.integers(0, 256, (5, 5, 3), dtype=np.uint8)
    write_png(tmp_path / "o" / "a.png", img)
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["a.png"]
    with pytest.raises(TypeError, match="quantize"):
        write_png(tmp_path / "o" / "b.png", img.astype(np.float32))
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["a.png"]


def test_list_images_errors(tmp_path):
    with pytest.raises(ImageReadError, match="not a folder"):
        list_images(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ImageReadError, match="no images found"):
        list_images(tmp_path)


def test_modcrop_quantize_and_gray():
    assert modcrop(np.zeros((10, 13)), 4).shape == (8, 12)
    assert quantize(np.array([-3.0, 0.5, 1.49, 2.5, 254.5, 300])).tolist() == [0, 1, 1, 3, 255, 255]
    rgb = np.dstack([np.arange(256, dtype=np.uint8)] * 3)
    assert np.array_equal(rgb2gray(rgb), rgb[..., 0])
