"""The method plug-in interface: tiling, specs, user files, entry points, devices."""

from __future__ import annotations

import logging
import textwrap

import numpy as np
import pytest

from srbench.errors import MethodOutputError, SpecError, SrbenchError, UnknownNameError
from srbench.imageio import quantize
from srbench.methods import (
    METHODS,
    ImageContext,
    MethodCard,
    SRMethod,
    Tiling,
    create_method,
    load_method_file,
    tiled_upscale,
)
from srbench.methods import load_entry_points as _load_entry_points
from srbench.methods.precomputed import Precomputed
from srbench.registry import Registry
from srbench.resize import imresize
from srbench.system.device import resolve_device


@pytest.mark.parametrize(("tile", "batch"), [(24, 1), (24, 5), (40, 3), (500, 2)])
def test_tiled_bicubic_equals_whole_image(rng, tile, batch):
    """Bicubic at x3 reads LR pixels up to 1.5 px from an output's centre (its two nearest on
    each side); a tile counts only beyond 3/8 of an overlap of 4 (1.5 px) from a cut, so tiling
    is exact, after the runner's quantisation of the float blend."""
    lr = rng.integers(0, 256, (61, 77, 3), dtype=np.uint8)
    calls: list[int] = []

    def batch_fn(tiles: np.ndarray) -> np.ndarray:
        calls.append(len(tiles))
        return np.stack([imresize(t, 3, method="bicubic") for t in tiles])

    out = tiled_upscale(batch_fn, lr, 3, Tiling(tile, 4, batch))
    whole = imresize(lr, 3, method="bicubic")
    np.testing.assert_allclose(out, whole, atol=1e-4, rtol=0)  # float32 blend of equal values
    np.testing.assert_array_equal(quantize(out), whole)
    assert max(calls) <= batch


def test_tiling_rejects_overlap_too_large_and_wrong_tile_shapes(rng):
    lr = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="must exceed twice the overlap"):
        tiled_upscale(lambda t: t, lr, 2, Tiling(16, 8))
    with pytest.raises(MethodOutputError, match=r"expected \(1, 40, 40, 3\)"):
        tiled_upscale(lambda t: t, lr, 2, Tiling(20, 4, 1))


def test_create_method_specs():
    label, method = create_method("lanczos3")
    assert label == "lanczos" and method.card.params == 0
    label, method = create_method("precomputed:dir=out/X{scale},suffix=_x{scale},label=RCAN")
    assert label == "RCAN" and isinstance(method, Precomputed)
    assert create_method("precomputed:dir=a")[0] == "precomputed:dir=a"
    with pytest.raises(SpecError, match="needs dir="):
        create_method("precomputed")
    with pytest.raises(SpecError, match=r"has no option folder \(options: dir, suffix, label\)"):
        create_method("precomputed:folder=x")
    with pytest.raises(UnknownNameError, match="Did you mean 'bicubic'"):
        create_method("bicubc")


def test_precomputed_finds_images_by_id_and_template(tmp_path, rng):
    from srbench.imageio import write_png

    img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    write_png(tmp_path / "X2" / "baby_x2.png", img)
    _, method = create_method(f"precomputed:dir={tmp_path}/X{{scale}},suffix=_x{{scale}}")
    ctx = ImageContext("Set5", "baby", 2, "bicubic")
    np.testing.assert_array_equal(method.super_resolve(img[:4, :4], ctx, Tiling()), img)
    with pytest.raises(SrbenchError, match="no precomputed SR image bird_x2"):
        method.super_resolve(img, ImageContext("Set5", "bird", 2, "bicubic"), Tiling())


def _write_plugin(path, name="twice", body="return np.repeat(np.repeat(lr, scale, 0), scale, 1)"):
    path.write_text(
        textwrap.dedent(
            f"""
            import numpy as np
            from srbench.methods import MethodCard, SRMethod

            class Twice(SRMethod):
                card = MethodCard("{name}", "pixel replication", scales=(2, 4), params=0)

                def __init__(self, device="cpu", *, gain: float = 1.0):
                    super().__init__(device)
                    self.gain = gain

                def upscale(self, lr, scale):
                    {body}

            class NotAMethod:
                pass
            """
        )
    )
    return path


