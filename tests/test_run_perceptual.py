"""LPIPS, FID and KID inside ``srbench run``: rows, set values, caches, failures, and a metric
skipped (with one warning) when its backbone is missing."""

from __future__ import annotations

import functools
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage import data

from srbench.store import SET_IMAGE, load_results
from tests.conftest import run_cli
from tests.test_run import PLUGINS

pytest.importorskip("lpips")
pytest.importorskip("pytorch_fid")

FID = "fid:patch=32,count=3"
KID = "kid:patch=32,count=3,subsets=10,subset_size=6"


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no backbone in there


@pytest.fixture
def random_backbones(monkeypatch):
    """The same networks with random weights: the runner's code path without downloads."""
    import srbench.metrics.distribution as distribution
    import srbench.metrics.perceptual as perceptual

    monkeypatch.setattr(
        perceptual, "build_lpips", functools.partial(perceptual.build_lpips, random_backbone=True)
    )
    monkeypatch.setattr(
        distribution,
        "InceptionFeatures",
        functools.partial(distribution.InceptionFeatures, random_weights=True),
    )


@pytest.fixture
def folder(tmp_path):
    """Three real HR images: crops of scikit-image's astronaut and chelsea, and the camera."""
    out = tmp_path / "hr"
    out.mkdir()
    crops = {
        "astronaut": data.astronaut()[80:176, 160:256],
        "chelsea": data.chelsea()[40:136, 100:196],
        "camera": data.camera(),  # 512 px gray: the Raises plug-in fails on it at x4
    }
    for name, pixels in crops.items():
        Image.fromarray(pixels).save(out / f"{name}.png")
    return out


def _run(results, *args, expect=0):
    return run_cli("run", "--results", results, "--no-progress", *args, expect=expect)


@pytest.mark.slow
def test_lpips_fid_and_kid_are_stored_with_their_protocols(tmp_path, folder, random_backbones):
    metrics = f"psnr,lpips,{FID},{KID}"
    _run(tmp_path / "r", "-D", folder, "-m", "bicubic,nearest", "-s", "4", "--metrics", metrics)
    frame = load_results(tmp_path / "r")
    lpips = frame[frame["metric"] == "lpips"]
    assert len(lpips) == 6 and (lpips["protocol"] == "rgb-shave4").all()
    assert lpips["value"].between(0, 1).all() and lpips["error"].isna().all()
    means = lpips.groupby("method")["value"].mean()
    assert means["bicubic"] < means["nearest"]  # even a random AlexNet sees the blocks
    sets = frame[frame["image"] == SET_IMAGE].set_index(["method", "metric"])
    assert len(sets) == 4 and sets["error"].isna().all()
    assert (sets["samples"] == 9).all()  # 3 random patches x 3 images
    assert sets.loc[("bicubic", "fid"), "protocol"] == "rgb-shave4-patch32-count3"
    assert np.isnan(sets.loc[("bicubic", "fid"), "spread"])
    assert sets.loc[("nearest", "kid"), "spread"] > 0
    assert sets.loc[("nearest", "kid"), "protocol"].endswith("-subsets10x6")
    (run_dir,) = (tmp_path / "r" / "runs").iterdir()
    assert not (run_dir / "features").exists()  # SR features go once the set rows are stored
    # HR features are cached per dataset, scale, shave and patch protocol: a second run of
    # another method reuses them and gives the same bicubic values
    cached = sorted((tmp_path.parent).rglob("features/random/*/x4-shave4-patch32-count3-seed0/*"))
    assert [p.stem for p in cached] == ["astronaut", "camera", "chelsea"]
    _run(tmp_path / "s", "-D", folder, "-m", "bicubic", "-s", "4", "--metrics", metrics)
    again = load_results(tmp_path / "s")
    again = again[again["image"] == SET_IMAGE].set_index(["method", "metric"])["value"]
    pd.testing.assert_series_equal(again, sets["value"].loc[["bicubic"]], check_exact=False)
    # the leaderboard shows them: fid unreliable (9 samples < 2048), kid with its spread
    table = run_cli("leaderboard", "--results", tmp_path / "r", "--format", "md").stdout
    assert "‡" in table and "±" in table and "lpips" in table


@pytest.mark.slow
def test_a_method_failing_on_an_image_gets_an_error_instead_of_a_partial_fid(
    tmp_path, folder, random_backbones
):
    _run(
        tmp_path,
        "-D",
        folder,
        "-m",
        "bicubic,raises",
        "--method-file",
        f"{PLUGINS}:Raises",
        "-s",
        "4",
        "--metrics",
        f"psnr,{FID}",
        expect=1,
    )
    frame = load_results(tmp_path)
    sets = frame[frame["image"] == SET_IMAGE].set_index("method")
    assert np.isfinite(sets.at["bicubic", "value"]) and sets.at["bicubic", "samples"] == 9
    assert np.isnan(sets.at["raises", "value"])
    assert sets.at["raises", "error"] == (
        "fid needs every image of the set; 1 of 3 failed (camera)"
    )


