"""Collection rules for the doctests in ``srbench/`` (pytest runs with --doctest-modules)."""

from __future__ import annotations

import importlib.util

# The networks and the training loop import torch at module level; without the torch extra
# their doctests cannot be collected, and nothing else needs them.
collect_ignore = [] if importlib.util.find_spec("torch") else ["srbench/nets", "srbench/training"]
