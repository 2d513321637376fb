"""Property-based tests: random specs, scales, images, files and settings through the library's
entry points. Each ends in a result or a clean :class:`SrbenchError` (the CLI's exit 2), never
another exception; results keep their contracts (shapes, dtypes, strips equal to whole images).

Example counts are kept small so that the file runs in seconds in the quick tier; the heavier
folder properties are marked ``slow``.
"""

from __future__ import annotations

import io
import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import typer
from hypothesis import assume, given
from hypothesis import strategies as st
from PIL import Image

import srbench.metrics.protocols as protocols
import srbench.resize as resize
from srbench.degradations import DegradationContext, parse_spec
from srbench.errors import SrbenchError
from srbench.imageio import modcrop, read_image, to_rgb
from srbench.methods import ImageContext, Tiling, create_method
from srbench.metrics import get_protocol, score_pair
from srbench.resize import KERNELS, imresize, output_shape
from tests.conftest import property_settings

QUICK = property_settings(25)

# --------------------------------------------------------------------------------------------
# Strategies

#: Numbers as a user might type them, good and bad.
raw_numbers = st.one_of(
    st.integers(-5, 2000).map(str),
    st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e-320", "1e308", "0", "-0", "+3", "0x10", "", "a"]),
)
keys = st.one_of(
    st.sampled_from(["sigma", "ksize", "label", "tag", "dir", "alpha"]), st.text(max_size=4)
)
names = st.one_of(
    st.sampled_from(["bicubic", "BI", "blur", "BD", "noise", "dn", "nearest", "lanczos"]),
    st.text(max_size=6),
)


@st.composite
def specs(draw: st.DrawFn, name_strategy: st.SearchStrategy[str] = names) -> str:
    """``name`` or ``name:key=value,...``, sometimes malformed."""
    name = draw(name_strategy)
    params = draw(st.lists(st.tuples(keys, raw_numbers), max_size=3))
    body = ",".join(f"{k}={v}" for k, v in params)
    glue = draw(st.sampled_from([":", ":", "", "::"]))
    return f"{name}{glue}{body}" if body or glue == "::" else name


@st.composite
def images(draw: st.DrawFn, max_side: int = 40, channels=(None, 3)) -> np.ndarray:
    """Random uint8 images of 1x1 up to ``max_side``, odd sizes included."""
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    c = draw(st.sampled_from(channels))
    seed = draw(st.integers(0, 2**32 - 1))
    shape = (h, w) if c is None else (h, w, c)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


MODES = ["L", "RGB", "RGBA", "RGBA-transparent", "LA", "P", "P-gray", "1", "I;16", "I", "F", "CMYK"]
FORMATS = {"PNG": ".png", "BMP": ".bmp", "TIFF": ".tif", "JPEG": ".jpg"}


def _pil_image(mode: str, img: np.ndarray) -> Image.Image:
    rgb = to_rgb(img[..., 0] if img.ndim == 3 else img)
    if mode in ("RGB", "L", "CMYK", "1"):
        return Image.fromarray(rgb).convert(mode)
    if mode == "RGBA":
        return Image.fromarray(rgb).convert("RGBA")
    if mode == "RGBA-transparent":
        rgba = np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)])
        return Image.fromarray(rgba, "RGBA")
    if mode == "LA":
        return Image.fromarray(rgb).convert("LA")
    if mode == "P":
        return Image.fromarray(rgb).convert("P")
    if mode == "P-gray":
        return Image.fromarray(rgb[..., 0]).convert("P")
    if mode == "I;16":
        return Image.fromarray(rgb[..., 0].astype(np.uint16) * 257)
    if mode == "I":
        return Image.fromarray(rgb[..., 0].astype(np.int32) * 1000)
    return Image.fromarray(rgb[..., 0].astype(np.float32) / 3)  # "F"


