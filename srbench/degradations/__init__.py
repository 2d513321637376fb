"""Degradations: how a low-resolution input is made from an HR image.

A degradation is addressed by a *spec string*::

    name                      bicubic
    name:key=value,...        blur:sigma=1.6,ksize=7      noise:sigma=30

Names are case-insensitive and the protocol's short names are aliases (``BI`` = ``bicubic``,
``BD`` = ``blur``, ``DN`` = ``noise``). Unknown names or parameters, and values of the wrong
type, raise an error that lists what is accepted.

Every degradation has a ``version`` (bumped whenever its output changes) and a canonical spec
with every parameter resolved for the scale (``blur:ksize=7,sigma=1.6``); both are recorded with
every result. Random degradations draw from a generator seeded by a stable hash of
``(dataset, image id, scale, canonical spec, global seed)``, so an image's LR never depends on
run order or parallelism.

New degradations plug in with :func:`register`; see ``srbench/degradations/classic.py``.
"""

from srbench.degradations import classic as _classic  # noqa: F401  (registers BI, BD, DN)
from srbench.degradations.base import (
    DEGRADATIONS,
    Degradation,
    DegradationContext,
    ParsedSpec,
    parse_spec,
    register,
)

__all__ = [
    "DEGRADATIONS",
    "Degradation",
    "DegradationContext",
    "ParsedSpec",
    "parse_spec",
    "register",
]