def test_a_missing_backbone_skips_lpips_with_one_warning_and_keeps_psnr(tmp_path, folder):
    out = _run(tmp_path, "-D", folder, "-m", "bicubic", "--metrics", "psnr,lpips", expect=3)
    frame = load_results(tmp_path)
    assert set(frame["metric"]) == {"psnr", "runtime"} and frame["error"].isna().all()
    warnings = [line for line in out.stderr.splitlines() if "skipping metric" in line]
    assert len(warnings) == 1
    assert "alexnet-owt-7be5be79.pth" in out.stderr and str(tmp_path / "torch") in out.stderr
    assert "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth" in out.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert "alexnet-owt-7be5be79.pth" in manifest["metrics_skipped"]["lpips"]
    assert any("lpips" in note for note in manifest["skipped"])


def test_bad_set_metric_specs_are_usage_errors(tmp_path, folder):
    err = _run(tmp_path, "-D", folder, "--metrics", "fid:patch=0", expect=2).stderr
    assert "patch must be a positive integer" in err
    err = _run(tmp_path, "-D", folder, "--metrics", "psnr:shave=2", expect=2).stderr
    assert "psnr takes no parameters" in err
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


@pytest.mark.slow
def test_a_run_that_died_before_its_set_values_resumes_them(
    tmp_path, folder, random_backbones, monkeypatch
):
    from srbench.run import pipeline as runner

    config = runner.RunConfig(
        datasets=(str(folder),), methods=("bicubic",), metrics=("psnr", FID), scales=(4,)
    )
    finish = runner.set_rows

    def dies(*_):
        raise RuntimeError("killed before the set values")

    monkeypatch.setattr(runner, "set_rows", dies)
    with pytest.raises(RuntimeError, match="killed"):
        runner.run(config, tmp_path / "k", run_id="k", progress=False)
    kept = sorted((tmp_path / "k" / "runs" / "k" / "features").rglob("*.npy"))
    assert [p.name.split(".")[0] for p in kept] == ["astronaut", "camera", "chelsea"]
    monkeypatch.setattr(runner, "set_rows", finish)
    resumed = runner.resume("k", tmp_path / "k", progress=False).scores
    clean = runner.run(config, tmp_path / "c", run_id="c", progress=False).scores
    values = [f[f["image"] == SET_IMAGE][["metric", "value", "samples"]] for f in (resumed, clean)]
    pd.testing.assert_frame_equal(*(v.reset_index(drop=True) for v in values))
    assert not (tmp_path / "k" / "runs" / "k" / "features").exists()


@pytest.mark.slow
def test_a_run_batched_as_on_a_gpu_stores_the_values_of_an_unbatched_one(
    tmp_path, folder, random_backbones, monkeypatch
):
    """The accelerator path (LPIPS pairs and patch features batched across cells), taken on
    the CPU by faking the device decision: the same rows as the one-call path."""
    from srbench.metrics import batching

    metrics = f"psnr,lpips,{FID}"
    args = ("-D", folder, "-m", "bicubic,nearest", "-s", "4", "--metrics", metrics)
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)  # the same random AlexNet in both runs
    _run(tmp_path / "plain", *args)
    batches: list[int] = []
    execute = batching.Batcher._execute

    def spy(self, batch):
        batches.append(len(batch))
        return execute(self, batch)

    monkeypatch.setattr(batching, "batches_on", lambda device: True)
    monkeypatch.setattr(batching.Batcher, "_execute", spy)
    monkeypatch.setenv("SRBENCH_CACHE", str(tmp_path / "other-cache"))  # HR features again
    torch.manual_seed(0)
    _run(tmp_path / "batched", *args)
    # every LPIPS pair (6) and every image's features (3 HR, 6 SR) went through a batcher
    assert sum(batches) == 6 + 9
    cols = ["image", "method", "metric"]
    plain, batched = (
        frame[frame["metric"] != "runtime"].set_index(cols).sort_index()["value"]
        for frame in (load_results(tmp_path / name) for name in ("plain", "batched"))
    )
    assert plain.index.equals(batched.index) and len(plain) == 2 * 3 * 2 + 2
    # float32 networks: batching may only change which kernels sum each value (see
    # tests/test_batching.py); FID of 9 samples is a difference of such sums, hence 1e-4
    pd.testing.assert_series_equal(batched, plain, check_exact=False, rtol=1e-4)
