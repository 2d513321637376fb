"""Start-up of the command line: ``--version``, ``--help`` and ``ls`` import no heavy library.

Each command runs in a fresh interpreter (``sys.modules`` of this one is full of everything),
in-process there, and reports the heavy modules it loaded. Wall times are not asserted: they
depend on the machine; ``python -X importtime -m srbench ...`` shows where time goes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

#: Runs ``srbench ARGS`` in-process, then prints the heavy modules loaded and the exit status.
PROBE = """
import json, sys
from srbench.cli import main
sys.argv = ["srbench", *sys.argv[1:]]
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
heavy = sorted(
    m for m in sys.modules
    if m.split(".")[0] in {"torch", "matplotlib"} or m.startswith("scipy.stats")
)
print("PROBE " + json.dumps({"code": code, "heavy": heavy}))
"""


def probe(*args: str) -> dict[str, object]:
    """Exit status and heavy modules of ``srbench ARGS`` in a fresh interpreter."""
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
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
    assert probe(*args) == {"code": 0, "heavy": []}


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