def test_method_file_plugin(tmp_path):
    path = _write_plugin(tmp_path / "mine.py")
    try:
        cls = load_method_file(f"{path}:Twice")
        assert METHODS.get("twice") is cls
        label, method = create_method("twice:gain=2")
        assert label == "twice:gain=2" and method.gain == 2.0
        assert load_method_file(f"{path}:Twice").card.name == "twice"  # reloading is fine
    finally:
        METHODS.remove("twice")
    for target, message in [
        (f"{path}", "expected path/to/file.py:ClassName"),
        (f"{tmp_path}/nope.py:X", "does not exist"),
        (f"{path}:Missing", "defines no 'Missing'"),
        (f"{path}:NotAMethod", "not a subclass of srbench.methods.SRMethod"),
    ]:
        with pytest.raises(SrbenchError, match=message):
            load_method_file(target)
    taken = _write_plugin(tmp_path / "taken.py", name="bicubic")
    with pytest.raises(SrbenchError, match="'bicubic' is taken"):
        load_method_file(f"{taken}:Twice")


def test_entry_point_plugins_load_and_broken_ones_warn(tmp_path, monkeypatch, caplog):
    _write_plugin(tmp_path / "srbench_fake_plugin.py", name="fakeep")
    dist = tmp_path / "srbench_fake_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: srbench-fake-plugin\nVersion: 0.1\n"
    )
    (dist / "entry_points.txt").write_text(
        "[srbench.methods]\nfakeep = srbench_fake_plugin:Twice\n"
        "broken = srbench_fake_plugin:NotAMethod\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry: Registry[type[SRMethod]] = Registry("method", discover=_load_entry_points)
    with caplog.at_level(logging.WARNING):
        assert registry.get("fakeep").card == MethodCard(
            "fakeep", "pixel replication", scales=(2, 4), params=0
        )
    assert "skipping method plug-in 'broken'" in caplog.text
    assert [n for n, _ in registry.items()] == ["fakeep"]


def test_device_selection():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in {"cpu", "cuda"}
    with pytest.raises(SrbenchError, match="expected auto, cpu, cuda"):
        resolve_device("tpu")
    if resolve_device("auto") == "cpu":
        with pytest.raises(SrbenchError, match="Use --device cpu or auto"):
            resolve_device("cuda")


class _Writes(SRMethod):
    card = MethodCard("writes", "writes into its input", uses_device=False)

    def upscale(self, lr, scale):
        lr[0, 0] = 255
        return np.repeat(np.repeat(lr, scale, 0), scale, 1)


class _Keeps(SRMethod):
    """Returns the same output buffer every time (and changes it on the next call)."""

    card = MethodCard("keeps", "reuses its output buffer", uses_device=False)
    buffer = np.zeros((8, 8, 3), np.uint8)

    def upscale(self, lr, scale):
        self.buffer[...] = lr[0, 0, 0]
        return self.buffer


@pytest.mark.parametrize("tile", [0, 8])
def test_infer_hands_each_call_a_private_read_only_input(rng, tile):
    from srbench.methods.inference import failure_message, infer

    lr = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
    before = lr.copy()
    with pytest.raises(ValueError, match="read-only") as caught:
        infer(_Writes(), lr, ImageContext("d", "i", 2, "bicubic"), Tiling(tile, 2, 2))
    np.testing.assert_array_equal(lr, before)
    assert lr.flags.writeable  # the caller's array is untouched, flags included
    assert "copy it first: lr = lr.copy()" in failure_message(caught.value)


def test_infer_outputs_are_srbench_s_own_arrays():
    from srbench.methods.inference import infer

    method, context = _Keeps(), ImageContext("d", "i", 2, "bicubic")
    first, _ = infer(method, np.full((4, 4, 3), 7, np.uint8), context, Tiling())
    infer(method, np.full((4, 4, 3), 9, np.uint8), context, Tiling())
    assert (first == 7).all()  # the method's next call did not change the first output


def test_check_output_warns_on_a_unit_range_float_output_and_keeps_its_value():
    from srbench.methods.inference import check_output

    lr, notes = np.zeros((2, 2, 3), np.uint8), []
    unit = np.full((4, 4, 3), 0.8, np.float32)
    np.testing.assert_array_equal(check_output(unit, lr, 2, notes.append), quantize(unit))
    assert len(notes) == 1 and "looks like a [0, 1] image (float32, maximum 0.8)" in notes[0]
    for fine in (unit * 255, np.ones((4, 4, 3), np.int64), np.ones((4, 4, 3), np.uint8)):
        check_output(fine, lr, 2, notes.append)
    assert len(notes) == 1


def test_failure_messages_say_what_a_method_did():
    from srbench.methods.inference import failure_message

    assert failure_message(SystemExit(7)).startswith("the method called sys.exit(7)")
    assert failure_message(RuntimeError("kaboom")) == "RuntimeError: kaboom"
    assert failure_message(MethodOutputError("bad shape")) == "bad shape"


def test_create_method_records_the_spec_of_each_instance():
    label, method = create_method("precomputed:dir=a,label=X")
    assert label == "X" and method.created_from == "precomputed:dir=a,label=X"


def _conv_net(layers: int):
    """``layers`` 3x3 convolutions (receptive field ``layers`` px each side), random weights."""
    import torch

    torch.manual_seed(0)
    convs = [torch.nn.Conv2d(3 if i == 0 else 8, 8, 3, padding=1) for i in range(layers - 1)]
    net = torch.nn.Sequential(*convs, torch.nn.Conv2d(8, 3, 3, padding=1)).double()

    def batch_fn(tiles: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.array(tiles, np.float64)).permute(0, 3, 1, 2)
        with torch.no_grad():
            y = torch.nn.functional.interpolate(net(x / 255), scale_factor=2, mode="nearest")
        return (y * 255).permute(0, 2, 3, 1).numpy()

    return batch_fn


@pytest.mark.parametrize("overlap", [0, 1, 5, 8])
def test_tiles_blend_a_per_pixel_method_exactly(rng, overlap):
    lr = rng.random((53, 70, 3)) * 255

    def gain(tiles: np.ndarray) -> np.ndarray:
        return np.repeat(np.repeat(tiles, 2, axis=1), 2, axis=2) * 0.75

    out = tiled_upscale(gain, lr, 2, Tiling(24, overlap, 3))
    np.testing.assert_allclose(out, gain(lr[None])[0], atol=1e-10, rtol=0)


def test_tiles_blend_a_conv_net_exactly_within_3_8_of_the_overlap_and_closely_beyond(rng):
    """Three 3x3 layers see 3 LR px: exact at the default overlap 8 (nothing is taken from a
    tile within 3 px of its cut). Six layers see 6 px: still within the overlap but beyond 3/8
    of it, so tiles differ from the whole image near cuts: measured mean 0.08 grey levels (max
    1.7, 4% of the values off by more than 0.5) where the output's spread is 14; the bound
    asserted is 0.05 of the spread, about 0.7."""
    lr = rng.integers(0, 256, (50, 61, 3), dtype=np.uint8)
    shallow, deep = _conv_net(3), _conv_net(6)
    tiles = Tiling(24, 8, 4)
    np.testing.assert_allclose(
        tiled_upscale(shallow, lr, 2, tiles), shallow(lr[None])[0], atol=1e-9, rtol=0
    )
    whole = deep(lr[None])[0]
    diff = np.abs(tiled_upscale(deep, lr, 2, tiles) - whole)
    assert diff.max() > 0 and diff.mean() < 0.05 * whole.std()
