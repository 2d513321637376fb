"""``srbench ls metrics`` and ``srbench ls protocols``: the registered metrics and protocols."""

from __future__ import annotations

from srbench.metrics import METRICS, PROTOCOLS

__all__ = ["metric_lines", "protocol_lines"]


def metric_lines() -> list[str]:
    """One line per registered metric: name, version, direction, level and description.

    Example:
        >>> next(line for line in metric_lines() if line.startswith("psnr ")).split(",")[0]
        'psnr     v1  higher is better'
    """
    return [
        f"{n:8} v{m.version}  {'higher' if m.higher_is_better else 'lower'} is better, "
        f"{m.level}-level  {m.description}"
        for n, m in METRICS.items()
    ]


def protocol_lines() -> list[str]:
    """One line per evaluation protocol: its name and the channels it scores.

    Example:
        >>> protocol_lines()
        ['y    channels=y, shave=scale', 'rgb  channels=rgb, shave=scale']
    """
    return [f"{n:4} channels={p.channels}, shave=scale" for n, p in PROTOCOLS.items()]
