"""The ``srbench`` command line."""

from srbench.cli.app import app, main

__all__ = ["app", "main"]
