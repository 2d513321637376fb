"""Peak memory of one ``srbench`` command, run in a fresh interpreter (tests and benchmarks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

_PEAK = """
import resource, sys
from srbench.cli import main
sys.argv = ["srbench", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
# VmHWM: the peak of this program; ru_maxrss would also count the forking parent's pages
try:
    status = open("/proc/self/status").read().split("VmHWM:")[1]
    print("PEAK_KB", int(status.split()[0]))
except (OSError, IndexError):
    print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_kb(*args: object, results: Path, timeout: float = 600) -> int:
    """Run ``srbench ARGS --results RESULTS`` in a fresh interpreter and return its peak
    resident set size in kB (``VmHWM``, as ``/usr/bin/time -v`` reports it).

    Raises:
        AssertionError: The command exited with a non-zero status (its stderr is the message).
    """
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, *map(str, args), "--results", str(results)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split("PEAK_KB")[-1])
