"""The plug-in API as a new user meets it: a Y-channel network on the base class, per-scale
weights loaded once in ``prepare``, helper modules beside a ``--method-file``, ``ls methods`` of
a file, and the warning for a bicubic input computed on ``uint8``."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from srbench.catalog.sample import sample_images
from srbench.imageio import modcrop, quantize, read_image, write_png
from srbench.methods import YChannelMethod, create_method, load_method_file
from srbench.metrics import score_pair
from srbench.resize import imresize
from tests.conftest import run_cli

MODES = [
    pytest.param([], id="in-process"),
    pytest.param(["--isolate"], marks=pytest.mark.slow, id="isolated"),
]


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")


def _write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def _run(results: Path, *args: object, expect: int = 0):
    return run_cli(
        "run", "--results", results, "--no-progress", "-D", "sample", *args, expect=expect
    )


def _manifest(results: Path) -> dict:
    (run_dir,) = (results / "runs").iterdir()
    return json.loads((run_dir / "manifest.json").read_text())


# ---------------------------------------------------------------------------------------------
# A Y-channel network: the base class against the same network written out longhand


def _tiny_vdsr() -> torch.nn.Module:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, 1, 3, padding=1),
    ).double()
    with torch.no_grad():  # a small residual, as a trained VDSR predicts
        net[2].weight *= 0.05
        net[2].bias *= 0.05
    return net


def _residual(net: torch.nn.Module, y: np.ndarray) -> np.ndarray:
    """VDSR: the network predicts the residual of the interpolated luma."""
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(y))[None, None]
        return (x + net(x))[0, 0].numpy()


def _longhand(net: torch.nn.Module, lr: np.ndarray, scale: int) -> np.ndarray:
    """What a VDSR port's test script does, step by step, with MATLAB's BT.601 matrices."""
    rgb = lr.astype(np.float64) / 255
    t = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]])
    ycc = (rgb @ t.T + [16.0, 128.0, 128.0]) / 255  # MATLAB rgb2ycbcr(im2double(lr))
    up = imresize(ycc, scale)  # MATLAB imresize on the double image
    y = np.clip(_residual(net, up[..., 0]), 0, 1)
    ycc_sr = np.dstack([y, up[..., 1], up[..., 2]]) * 255
    rgb_sr = (ycc_sr - [16.0, 128.0, 128.0]) @ np.linalg.inv(t).T  # MATLAB ycbcr2rgb
    return np.clip(rgb_sr * 255, 0, 255)


class _TinyVDSR(YChannelMethod):
    from srbench.methods import MethodCard

    card = MethodCard("tinyvdsr", "a random 2-layer VDSR", uses_device=False)

    def __init__(self, device: str = "cpu") -> None:
        super().__init__(device)
        self.net = _tiny_vdsr()

    def upscale_y(self, y: np.ndarray, scale: int) -> np.ndarray:
        return _residual(self.net, y)


@pytest.mark.parametrize("scale", [2, 4])
def test_the_y_channel_base_equals_the_longhand_network(shared, scale):
    rcan = shared / "rcan_set5"
    lr = read_image(rcan / f"LR_bicubic/X{scale}/bird.png")
    hr = modcrop(read_image(rcan / f"HR/X{scale}/bird.png"), scale)
    ours = _TinyVDSR().upscale(lr, scale)
    longhand = _longhand(_tiny_vdsr(), lr, scale)
    assert ours.dtype == np.float64 and ours.shape == hr.shape
    np.testing.assert_allclose(ours, longhand, atol=1e-9, rtol=0)
    # scored as the runner scores it: rounded to uint8
    psnr = score_pair(quantize(ours), hr, scale, metrics=["psnr"])["psnr"]
    assert psnr == pytest.approx(
        score_pair(quantize(longhand), hr, scale, metrics=["psnr"])["psnr"], abs=1e-6
    )
    # the network did something: not the bicubic image
    assert abs(psnr - score_pair(imresize(lr, scale), hr, scale)["psnr"]) > 1e-3


def test_a_y_network_on_the_lr_luma_and_a_wrong_output_shape(rng):
    from srbench.errors import MethodOutputError
    from srbench.methods import MethodCard

    seen: list[tuple[int, ...]] = []

    class OnLR(YChannelMethod):
        card = MethodCard("onlr", "FSRCNN-like: the network upscales")
        interpolated_input = False

        def upscale_y(self, y, scale):
            seen.append(y.shape)
            return np.repeat(np.repeat(y, scale, 0), scale, 1)[: -1 if self.short else None]

    lr = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    method = OnLR()
    method.short = False
    assert method.upscale(lr, 3).shape == (18, 15, 3) and seen == [(6, 5)]
    method.short = True
    with pytest.raises(MethodOutputError, match="upscale_y returned shape"):
        method.upscale(lr, 3)


# ---------------------------------------------------------------------------------------------
# prepare: per-scale weights loaded once, before any image

PER_SCALE = """
    import os
    from pathlib import Path

    import numpy as np

    from srbench.methods import MethodCard, SRMethod


    class PerScale(SRMethod):
        card = MethodCard("perscale", "a gain per scale from weights=...x{scale}.npy")

        def __init__(self, device: str = "cpu", *, weights: str, log: str = "") -> None:
            super().__init__(device)
            self.weights, self.log, self.gains = weights, log, {}

        def prepare(self, scales):
            for scale in scales:
                self.gains[scale] = float(np.load(self.weights.format(scale=scale)))
                if self.log:
                    with open(self.log, "a") as f:
                        f.write(f"{os.getpid()} x{scale}\\n")

        def upscale(self, lr, scale):
            return np.repeat(np.repeat(lr, scale, 0), scale, 1) * self.gains[scale]
