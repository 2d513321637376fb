"""``python -m benchmarks.scaling`` on a folder of three small images (nothing real is timed)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from benchmarks import scaling
from srbench.imageio import list_images, write_png


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    for name, shape in {"a": (48, 40, 3), "b": (44, 52, 3), "gray": (48, 48)}.items():
        write_png(tmp_path / f"{name}.png", rng.integers(0, 256, shape, dtype=np.uint8))
    return tmp_path


def test_every_way_is_timed_on_the_serial_values(folder, capsys):
    assert scaling.main([str(folder), "--rounds", "1", "--workers", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("2 workers")
    assert [line.split()[0] for line in lines[1:]] == ["serial", "threads", "processes"]


def test_the_values_are_the_runs(folder):
    paths = list_images(folder)
    values = [scaling.image_work(p) for p in paths]
    assert [sorted(v) for v in values] == [["psnr", "ssim"]] * 3
    assert all(np.isfinite(v["psnr"]) and 0 < v["ssim"] < 1 for v in values)


class _Shifted(ThreadPoolExecutor):
    """A pool whose results are not the work's: what the check must catch."""

    def map(self, fn, *iterables, **kwargs):
        return ({k: v + 1 for k, v in r.items()} for r in super().map(fn, *iterables, **kwargs))


def test_a_way_with_other_values_is_refused(folder, monkeypatch, capsys):
    monkeypatch.setattr(scaling, "pools", lambda workers: {"serial": lambda: _Shifted(1)})
    assert scaling.main([str(folder), "--rounds", "1"]) == 1
    assert "other values" in capsys.readouterr().err


def test_a_missing_folder_is_named(tmp_path, capsys):
    assert scaling.main([str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
