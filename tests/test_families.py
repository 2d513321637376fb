"""The trained families: one folder each, found by one registry, torch-free to list, complete."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import srbench.methods.families as families
from srbench.methods import METHODS
from srbench.methods.families.__main__ import main as write_counts
from srbench.methods.trained import TrainedMethod, architecture, architectures
from srbench.methods.zoo import ZooMethod
from srbench.training.config import config_path
from srbench.weights import WEIGHTS

from .conftest import run_cli

FAMILY_DIR = Path(families.__file__).parent


TRAINED_FAMILIES = ["autoencoder", "edsr", "esrgan", "srcnn", "srgan", "srugan", "srvae", "unet"]


def test_every_family_folder_has_its_parts():
    names = families.family_names()
    zoo = {
        n: c.__module__.rpartition(".")[2] for n, c in METHODS.items() if issubclass(c, ZooMethod)
    }
    assert {"rcan", "swinir"} <= set(zoo.values())  # public checkpoint families: __init__ only
    assert sorted(set(names) - set(zoo.values())) == TRAINED_FAMILIES
    for name in names:
        assert (FAMILY_DIR / name / "__init__.py").is_file()
    for name in TRAINED_FAMILIES:
        assert (FAMILY_DIR / name / "net.py").is_file()
        assert (FAMILY_DIR / name / "configs").is_dir()


def test_every_trained_method_is_an_ordinary_class_of_its_family():
    trained = {n: c for n, c in METHODS.items() if issubclass(c, TrainedMethod)}
    assert len(trained) == 15
    for name, cls in trained.items():
        family = cls.arch.family
        assert family.startswith("srbench.methods.families.")
        assert cls.__module__ == family  # declared with `class ...:` in the family's __init__
        assert cls.card.name == cls.arch.name == name
        assert cls.card.scales == cls.arch.scales and cls.card.paper == cls.arch.paper
        assert cls.arch.net.startswith(f"{family}.net:")
        for scale in cls.arch.scales:  # a shipped training config for every scale
            assert config_path(name, scale).is_relative_to(FAMILY_DIR / family.rpartition(".")[2])


def test_parameter_counts_are_counted_from_the_networks():
    # parameters.json is written by `python -m srbench.methods.families`; stale counts fail here
    assert write_counts(["--check"]) == 0, "run `python -m srbench.methods.families`"
    arch = architecture("edsr_baseline")
    assert arch.params == 1_517_571  # the EDSR paper's 1.5M, counted
    assert METHODS.get("mdsr").card.params == 7_953_987  # every scale's head and tail


def test_families_declare_their_authors_weights():
    declared = {name for name, _ in WEIGHTS.items()}
    for arch in architectures().values():
        assert set(arch.official.values()) <= declared


def test_listing_methods_and_weights_imports_no_torch():
    code = textwrap.dedent(
        """
        import sys
        from srbench.methods import METHODS
        from srbench.weights import WEIGHTS
        rows = [(n, c.card.params, c.weights_summary()) for n, c in METHODS.items()]
        names = [n for n, _ in WEIGHTS.items()]
        assert len(rows) > 13 and "edsr-x4" in names
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision")))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_a_new_family_is_one_folder(tmp_path, monkeypatch):
    folder = tmp_path / "tinyfam"
    (folder / "configs" / "tiny").mkdir(parents=True)
    (folder / "__init__.py").write_text(
        textwrap.dedent(
            """
            from srbench.methods.plugins import register_method
            from srbench.methods.trained import Architecture, TrainedMethod

            @register_method
            class Tiny(TrainedMethod):
                arch = Architecture(
                    name="tiny", net=f"{__name__}.net:Tiny", kwargs={"width": 4},
                    scales=(2,), summary="A tiny test family.", paper="none",
                )
            """
        )
    )
    (folder / "net.py").write_text(
        textwrap.dedent(
            """
            from torch import nn

            class Tiny(nn.Module):
                def __init__(self, scale, width=4):
                    super().__init__()
                    self.body = nn.Sequential(nn.Conv2d(3, width, 3, padding=1),
                                              nn.Conv2d(width, 3 * scale**2, 3, padding=1),
                                              nn.PixelShuffle(scale))

                def forward(self, x):
                    return self.body(x)
            """
        )
    )
    (folder / "configs" / "tiny" / "x2.yaml").write_text("method: tiny\nscale: 2\niters: 2\n")
    monkeypatch.setattr(families, "__path__", [*families.__path__, str(tmp_path)])
    families.load_families()
    try:
        assert "tinyfam" in families.family_names()
        assert METHODS.get("tiny").arch.config_dir == folder / "configs" / "tiny"
        assert config_path("tiny", 2) == folder / "configs" / "tiny" / "x2.yaml"
        listing = run_cli("ls", "methods").stdout
        assert any(line.startswith("tiny ") for line in listing.splitlines())
    finally:
        sys.modules.pop("srbench.methods.families.tinyfam", None)


@pytest.mark.parametrize("old", ["srbench.nets.edsr", "srbench.nets.rrdb"])
def test_the_old_network_paths_still_import_with_a_warning(old):
    with pytest.warns(DeprecationWarning, match="moved to srbench.methods"):
        module = __import__(old, fromlist=["_"])
    assert module.__name__.startswith("srbench.methods.families.")
