"""Files whose authors publish no hash, pinned on first use.

Such a file (a :class:`~srbench.weights.files.WeightFile` declared with ``unhashed=``) cannot be
checked against its authors' hash, so srbench records the SHA-256 it had when it was first used
(or downloaded) and refuses a later file under that name with another hash: results labelled
with the file's name then always come from the same bytes. The record is
``$SRBENCH_CACHE/weights-first-use.json`` (name -> ``{"sha256", "file"}``).
"""

from __future__ import annotations

import json
from pathlib import Path

from srbench.system.files import write_json

__all__ = ["check", "first_use_record"]


def first_use_record() -> Path:
    """The JSON file of the SHA-256 each file without a published hash had on first use."""
    from srbench.hub import cache_root  # requests and pooch: not on every import

    return cache_root() / "weights-first-use.json"


def check(name: str, got: str, path: Path, pin: bool) -> tuple[bool | None, str]:
    """Weight file ``name`` (SHA-256 ``got``) against the hash it had on first use, recorded
    now when ``pin`` and there is none: ``(None, detail)`` when it matches or is new,
    ``(False, detail)`` naming both hashes when it changed."""
    record = first_use_record()
    try:
        seen = json.loads(record.read_text()) if record.is_file() else {}
    except (OSError, ValueError):
        seen = {}  # a damaged record is rewritten: it only ever pins, never vouches
    first = seen.get(name, {}).get("sha256")
    if first is None:
        if not pin:
            return None, "no published hash (not used yet)"
        write_json(record, {**seen, name: {"sha256": got, "file": str(path)}})
        return None, f"no published hash; sha256 {got[:8]} recorded on first use"
    if first == got:
        return None, f"no published hash; sha256 {got[:8]} as on first use"
    return False, (
        f"sha256 changed since first use: recorded {first}, got {got} (no hash is published; if "
        f"the new file is intended, remove {name!r} from {record})"
    )
