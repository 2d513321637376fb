"""The command line end to end: the sample quick start, formats, and every documented error."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from srbench.catalog.sample import SAMPLE_IMAGES
from srbench.imageio import read_image, write_png
from tests.conftest import run_cli


@pytest.fixture
def folders(tmp_path, rng):
    """HR images a (24x30, RGB) and b (25x27, gray) and exact SR images named a_x4, b_x4."""
    hr_dir, sr_dir = tmp_path / "hr", tmp_path / "sr"
    a = rng.integers(0, 256, (24, 30, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (25, 27), dtype=np.uint8)
    write_png(hr_dir / "a.png", a)
    write_png(hr_dir / "b.png", b)
    write_png(sr_dir / "a_x4.png", a[:24, :28])
    write_png(sr_dir / "b_x4.png", b[:24, :24])
    return sr_dir, hr_dir


@pytest.mark.slow
def test_quick_start_on_the_builtin_sample(tmp_path):
    run_cli("sample", "--out", tmp_path / "hr")
    assert sorted(p.stem for p in (tmp_path / "hr").iterdir()) == sorted(SAMPLE_IMAGES)
    assert read_image(tmp_path / "hr" / "camera.png").ndim == 2
    run_cli("degrade", "--hr", tmp_path / "hr", "-s", 4, "-d", "BD", "--out", tmp_path / "lr")
    manifest = json.loads((tmp_path / "lr" / "srbench.json").read_text())
    assert (
        manifest["degradation"] == "blur:ksize=12,sigma=1.6"
        and manifest["degradation_version"] == "1"
    )
    assert read_image(tmp_path / "lr" / "chelsea.png").shape == (300 // 4, 451 // 4, 3)
    for method in ("nearest", "bilinear", "bicubic", "lanczos"):
        run_cli(
            "upscale", "--lr", tmp_path / "lr", "-s", 4, "-m", method, "--out", tmp_path / method
        )
    out = run_cli("eval", "--sr", tmp_path / "bicubic", "--hr", tmp_path / "hr", "-s", 4).stdout
    assert "x4, protocol y-shave4, 5 images" in out
    mean = float(out.splitlines()[-1].split()[1])
    assert 20 < mean < 40


def test_eval_strips_suffix_and_prints_table_csv(folders):
    sr_dir, hr_dir = folders
    table = run_cli("eval", "--sr", sr_dir, "--hr", hr_dir, "-s", 4, "--strip-suffix", "_x4").stdout
    assert "inf" in table and table.splitlines()[-1].startswith("mean")
    csv = run_cli(
        "eval", "--sr", sr_dir, "--hr", hr_dir, "-s", 4, "--strip-suffix", "_x4", "-f", "csv"
    )
    frame = pd.read_csv(pd.io.common.StringIO(csv.stdout))
    assert list(frame.columns) == ["image", "psnr", "ssim", "scale", "protocol"]
    assert frame.image.tolist() == ["a", "b"] and (frame.ssim == 1).all()


def test_unpaired_files_exit_2_and_suggest_the_suffix(folders):
    sr_dir, hr_dir = folders
    err = run_cli("eval", "--sr", sr_dir, "--hr", hr_dir, "-s", 4, expect=2).stderr
    assert "do not pair up by name" in err
    assert "with no HR image: a_x4.png, b_x4.png" in err
    assert "with no SR image: a, b" in err
    assert "--strip-suffix '_x4'" in err


def test_missing_sr_image_is_unpaired(folders):
    sr_dir, hr_dir = folders
    (sr_dir / "b_x4.png").unlink()
    err = run_cli(
        "eval", "--sr", sr_dir, "--hr", hr_dir, "-s", 4, "--strip-suffix", "_x4", expect=2
    ).stderr
    assert "with no SR image: b" in err


def test_wrong_size_exits_2_after_scoring_the_others(folders):
    sr_dir, hr_dir = folders
    write_png(sr_dir / "b_x4.png", np.zeros((25, 27), np.uint8))  # not modcropped
    result = run_cli(
        "eval", "--sr", sr_dir, "--hr", hr_dir, "-s", 4, "--strip-suffix", "_x4", expect=2
    )
    assert "SR is 27x25 but HR modcropped to x4 is 24x24" in result.stderr
    assert "1 of 2 image(s) could not be scored" in result.stderr
    assert "mean (1 of 2)" in result.stdout and "\na " in result.stdout


def test_lr_passed_as_sr_is_recognised(folders, tmp_path):
    _, hr_dir = folders
    run_cli("degrade", "--hr", hr_dir, "-s", 2, "--out", tmp_path / "lr")
    err = run_cli("eval", "--sr", tmp_path / "lr", "--hr", hr_dir, "-s", 2, expect=2).stderr
    assert "was the LR folder passed as SR?" in err


def test_corrupt_hr_is_reported_and_the_rest_is_written(folders, tmp_path):
    _, hr_dir = folders
    (hr_dir / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = run_cli("degrade", "--hr", hr_dir, "-s", 2, "--out", tmp_path / "lr", expect=2)
    assert "c.png: cannot decode the image" in result.stderr
    assert sorted(p.name for p in (tmp_path / "lr").glob("*.png")) == ["a.png", "b.png"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["degrade", "-d", "bicubik"], "Unknown degradation 'bicubik'. Did you mean 'bicubic'?"),
        (["degrade", "-d", "blur:sigma=x"], "sigma='x' is not a valid float"),
        (["upscale", "-m", "bicubc"], "Unknown method 'bicubc'. Did you mean 'bicubic'?"),
        (["eval", "-p", "ycbcr"], "Unknown protocol 'ycbcr'"),
        (["eval", "--metrics", "psnr,lpipz"], "Unknown metric 'lpipz'. Did you mean 'lpips'"),
        (["eval", "--shave", "-1"], "--shave must be >= 0"),
    ],
)
def test_unknown_names_exit_2_with_message(folders, tmp_path, args, message):
    sr_dir, hr_dir = folders
    paths = {
        "degrade": ["--hr", hr_dir, "--out", tmp_path / "o"],
        "upscale": ["--lr", hr_dir, "--out", tmp_path / "o"],
        "eval": ["--sr", sr_dir, "--hr", hr_dir, "--strip-suffix", "_x4"],
    }[args[0]]
    err = run_cli(*args, *paths, "-s", 4, expect=2).stderr
    assert message in err


def test_output_folder_must_not_be_the_input(folders):
    _, hr_dir = folders
    before = (hr_dir / "a.png").read_bytes()
    err = run_cli("degrade", "--hr", hr_dir, "-s", 2, "--out", hr_dir, expect=2).stderr
    assert "is the input folder" in err
    assert (hr_dir / "a.png").read_bytes() == before


def test_scale_must_be_positive(folders, tmp_path):
    _, hr_dir = folders
    assert run_cli("degrade", "--hr", hr_dir, "-s", 0, "--out", tmp_path, expect=2).exit_code == 2


def test_version_and_listings():
    assert run_cli("--version").stdout.startswith("srbench ")
    assert "noise" in run_cli("ls", "degradations").stdout
    assert "higher is better, image-level" in run_cli("ls", "metrics").stdout
    assert "lanczos" in run_cli("ls", "methods").stdout
    assert "choose one of" in run_cli("ls", "things", expect=2).stderr


def test_listings_of_datasets_protocols_and_an_empty_store(tmp_path):
    datasets = run_cli("ls", "datasets").stdout.splitlines()
    assert datasets[0].split() == ["id", "split", "images", "state", "licence"]
    assert re.match(r"sample +test +5 +builtin", datasets[-2])
    assert datasets[-1].startswith("cache: ") and "SRBENCH_CACHE" in datasets[-1]
    assert run_cli("ls", "protocols").stdout.splitlines() == [
        "y    channels=y, shave=scale",
        "rgb  channels=rgb, shave=scale",
    ]
    empty = run_cli("ls", "runs", "--results", tmp_path).stdout
    assert empty.strip() == f"no runs in {tmp_path / 'runs'}"


def test_eval_json_lists_scores_and_failures(folders):
    sr_dir, hr_dir = folders
    write_png(sr_dir / "b_x4.png", np.zeros((25, 27), np.uint8))  # not modcropped: fails
    args = ["eval", "--sr", sr_dir, "--hr", hr_dir, "-s", 4, "--strip-suffix", "_x4", "-f", "json"]
    out = json.loads(run_cli(*args, expect=2).stdout)
    assert (out["n_images"], out["n_scored"], out["protocol"]) == (2, 1, "y-shave4")
    assert out["mean"] == {"psnr": None, "ssim": 1.0}  # inf is written as null
    assert out["images"] == [{"image": "a", "psnr": None, "ssim": 1.0}]
    assert out["failures"][0]["image"] == "b"


def test_eval_result_renders_only_its_formats():
    from srbench.run import EvalResult

    result = EvalResult(pd.DataFrame({"image": ["a"], "psnr": [30.0]}), 2, "y-shave2", 1)
    assert result.render("csv").splitlines() == ["image,psnr,scale,protocol", "a,30.0,2,y-shave2"]
    table = result.render().splitlines()
    assert table[0] == "x2, protocol y-shave2, 1 images"
    assert [line.split() for line in table[-2:]] == [["a", "30.0000"], ["mean", "30.0000"]]
    with pytest.raises(ValueError, match="choose one of table, csv, json"):
        result.render("html")


@pytest.mark.parametrize(
    ("value", "scales"), [("4", (4,)), ("2, 4,2", (2, 4)), ("all", (2, 3, 4)), ("3,ALL", (3, 2, 4))]
)
def test_scale_lists(value, scales):
    from srbench.cli.base import parse_scales

    assert parse_scales(value) == scales


def test_a_scale_that_is_not_an_integer_exits_2(tmp_path):
    err = run_cli("run", "-D", "sample", "-s", "2,x4", "--results", tmp_path, expect=2).stderr
    assert "--scale '2,x4': 'x4' is not an integer (use e.g. 2,3,4 or all)." in err
    assert not (tmp_path / "runs").exists()


def test_the_allocator_keeps_freed_memory_where_glibc_allows():
    import platform
    import sys

    from srbench.system.memory import keep_freed_memory

    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert keep_freed_memory() is glibc