@st.composite
def image_files(draw: st.DrawFn) -> tuple[bytes, str]:
    """The bytes of an image file in some mode and format, and its suffix."""
    img = draw(images(max_side=24))
    mode, fmt = draw(st.sampled_from(MODES)), draw(st.sampled_from(list(FORMATS)))
    buffer = io.BytesIO()
    try:
        _pil_image(mode, img).save(buffer, format=fmt)
    except (OSError, ValueError, KeyError):
        assume(False)  # Pillow cannot write this mode in this format
    return buffer.getvalue(), FORMATS[fmt]


def _expect_clean(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, or ``None`` when it raised an SrbenchError (any other exception
    fails the property)."""
    try:
        return fn(*args, **kwargs)
    except SrbenchError as exc:
        error = exc
    assert str(error).strip(), "an error without a message"
    return None


# --------------------------------------------------------------------------------------------
# Specs


@QUICK
@given(spec=specs(), scale=st.integers(2, 8), img=images(max_side=24, channels=(3,)))
def test_degradation_specs_degrade_or_fail_cleanly(spec, scale, img):
    parsed = _expect_clean(parse_spec, spec)
    if parsed is None or _expect_clean(parsed.canonical, scale) is None:
        return
    assume(min(img.shape[:2]) >= scale)
    hr = modcrop(img, scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # noise:sigma=1e308 overflows float32
        lr = _expect_clean(parsed, hr, scale, DegradationContext("d", "i"))
    if lr is not None:
        assert lr.dtype == np.uint8 and lr.shape == (hr.shape[0] // scale, hr.shape[1] // scale, 3)


method_names = st.one_of(
    st.sampled_from(
        ["bicubic", "nearest", "bilinear", "lanczos", "srcnn", "edsr", "esrgan", "precomputed"]
    ),
    st.text(max_size=6),
)


@QUICK
@given(spec=specs(method_names), scale=st.integers(2, 4), img=images(max_side=12, channels=(3,)))
def test_method_specs_create_a_method_or_fail_cleanly(spec, scale, img):
    created = _expect_clean(create_method, spec)
    if created is None:
        return
    label, method = created
    assert label
    if method.card.name == "precomputed":  # reads files by image id; see the report
        return
    if method.card.supports(scale):
        sr = _expect_clean(method.super_resolve, img, ImageContext("d", "i", scale, "x"), Tiling())
        if sr is not None:
            assert sr.shape == (img.shape[0] * scale, img.shape[1] * scale, 3)


metric_names = st.one_of(
    st.sampled_from(["psnr", "ssim", "runtime", "brisque", "lpips", "fid", "kid", "PSNR"]),
    st.text(max_size=5),
)


@QUICK
@given(metric_specs=st.lists(specs(metric_names), min_size=1, max_size=3))
def test_metric_specs_parse_or_fail_cleanly(metric_specs):
    from srbench.run.plan import parse_metrics

    parsed = _expect_clean(parse_metrics, metric_specs)
    if parsed is not None:
        image, sets = parsed
        assert len(image) == len(set(image)) and "runtime" not in image


scale_items = st.one_of(
    st.integers(-3, 9).map(str), st.sampled_from(["all", "ALL", "x4", "", " ", "4.0", "2e1"])
)


@QUICK
@given(items=st.lists(scale_items, max_size=4))
def test_scale_lists_give_scales_of_at_least_2_or_exit_2(items):
    from srbench.cli.base import parse_scales
    from srbench.config import validate
    from srbench.run.config import RunConfig

    try:
        scales = parse_scales(",".join(items))
    except typer.Exit as exc:
        code = exc.exit_code
    else:
        code = 0
    if code:
        assert code == 2
        return
    assert scales and all(s >= 2 for s in scales) and len(set(scales)) == len(scales)
    assert validate(RunConfig, {"scales": scales}, "command line").scales == scales


# --------------------------------------------------------------------------------------------
# Images and files


@QUICK
@given(file=image_files(), cut=st.floats(0, 1))
def test_image_files_read_as_the_contract_says_or_fail_cleanly(file, cut):
    data, suffix = file
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"x{suffix}"
        path.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about corrupt TIFF tags
            whole = _expect_clean(read_image, path)
            path.write_bytes(data[: int(len(data) * cut)])
            truncated = _expect_clean(read_image, path)
    for img in (whole, truncated):
        if img is not None:
            assert img.dtype == np.uint8 and (img.ndim == 2 or img.shape[2:] == (3,))
    if truncated is not None:  # a truncated file is refused, or its pixels were all there
        assert whole is not None and np.array_equal(truncated, whole)


@QUICK
@given(
    img=images(max_side=30, channels=(None, 1, 3, 4)),
    dtype=st.sampled_from([np.uint8, np.float32, np.float64]),
    method=st.sampled_from(list(KERNELS)),
    target=st.one_of(
        st.floats(1 / 16, 8).map(lambda s: {"scale": s}),
        st.tuples(st.integers(1, 50), st.integers(1, 50)).map(lambda s: {"shape": s}),
    ),
    boundary=st.sampled_from(["clamp", "symmetric"]),
)
def test_imresize_has_matlab_sizes_and_strips_change_no_bit(img, dtype, method, target, boundary):
    img = img.astype(dtype)
    whole = _expect_clean(imresize, img, method=method, boundary=boundary, **target)
    if whole is None:
        return
    size = target.get("shape") or output_shape(img.shape[:2], target["scale"])
    assert whole.shape == (*size, *img.shape[2:]) and whole.dtype == img.dtype
    budget = resize.STRIP_BYTES
    try:
        resize.STRIP_BYTES = 1
        striped = imresize(img, method=method, boundary=boundary, **target)
    finally:
        resize.STRIP_BYTES = budget
    assert np.array_equal(striped, whole)


@st.composite
def pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    """An SR/HR pair: usually the sizes fit the scale, sometimes not."""
    scale = draw(st.integers(2, 4))
    hr = draw(images(max_side=64, channels=(None, 3, 4)))
    h, w = hr.shape[0] - hr.shape[0] % scale, hr.shape[1] - hr.shape[1] % scale
    if draw(st.booleans()):
        h, w = h + draw(st.integers(-2, 2)), w + draw(st.integers(-2, 2))
    channels = draw(st.sampled_from([None, 3, 3, 2]))
    seed = draw(st.integers(0, 2**32 - 1))
    shape = (max(h, 1), max(w, 1)) + (() if channels is None else (channels,))
    sr = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    return sr, hr, scale


@QUICK
@given(
    pair=pairs(),
    protocol=st.sampled_from(["y", "rgb"]),
    shave=st.one_of(st.none(), st.integers(-1, 6)),
    metrics=st.sampled_from([["psnr"], ["ssim"], ["psnr", "ssim"], ["brisque"]]),
)
def test_score_pair_scores_or_fails_cleanly_and_strips_agree(pair, protocol, shave, metrics):
    sr, hr, scale = pair
    chosen = _expect_clean(get_protocol, protocol, shave)
    if chosen is None:
        return
    scores = _expect_clean(score_pair, sr, hr, scale, chosen, metrics)
    if scores is None:
        return
    assert list(scores) == metrics
    if metrics == ["brisque"]:
        return
    whole = protocols.WHOLE_PIXELS, protocols.STRIP_BYTES
    try:
        protocols.WHOLE_PIXELS, protocols.STRIP_BYTES = 0, 1
        striped = score_pair(sr, hr, scale, chosen, metrics)
    finally:
        protocols.WHOLE_PIXELS, protocols.STRIP_BYTES = whole
    # Only the order of the final sums differs: PSNR within a few ulps; SSIM within a few ulps of
    # its terms (a mean near 0 is a sum of terms that cancel, so the bound is absolute).
    for name, value in scores.items():
        bound = 8 * np.spacing(abs(value)) if name == "psnr" else 1e-15
        assert value == striped[name] or abs(value - striped[name]) <= bound, name


# --------------------------------------------------------------------------------------------
# Settings


run_settings = st.fixed_dictionaries(
    {},
    optional={
        "scales": st.lists(st.one_of(st.integers(-2, 9), st.text(max_size=2)), max_size=3),
        "methods": st.lists(specs(method_names), min_size=1, max_size=2),
        "degradations": st.lists(specs(), min_size=1, max_size=2),
        "metrics": st.lists(specs(metric_names), min_size=1, max_size=2),
        "protocol": st.sampled_from(["y", "rgb", "Y", "ycbcr", ""]),
        "shave": st.one_of(st.none(), st.integers(-2, 8), st.text(max_size=2)),
        "tile": st.integers(-4, 64),
        "tile_overlap": st.integers(-4, 40),
        "batch_size": st.integers(-1, 8),
        "timeout": st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
        "workers": st.integers(-2, 8),
        "seed": st.one_of(st.integers(-5, 5), st.floats(allow_nan=True)),
        "device": st.sampled_from(["cpu", "auto", "gpu9"]),
    },
)


@QUICK
@given(data=run_settings)
def test_run_settings_validate_and_plan_or_fail_cleanly(data):
    from srbench.config import validate
    from srbench.run.config import RunConfig
    from srbench.run.plan import make_plan

    config = _expect_clean(validate, RunConfig, data, "command line")
    if config is None:
        return
    assert config.scales and min(config.scales) >= 2
    plan = _expect_clean(make_plan, config.model_copy(update={"datasets": ("sample",)}))
    if plan is not None:
        assert plan.methods and plan.config.workers >= 1
        for label, method in plan.methods.items():  # a named method serves some scale
            assert any(method.card.supports(s) for s in config.scales), label


# --------------------------------------------------------------------------------------------
# Folders (heavier: files on disk, several images each)

FOLDERS = property_settings(15)


def _write_folder(folder: Path, imgs: list[np.ndarray]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(imgs):
        paths.append(folder / f"im{i}.png")
        Image.fromarray(img).save(paths[-1])
    return paths


@pytest.mark.slow
@FOLDERS
@given(
    imgs=st.lists(images(max_side=20), min_size=1, max_size=3),
    scale=st.integers(1, 6),
    spec=specs(st.sampled_from(["bicubic", "blur", "noise", "BD"])),
)
def test_degrade_folder_writes_every_image_or_says_why(imgs, scale, spec):
    from srbench.run import degrade_folder

    with tempfile.TemporaryDirectory() as tmp:
        paths = _write_folder(Path(tmp) / "hr", imgs)
        result = _expect_clean(degrade_folder, Path(tmp) / "hr", Path(tmp) / "lr", scale, spec)
        if result is None:
            return
        assert len(result.written) + len(result.failures) == len(paths)
        for path, message in result.failures:
            assert min(read_image(path).shape[:2]) < scale and "smaller than the scale" in message
        for out in result.written:
            hr = read_image(Path(tmp) / "hr" / out.name)
            lr = read_image(out)
            assert lr.shape[:2] == (hr.shape[0] // scale, hr.shape[1] // scale)


@pytest.mark.slow
@FOLDERS
@given(
    pairs_=st.lists(pairs(), min_size=1, max_size=3),
    protocol=st.sampled_from(["y", "rgb"]),
)
def test_evaluate_folders_scores_every_pair_or_says_why(pairs_, protocol):
    from srbench.run import evaluate_folders

    scale = pairs_[0][2]
    srs = [p[0] if p[0].ndim == 2 or p[0].shape[2] == 3 else p[0][..., 0] for p in pairs_]
    hrs = [p[1] if p[1].ndim == 2 or p[1].shape[2] == 3 else p[1][..., :3] for p in pairs_]
    with tempfile.TemporaryDirectory() as tmp:
        _write_folder(Path(tmp) / "sr", srs)
        _write_folder(Path(tmp) / "hr", hrs)
        result = _expect_clean(
            evaluate_folders, Path(tmp) / "sr", Path(tmp) / "hr", scale, get_protocol(protocol)
        )
    if result is not None:
        assert len(result.scores) + len(result.failures) == len(pairs_) == result.n_images
        assert all(math.isnan(v) or v > 0 for v in result.scores["psnr"])