"""


def _per_scale(tmp_path: Path, scales: tuple[int, ...]) -> tuple[Path, str]:
    plugin = _write(tmp_path / "plugin" / "perscale.py", PER_SCALE)
    weights = tmp_path / "weights"
    weights.mkdir()
    for scale in scales:
        np.save(weights / f"x{scale}.npy", np.float64(0.5))
    return plugin, f"perscale:weights={weights}/x{{scale}}.npy,label=perscale"


@pytest.mark.parametrize("mode", MODES)
def test_prepare_loads_each_scale_once_per_process(tmp_path, mode):
    plugin, spec = _per_scale(tmp_path, (2, 4))
    log = tmp_path / "loads.txt"
    _run(tmp_path / "r", "-s", "2,4", "-m", f"{spec},log={log}", "--method-file",
         f"{plugin}:PerScale", *mode)  # fmt: skip
    loads = log.read_text().split("\n")[:-1]
    by_process: dict[str, list[str]] = {}
    for line in loads:
        pid, scale = line.split()
        by_process.setdefault(pid, []).append(scale)
    # the runner's instance; with --isolate also the worker's (one per method)
    assert len(by_process) == (2 if mode else 1)
    assert all(scales == ["x2", "x4"] for scales in by_process.values()), loads
    frame = json.loads(json.dumps(_manifest(tmp_path / "r")))
    assert frame["status"] == "complete"


@pytest.mark.parametrize("mode", MODES)
def test_a_missing_per_scale_file_stops_the_run_once_before_any_work(tmp_path, mode):
    plugin, spec = _per_scale(tmp_path, (2,))  # no x4 file
    result = _run(tmp_path / "r", "-s", "2,4", "-m", spec, "--method-file",
                  f"{plugin}:PerScale", *mode, expect=2)  # fmt: skip
    missing = str(tmp_path / "weights" / "x4.npy")
    assert result.stderr.count(missing) == 1, result.stderr
    assert "perscale" in result.stderr and "x2, x4" in result.stderr
    assert not list((tmp_path / "r").glob("runs/*/parts/*"))  # no image was processed


def test_upscale_prepares_the_method_before_reading_images(tmp_path):
    plugin, spec = _per_scale(tmp_path, (2,))
    lr_dir = tmp_path / "lr"
    for name, image in list(sample_images().items())[:2]:
        write_png(lr_dir / f"{name}.png", image[:24, :32])
    args = ["upscale", "--lr", lr_dir, "--out", tmp_path / "out", "--no-progress"]
    files = ["--method-file", f"{plugin}:PerScale"]
    result = run_cli(*args, "-s", "4", "-m", spec, *files, expect=2)
    assert str(tmp_path / "weights" / "x4.npy") in result.stderr
    assert not list((tmp_path / "out").glob("*.png"))
    run_cli(*args, "-s", "2", "-m", spec, *files)
    assert len(list((tmp_path / "out").glob("*.png"))) == 2


# ---------------------------------------------------------------------------------------------
# A plug-in file's folder is importable while it is imported; nothing leaks

PLUGIN_WITH_HELPER = """
    import numpy as np

    from srbench.methods import MethodCard, SRMethod
    from mynet import GAIN


    class {cls}(SRMethod):
        card = MethodCard("{name}", "imports its helper module mynet.py")

        def upscale(self, lr, scale):
            return np.repeat(np.repeat(lr, scale, 0), scale, 1) * GAIN
