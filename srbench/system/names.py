"""Names that become file or folder names: run ids, training tags, method labels, dataset names.

One rule set, checked wherever such a name turns into a path (the run store, the weights store,
the folders of saved SR images and features), so no caller can write outside the folder it
meant. A name is one path component that stays where it is put:

* not empty, at most :data:`MAX_BYTES` bytes in UTF-8;
* no ``/`` or ``\\`` (so no absolute path and no sub-folder);
* no leading ``.`` (so not ``.``, ``..`` or a hidden file), no leading or trailing whitespace;
* no control characters (``\\n``, ``\\t``, NUL...) and nothing that cannot be encoded in a file
  name (lone surrogates).

:func:`check_name` raises :class:`UnsafeNameError` (exit status 2) naming the option and the
rule; :func:`child` joins a checked name to its root folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

from srbench.errors import SrbenchError

__all__ = ["MAX_BYTES", "UnsafeNameError", "check_name", "child", "slug"]

#: Longest name accepted, in UTF-8 bytes (file systems allow 255; temporary files add a few).
MAX_BYTES = 200


class UnsafeNameError(SrbenchError):
    """A name that becomes a file or folder name breaks a rule (see :mod:`srbench.system.names`)."""


def _problem(name: object, forbidden: str) -> str | None:
    if not isinstance(name, str):
        return f"must be text, got {type(name).__name__}"
    if not name:
        return "is empty"
    for char in name:
        category = unicodedata.category(char)
        if category == "Cc":
            return f"contains the control character {char!r}"
        if category == "Cs":
            return f"contains {char!r}, which cannot be written in a file name"
    if name.startswith(("/", "\\")):
        return "is an absolute path; give a plain name, not a path"
    if "/" in name or "\\" in name:
        return "contains a path separator ('/' or '\\'); give a plain name, not a path"
    if name in (".", ".."):
        return f"is {name!r}, a relative path"
    if name.startswith("."):
        return "starts with '.' (a hidden or relative path)"
    if name != name.strip():
        return "starts or ends with whitespace"
    bad = sorted({c for c in name if c in forbidden})
    if bad:
        return f"contains {' '.join(map(repr, bad))}, which cannot appear in it"
    if len(name.encode("utf-8")) > MAX_BYTES:
        return f"is longer than {MAX_BYTES} bytes"
    return None


def check_name(name: str, what: str, *, forbidden: str = "", hint: str = "") -> str:
    """``name`` if it is safe as one file or folder name, else raise.

    Args:
        name: The name to check.
        what: What it is, for the message (``"--run-id"``, ``"--tag"``, ``"label="``).
        forbidden: Characters this kind of name may not hold besides the common rules (a tag
            may not hold ``,`` or ``;``, which would split the method spec that names it).
        hint: Appended to the message (how to fix it).

    Raises:
        UnsafeNameError: The name, what it is, the rule it breaks and the rules.

    Example:
        >>> check_name("bicubic-x4", "--run-id")
        'bicubic-x4'
        >>> check_name("../x", "--run-id")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        srbench.system.names.UnsafeNameError: --run-id '../x' contains a path separator ...
    """
    problem = _problem(name, forbidden)
    if problem is None:
        return name
    shown = repr(name) if isinstance(name, str) else type(name).__name__
    rules = (
        "A name may not be empty, hold '/', '\\' or control characters, be '..' or start with "
        f"'.' or whitespace, or be longer than {MAX_BYTES} bytes."
    )
    raise UnsafeNameError(f"{what} {shown} {problem}. {rules}{' ' + hint if hint else ''}")


def child(root: str | os.PathLike[str], name: str, what: str, **options: str) -> Path:
    """``root / name`` for a name that passes :func:`check_name`: a direct child of ``root``."""
    return Path(root) / check_name(name, what, **options)


_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def slug(text: str, what: str) -> str:
    """``text`` as a portable file name: runs of characters other than letters, digits and
    ``._@-`` become ``_``; a slug longer than :data:`MAX_BYTES` is cut and ends with a hash of
    the whole text (so two long texts still get two names). A text whose slug would be ``.``,
    ``..`` or hidden is refused.

    Example:
        >>> slug("esrgan:alpha=0.5", "method label")
        'esrgan_alpha_0.5'
    """
    out = _UNSAFE.sub("_", text).strip("_") or "_"
    if len(out) > MAX_BYTES:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        out = f"{out[: MAX_BYTES - 17]}-{digest}"
    return check_name(out, f"{what} {text!r} (as a file name)")
