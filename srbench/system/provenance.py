"""Where a run's numbers come from: library versions, the source commit, timestamps."""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from srbench import __version__

__all__ = ["PACKAGES", "git_state", "library_versions", "now"]


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


#: The distributions whose versions shape srbench's numbers (``None`` when not installed).
PACKAGES = (
    "numpy",
    "scipy",
    "pillow",
    "pandas",
    "torch",
    "torchvision",
    "lpips",
    "pytorch-fid",
    "piq",
)


def library_versions() -> dict[str, str | None]:
    """Versions of Python, srbench and the libraries that shape its numbers, read from the
    installed distributions' metadata (nothing is imported: reading torch's version this way
    takes microseconds, importing torch seconds).

    Example:
        >>> sorted(set(PACKAGES) - set(library_versions()))
        []
    """
    out: dict[str, str | None] = {"srbench": __version__, "python": platform.python_version()}
    for package in PACKAGES:
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = None
    out["platform"] = platform.platform()
    return out


def git_state() -> dict[str, Any] | None:
    """The commit of srbench's source checkout, if it is one (and whether it has local edits)."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(dirty)}
