"""SR methods known to srbench.

For now the weight-free interpolators (``srbench/methods/interpolators.py``); the plug-in
interface for trained methods arrives with ``srbench run``.
"""

from srbench.methods.interpolators import METHODS, Interpolator

__all__ = ["METHODS", "Interpolator"]
