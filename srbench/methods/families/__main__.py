"""``python -m srbench.methods.families``: count every family network's parameters (on torch's
meta device) and write them to ``parameters.json``, which method cards and ``srbench ls methods``
read without importing torch. ``--check`` only compares and exits 1 when the file is stale."""

from __future__ import annotations

import json
import sys
from importlib import resources

from srbench.methods.trained import PARAMETER_COUNTS, architectures, count_parameters


def main(argv: list[str]) -> int:
    """Write (or with ``--check``, verify) the parameter counts; returns the exit status."""
    counts = {name: count_parameters(arch) for name, arch in sorted(architectures().items())}
    text = json.dumps(counts, indent=2) + "\n"
    path = resources.files(__package__) / PARAMETER_COUNTS
    if "--check" in argv:
        current = path.read_text() if path.is_file() else ""
        if current != text:
            print(f"{path} is stale; run `python -m {__package__}`.", file=sys.stderr)
            return 1
        return 0
    with resources.as_file(path) as target:
        target.write_text(text)
    print(f"wrote {len(counts)} parameter counts to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
