"""Shared fixtures: the shared data folder (skipped when absent) and a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

from srbench.cli import app

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$SRBENCH_SHARED_DATA``, else ``../shared/data`` beside the repository."""
    return Path(os.environ.get("SRBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared data folder; tests using it skip with the reason when it is absent."""
    path = shared_data_dir()
    if not (path / "rcan_set5").is_dir():
        pytest.skip(f"shared data not found at {path} (set SRBENCH_SHARED_DATA to its path)")
    return path


def property_settings(examples: int, **overrides: object) -> settings:
    """Hypothesis settings for a property test: ``examples`` cases, times
    ``$SRBENCH_HYPOTHESIS_SCALE`` (default 1; e.g. 40 for a deep run before a release), no
    deadline (CI machines are noisy), no example database (nothing written into the checkout)."""
    scale = float(os.environ.get("SRBENCH_HYPOTHESIS_SCALE", "1"))
    return settings(
        max_examples=max(1, round(examples * scale)),
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
        **overrides,
    )


def training_images(folder: Path) -> Path:
    """A few real training images in ``folder``: four shared T91 images when the shared data is
    here, else two crops of the built-in sample images (so training tests run in a user's
    clone too)."""
    import shutil

    from srbench.catalog.sample import sample_images
    from srbench.imageio import write_png

    folder.mkdir(parents=True, exist_ok=True)
    t91 = shared_data_dir() / "train" / "T91"
    if t91.is_dir():
        for name in ("t1.png", "t2.png", "t3.png", "t5.png"):
            shutil.copy(t91 / name, folder / name)
    else:
        samples = sample_images()
        write_png(folder / "astronaut.png", samples["astronaut"][:128, :128])
        write_png(folder / "rocket.png", samples["rocket"][:128, :160])
    return folder


@pytest.fixture
def no_user_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user weights leak in: an empty torch hub and weights store."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("SRBENCH_WEIGHTS", str(tmp_path / "store"))


def run_cli(*args: object, expect: int = 0):  # noqa: ANN201
    """Run ``srbench ARGS`` in-process and check its exit status."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == expect, (result.exit_code, result.stdout, result.stderr)
    return result


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests never read or fill the user's dataset cache."""
    monkeypatch.setenv("SRBENCH_CACHE", str(tmp_path_factory.mktemp("srbench-cache")))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _method_registry():
    """Methods a test registers (``--method-file``, plug-ins) do not leak into later tests, as
    they would not leak from one srbench process into the next."""
    from srbench.methods import METHODS

    METHODS.items()  # entry points are discovered once, before the snapshot
    items, aliases = dict(METHODS._items), dict(METHODS._aliases)
    yield
    METHODS._items, METHODS._aliases = items, aliases
