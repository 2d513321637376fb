"""How many CPUs this process may use: what worker counts default to."""

from __future__ import annotations

import os

__all__ = ["available_cpus"]


def available_cpus() -> int:
    """The CPUs this process may run on: its affinity set where the OS has one (a container's
    CPU set or ``taskset`` limits it below the machine's count), else ``os.cpu_count()``; at
    least 1.

    Example:
        >>> available_cpus() >= 1
        True
    """
    count = os.cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        count = min(count, len(os.sched_getaffinity(0)) or count)
    return max(count, 1)
