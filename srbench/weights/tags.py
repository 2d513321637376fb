"""Weights as tags: where a trained method's weights are, by (method, tag, scale).

A tag names one set of weights of a method (timm's ``arch.tag``): ``paper`` is the authors'
release, declared in :mod:`srbench.weights` and kept in the torch hub cache; any other tag is a
model trained here, installed by ``srbench train`` into the weights store::

    $SRBENCH_WEIGHTS/<method>/<tag>/<method>-x<scales>-<sha8>.pt    the state dict
    $SRBENCH_WEIGHTS/<method>/<tag>/<method>-x<scales>-<sha8>.json  its model card

(``$SRBENCH_WEIGHTS`` defaults to ``$SRBENCH_CACHE/weights``). Nothing here imports torch, so
listings stay fast. A tag is a folder name: :func:`check_tag` applies the rules of
:mod:`srbench.system.names` (and refuses ``,`` and ``;``, which would split the method spec that
names it) wherever a tag becomes a path, so ``--tag ../../x`` cannot reach outside the store.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srbench.errors import MissingWeightsError, SrbenchError
from srbench.hub import cache_root
from srbench.system.files import atomic_path, write_json
from srbench.system.names import UnsafeNameError, check_name
from srbench.weights import files as weights

__all__ = [
    "CARD_FORMAT",
    "OFFICIAL_TAG",
    "ResolvedWeights",
    "check_tag",
    "install",
    "missing_message",
    "read_card",
    "released",
    "resolve",
    "store_root",
    "tags",
]

OFFICIAL_TAG = "paper"
CARD_FORMAT = "srbench-model-card/1"
STORE_ENV = "SRBENCH_WEIGHTS"


@dataclass(frozen=True)
class ResolvedWeights:
    """One weights file chosen for a method at a scale.

    Attributes:
        path: The state-dict file.
        tag: The tag it was found under (``"file"`` for an explicit path).
        scales: The scales the file serves.
        card: Its model card (``None`` for the authors' releases and bare files).
        official: The :mod:`srbench.weights` name for an authors' release.
    """

    path: Path
    tag: str
    scales: tuple[int, ...]
    card: Mapping[str, Any] | None = None
    official: str | None = None

    def record(self) -> dict[str, Any]:
        """What a run manifest records about the weights."""
        out: dict[str, Any] = {"tag": self.tag, "file": str(self.path), "scales": self.scales}
        if self.card:
            out["sha256"] = self.card.get("sha256")
            out["training"] = self.card.get("training", {}).get("summary")
        if self.official:
            out["official"] = self.official
        return out


def check_tag(tag: str, what: str = "--tag") -> str:
    """``tag`` if it can name a folder of the store and be written in a method spec, else raise
    :class:`~srbench.system.names.UnsafeNameError` (exit status 2) naming the rule."""
    return check_name(
        tag,
        what,
        forbidden=",;",
        hint="A tag names a folder of the weights store and is written METHOD:tag=TAG.",
    )


def _folder(method: str, tag: str) -> Path:
    return store_root() / check_name(method, "method name") / check_tag(tag, "tag")


def _is_tag(name: str) -> bool:
    try:
        check_tag(name)
    except UnsafeNameError:
        return False
    return True


def store_root() -> Path:
    """The weights store: ``$SRBENCH_WEIGHTS``, else ``$SRBENCH_CACHE/weights``."""
    env = os.environ.get(STORE_ENV)
    return Path(env).expanduser() if env else cache_root() / "weights"


def read_card(path: Path) -> dict[str, Any]:
    """A model card (``.json``), checked for its format."""
    try:
        card = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SrbenchError(f"model card {path} cannot be read: {exc}.") from exc
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise SrbenchError(f"{path} is not an srbench model card (format {CARD_FORMAT}).")
    return card


def _cards(method: str, tag: str) -> list[tuple[Path, dict[str, Any]]]:
    folder = _folder(method, tag)
    found = [(p, read_card(p)) for p in folder.glob("*.json")] if folder.is_dir() else []
    # the newest training of a tag wins when two serve the same scale
    return sorted(found, key=lambda pc: str(pc[1].get("created", "")), reverse=True)


def tags(method: str, official: Mapping[int, str] | None = None) -> dict[str, tuple[int, ...]]:
    """Every tag with weights on this machine, and the scales each serves."""
    out: dict[str, tuple[int, ...]] = {}
    present = [s for s, name in (official or {}).items() if weights.path_of(name).is_file()]
    if present:
        out[OFFICIAL_TAG] = tuple(sorted(present))
    root = store_root() / method
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if not folder.is_dir() or not _is_tag(folder.name):
            continue  # not a tag (a stray file, a hidden folder)
        scales = {s for _, card in _cards(method, folder.name) for s in card.get("scales", [])}
        if scales:
            out[folder.name] = tuple(sorted(scales))
    return out


def resolve(
    method: str, tag: str, scale: int, official: Mapping[int, str] | None = None
) -> ResolvedWeights:
    """The weights of ``method`` under ``tag`` for ``scale``; never downloads.

    Raises:
        MissingWeightsError: No such weights here; the message says how to get or train them.
    """
    if tag == OFFICIAL_TAG and official and scale in official:
        return released(tag, official, scale)
    for card_path, card in _cards(method, tag):
        if scale in card.get("scales", []):
            path = card_path.with_suffix(".pt")
            if not path.is_file():
                raise MissingWeightsError(
                    f"the model card {card_path} names weights {path.name}, which are missing. "
                    f"Fix: delete the card, or train again with `srbench train {method} ...`."
                )
            return ResolvedWeights(path, tag, tuple(card["scales"]), card)
    raise MissingWeightsError(missing_message(method, tag, scale, official))


def released(tag: str, files: Mapping[int, str], scale: int) -> ResolvedWeights:
    """The authors' file for ``scale`` among ``files`` (scale -> :mod:`srbench.weights` name),
    found in the torch hub cache and checked against its declared hash before anything loads it.

    Raises:
        MissingWeightsError: The file is absent; the message names ``srbench weights --fetch``.
        ChecksumError: The file there has another hash than the declared one.
    """
    name = files[scale]
    path = weights.locate(name)  # raises with the fetch command when absent
    scales = tuple(sorted(s for s, n in files.items() if n == name))
    return ResolvedWeights(path, tag, scales, official=name)


def missing_message(
    method: str, tag: str, scale: int | None, official: Mapping[int, str] | None
) -> str:
    """Why ``method`` has no weights tagged ``tag`` (at ``scale``, or at all), with the fixes."""
    have = tags(method, official)
    listing = ", ".join(f"{t} (x{','.join(map(str, s))})" for t, s in have.items()) or "none"
    at = f"x{scale}" if scale else "any scale"
    fixes = [f"train it: `srbench train {method} --scale {scale or 4} --data DATA --tag {tag}`"]
    names = sorted({n for s, n in (official or {}).items() if scale in (None, s)})
    if tag == OFFICIAL_TAG and names:
        fixes.insert(0, f"fetch the authors' weights: `srbench weights --fetch {' '.join(names)}`")
    return (
        f"{method} has no weights tagged {tag!r} for {at} on this machine "
        f"(tags here: {listing}; store: {store_root()}). Fix: " + ", or ".join(fixes) + "."
    )


def install(weights_file: Path, card: Mapping[str, Any], method: str, tag: str) -> Path:
    """Copy an exported weights file and its card into the store under ``tag``; returns the
    installed weights path (an earlier file of the same name is replaced).

    Raises:
        UnsafeNameError: ``tag`` (or ``method``) is not a plain folder name.
    """
    folder = _folder(method, tag)
    target = folder / weights_file.name
    with atomic_path(target) as tmp:
        shutil.copyfile(weights_file, tmp)
    write_json(target.with_suffix(".json"), {**card, "tag": tag})
    return target
