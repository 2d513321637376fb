"""The CI files call srbench with options it has (they run only on CI, so drift shows here)."""

from __future__ import annotations

import shlex

import pytest
import typer.main
import yaml

from srbench.cli import app
from tests.conftest import REPO

COMMANDS = typer.main.get_command(app).commands  # type: ignore[attr-defined]


def _invocations(text: str) -> list[list[str]]:
    """``srbench ...`` command lines in a script or a workflow step (continuations joined)."""
    joined = text.replace("\\\n", " ")
    calls = []
    for line in joined.splitlines():
        words = shlex.split(line.replace('"$srbench"', "srbench"), comments=True)
        for i, word in enumerate(words):
            if word.endswith("srbench") and i + 1 < len(words) and words[i + 1] in COMMANDS:
                calls.append(words[i + 1 :])
    return calls


def _workflow_runs() -> str:
    workflow = yaml.safe_load((REPO / ".github/workflows/srbench-regression.yml").read_text())
    steps = workflow["jobs"]["regression"]["steps"]
    return "\n".join(s["run"] for s in steps if "run" in s)


@pytest.mark.parametrize("source", ["workflow", ".ci/regression"])
def test_ci_calls_use_existing_options(source):
    text = _workflow_runs() if source == "workflow" else (REPO / source).read_text()
    calls = _invocations(text)
    assert {c[0] for c in calls} >= {"run", "check"}
    for name, *args in calls:
        known = {o for p in COMMANDS[name].params for o in (*p.opts, *p.secondary_opts)}
        used = {a.split("=")[0] for a in args if a.startswith("-")}
        assert used <= known, (name, used - known)
