"""Collection rules for the doctests in ``srbench/`` (pytest runs with --doctest-modules)."""

from __future__ import annotations

import importlib.util

# The networks and the training loop import torch at module level, the Ray executor ray; without
# those extras their doctests cannot be collected, and nothing else needs them.
collect_ignore = [] if importlib.util.find_spec("torch") else ["srbench/nets", "srbench/training"]
if not importlib.util.find_spec("ray"):
    collect_ignore.append("srbench/run/distributed.py")
