"""Start-up of the command line: ``--version``, ``--help``, ``ls`` and ``run`` (until its first
image is read) import no heavy library.

Each command runs in a fresh interpreter (``sys.modules`` of this one is full of everything),
in-process there, and reports the heavy modules it loaded: for ``run``, those loaded when the
first image file is opened (a wrapper around ``PIL.Image.open`` takes the snapshot). Wall times
are not asserted: they depend on the machine; ``python -X importtime -m srbench ...`` shows
where time goes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO

#: Libraries that cost 0.05-2 s to import; none is needed before the first image is read.
HEAVY = (
    "torch",
    "pandas",
    "pyarrow",
    "requests",
    "pooch",
    "ray",
    "spandrel",
    "scipy",
    "skimage",
    "matplotlib",
    "cv2",
)

#: Runs ``srbench ARGS`` in-process, then prints the heavy modules loaded (for ``run``: when
#: the first image was opened) and the exit status.
PROBE = """
import json, sys
import PIL.Image

HEAVY = set(sys.argv[1].split(","))
seen = {}

def heavy():
    return sorted(m for m in list(sys.modules) if m.split(".")[0] in HEAVY)

open_image = PIL.Image.open

def probe_open(*args, **kwargs):
    seen.setdefault("first image", heavy())
    return open_image(*args, **kwargs)

PIL.Image.open = probe_open
from srbench.cli import main
sys.argv = ["srbench", *sys.argv[2:]]
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
print("PROBE " + json.dumps({
    "code": code, "heavy": seen.get("first image", heavy()), "opened": "first image" in seen
}))
"""


def probe(*args: str) -> dict[str, object]:
    """Exit status and heavy modules of ``srbench ARGS`` in a fresh interpreter."""
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(HEAVY), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path, "COLUMNS": "100"},
        check=False,
        timeout=120,
    )
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert last.startswith("PROBE "), (done.stdout, done.stderr)
    return json.loads(last.removeprefix("PROBE "))


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["--help"],
        ["ls", "datasets"],
        ["ls", "methods"],
        ["ls", "metrics"],
        ["ls", "degradations"],
        ["ls", "protocols"],
        ["ls", "runs"],
        ["run", "--help"],
        ["leaderboard", "--help"],
        ["check", "--help"],
    ],
    ids=" ".join,
)
def test_cheap_commands_import_no_heavy_library(args, tmp_path):
    if args[0] == "ls":
        args = [*args, "--results", str(tmp_path)]
    assert probe(*args) == {"code": 0, "heavy": [], "opened": False}


def test_a_run_reads_its_first_image_before_any_heavy_library(tmp_path):
    """``srbench run`` with the interpolators (their outputs scored, stored and summarised):
    the grid is checked, the run folder made and the first image opened before pandas,
    pyarrow, scipy, torch or the download stack is imported; they load beside the work."""
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        pixels = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{name}.png")
    results = tmp_path / "results"
    methods = "bicubic,bilinear,lanczos,nearest"
    args = ["run", "-D", str(folder), "-m", methods, "-s", "2", "--results", str(results)]
    result = probe(*args, "--no-progress")
    assert result == {"code": 0, "heavy": [], "opened": True}
    assert len(list(results.glob("runs/*/scores.parquet"))) == 1  # the run completed


@pytest.mark.slow
def test_the_probe_sees_heavy_imports(tmp_path):
    """The probe is not vacuous: ``plot`` draws with matplotlib, and the probe reports it."""
    result = probe("plot", "bars", "--out", str(tmp_path / "p.png"), "--results", str(tmp_path))
    assert result["code"] == 2  # the store is empty
    assert any(m.split(".")[0] == "matplotlib" for m in result["heavy"])


def test_help_constants_equal_the_library_ones():
    from srbench.cli.images import OutputFormat
    from srbench.cli.results import PAIRED_TESTS
    from srbench.leaderboard.stats import TESTS
    from srbench.run import EvalResult

    assert PAIRED_TESTS == TESTS
    assert tuple(f.value for f in OutputFormat) == EvalResult.FORMATS