"""


def _two_plugin_folders(tmp_path: Path) -> list[str]:
    files = []
    for folder, cls, gain in (("one", "One", 0.5), ("two", "Two", 0.25)):
        _write(tmp_path / folder / "mynet.py", f"GAIN = {gain}\n")
        plugin = _write(
            tmp_path / folder / "plugin.py",
            PLUGIN_WITH_HELPER.format(cls=cls, name=cls.lower()),
        )
        files += ["--method-file", f"{plugin}:{cls}"]
    return files


def test_a_plugin_imports_its_helper_and_nothing_leaks(tmp_path):
    path = list(sys.path)
    files = _two_plugin_folders(tmp_path)
    one, two = load_method_file(files[1]), load_method_file(files[3])
    assert sys.path == path and "mynet" not in sys.modules
    lr = np.full((4, 4, 3), 200, np.uint8)
    # each folder's own mynet.py, though both have the same name
    assert create_method("one")[1].upscale(lr, 2).max() == 100
    assert create_method("two")[1].upscale(lr, 2).max() == 50
    assert one is not two


@pytest.mark.parametrize("mode", MODES)
def test_a_run_with_plugins_importing_helpers(tmp_path, mode):
    _run(tmp_path / "r", "-s", "2", "-m", "one,two", *_two_plugin_folders(tmp_path), *mode)
    manifest = _manifest(tmp_path / "r")
    assert manifest["status"] == "complete" and manifest["failures"] == 0


def test_ls_methods_lists_a_method_file(tmp_path):
    def names(*args: object) -> set[str]:
        return {line.split()[0] for line in run_cli("ls", "methods", *args).stdout.splitlines()}

    files = _two_plugin_folders(tmp_path)
    assert "one" not in names()
    assert {"one", "two", "bicubic"} <= names(*files)
    run_cli("ls", "datasets", *files[:2], expect=2)


# ---------------------------------------------------------------------------------------------
# A bicubic input computed on uint8 is reported

UINT8_BICUBIC = """
    from srbench.methods import MethodCard, SRMethod
    from srbench.resize import imresize


    class Uint8Bicubic(SRMethod):
        card = MethodCard("uint8bicubic", "a network input made with imresize on uint8")

        def upscale(self, lr, scale):
            return imresize(lr, scale)
"""


@pytest.mark.parametrize("mode", MODES)
def test_a_method_upscaling_uint8_with_imresize_is_warned_about(tmp_path, mode):
    plugin = _write(tmp_path / "u8.py", UINT8_BICUBIC)
    _run(tmp_path / "r", "-s", "2", "-m", "uint8bicubic,bicubic", "--method-file",
         f"{plugin}:Uint8Bicubic", *mode)  # fmt: skip
    warnings = _manifest(tmp_path / "r")["warnings"]
    assert list(warnings) == ["uint8bicubic"]  # the bicubic baseline rounds on purpose
    assert "bicubic_upscale" in warnings["uint8bicubic"]


# ---------------------------------------------------------------------------------------------
# methods/README.md's VDSR example, as written there

README = Path(__file__).resolve().parents[1] / "methods" / "README.md"


def _readme_files(folder: Path) -> dict[str, Path]:
    """The ``python`` blocks of methods/README.md whose first line is ``# myvdsr/FILE...``."""
    blocks = README.read_text().split("```python\n")[1:]
    files = {}
    for block in blocks:
        source = block.split("```")[0]
        first = source.splitlines()[0]
        if first.startswith("# myvdsr/"):
            name = first[len("# myvdsr/") :].split(":")[0].split()[0]
            files[name] = _write(folder / name, source)
    return files


def test_the_readme_vdsr_example_runs(tmp_path):
    files = _readme_files(tmp_path / "myvdsr")
    assert set(files) == {"vdsr_net.py", "plugin.py"}
    vdsr = load_method_file(f"{files['plugin.py']}:VDSR")
    net_class = vdsr.prepare.__globals__["VDSRNet"]
    torch.manual_seed(0)
    torch.save(net_class(depth=3).state_dict(), tmp_path / "vdsr_x2.pth")
    lr_dir = tmp_path / "lr"
    for name, image in list(sample_images().items())[:2]:
        write_png(lr_dir / f"{name}.png", image[:24, :32])
    spec = f"vdsr:weights={tmp_path}/vdsr_x{{scale}}.pth,depth=3"
    args = ["upscale", "--lr", lr_dir, "--out", tmp_path / "out", "--no-progress", "-m", spec]
    files_arg = ["--method-file", f"{files['plugin.py']}:VDSR"]
    run_cli(*args, "-s", "4", *files_arg, expect=2)  # no x4 weights: stops before any image
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.png"))
    with pytest.raises(RuntimeError, match="Unexpected key"):  # a 3-layer file for depth 2
        create_method(spec.replace("depth=3", "depth=2"))[1].prepare((2,))
    run_cli(*args, "-s", "2", *files_arg)
    outputs = sorted((tmp_path / "out").glob("*.png"))
    assert len(outputs) == 2 and read_image(outputs[0]).shape == (48, 64, 3)
