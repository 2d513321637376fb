"""The errors srbench raises for bad input.

Every error a user can cause is a :class:`SrbenchError`; the CLI prints its message (which says
what was wrong and how to fix it) and exits with status 2, in one place (``srbench.cli``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "MethodOutputError",
    "MethodTimeoutError",
    "RunError",
    "CheckpointError",
    "ChecksumError",
    "DownloadError",
    "ImageReadError",
    "LicenceError",
    "MissingWeightsError",
    "OfflineError",
    "PairingError",
    "SizeMismatchError",
    "SpecError",
    "SrbenchError",
    "UnknownNameError",
    "UnsafeArchiveError",
    "UnsupportedImageError",
    "VerificationError",
]


class SrbenchError(Exception):
    """Base class of every user-facing srbench error."""


class ImageReadError(SrbenchError):
    """A file could not be decoded as an image (missing, corrupt or truncated)."""


class UnsupportedImageError(SrbenchError):
    """An image decodes but its format is one srbench refuses (16-bit, transparency, CMYK...)."""


class PairingError(SrbenchError):
    """SR and HR folders do not pair up file by file."""


class SizeMismatchError(SrbenchError):
    """An SR image's size is not the HR size after modcrop."""


class SpecError(SrbenchError):
    """A spec string (such as a degradation spec) could not be parsed."""


class UnknownNameError(SrbenchError, KeyError):
    """A name (degradation, metric, protocol, method) is not registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = sorted(known)
        close = difflib.get_close_matches(name.lower(), known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        super().__init__(f"Unknown {kind} {name!r}.{hint} Known: {', '.join(known)}.")
        self.kind, self.name, self.known = kind, name, known

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0])


class DownloadError(SrbenchError):
    """A file could not be fetched from any of its URLs (network or HTTP failure after retries)."""


class ChecksumError(DownloadError):
    """A downloaded file's hash is not the published one."""


class OfflineError(DownloadError):
    """A file is needed but ``SRBENCH_OFFLINE`` forbids the network and no local copy exists."""


class UnsafeArchiveError(SrbenchError):
    """An archive member would be written outside the extraction folder."""


class VerificationError(SrbenchError):
    """A dataset folder's image count, sizes or pixel digests differ from the registry."""


class LicenceError(SrbenchError):
    """A dataset needs the user's explicit agreement to its licence before srbench fetches it."""


class MethodOutputError(SrbenchError):
    """A method returned an image of the wrong shape, or non-finite values."""


class MethodTimeoutError(SrbenchError):
    """A method took longer than ``--timeout`` seconds on one image."""


class RunError(SrbenchError):
    """A run cannot start or resume (bad grid, locked or missing run, conflicting options)."""


class MissingWeightsError(SrbenchError):
    """Pretrained weights a metric or method needs are not on this machine (and were not fetched).

    The message names the file, where it is published and the folder to put it in.
    """


class CheckpointError(SrbenchError):
    """A checkpoint or weights file cannot be used: unreadable, truncated, or made for another
    architecture. The message names the file, what it holds and what was expected."""
