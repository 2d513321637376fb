"""Public checkpoints as methods: families of released weights whose architecture spandrel
recognises (RCAN, SwinIR, HAT, DAT, Real-ESRGAN, ...), and ``model:weights=PATH`` for any file.

A family is data: the spandrel architecture its files must load as, and per tag the authors'
files (declared :class:`~srbench.weights.files.WeightFile` names, one per scale) with the paper's
values for them. The methods built from these declarations are below the declarations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from srbench.errors import (
    CheckpointError,
    MissingWeightsError,
    SpecError,
    SrbenchError,
    UnknownNameError,
)
from srbench.methods.base import MethodCard
from srbench.methods.networks import NetworkMethod, network_card
from srbench.methods.papers import PaperScore
from srbench.weights import tags as weightstore
from srbench.weights.files import WEIGHTS, hub_dir, locate, path_of

__all__ = ["ModelMethod", "Release", "ZooFamily", "ZooMethod", "present_tags"]


@dataclass(frozen=True)
class Release:
    """One tag of a family: the authors' file per scale (:mod:`srbench.weights` names), what the
    paper publishes for exactly these weights, and a note (training data, variant, why no table
    values: a real-world model has no bicubic-protocol table)."""

    files: Mapping[int, str]
    published: tuple[PaperScore, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ZooFamily:
    """A family of released checkpoints, listed as one method.

    Attributes:
        name: The method name (``swinir``).
        spandrel: The spandrel architecture id every file must load as (``SwinIR``).
        summary: One line for listings.
        paper: The citation (authors, title, venue, year).
        licence: The licence of the released weights (``Apache-2.0``, ...).
        releases: Tag -> :class:`Release`.
        default_tag: The authors' main release (a key of ``releases``).
    """

    name: str
    spandrel: str
    summary: str
    paper: str
    licence: str
    releases: Mapping[str, Release]
    default_tag: str

    def __post_init__(self) -> None:
        if self.default_tag not in self.releases:
            raise ValueError(f"{self.name}: default tag {self.default_tag!r} is not a release")

    @property
    def scales(self) -> tuple[int, ...]:
        """Every scale some release has."""
        return tuple(sorted({s for r in self.releases.values() for s in r.files}))


# --------------------------------------------------------------------------------------------
# The methods


#: ``half=`` values and the torch dtype each names.
_PRECISIONS = {
    "true": "float16",
    "yes": "float16",
    "1": "float16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
}


def _precision(name: str, half: str | None, device: str) -> str | None:
    """The dtype ``half=`` asks for (``None``: float32), refused where it cannot run."""
    if half is None or half.strip().lower() in ("false", "no", "0", "float32"):
        return None
    precision = _PRECISIONS.get(half.strip().lower())
    if precision is None:
        raise SpecError(
            f"{name}: half={half} is not a precision; use half=float16 (or true) or half=bfloat16."
        )
    if not device.startswith("cuda"):
        raise SrbenchError(
            f"{name}: half={half} runs the network in {precision} on a CUDA GPU, and this run "
            f"is on {device}. Fix: drop half= (float32), or run with --device cuda."
        )
    return precision


class CheckpointMethod(NetworkMethod):
    """A network loaded through spandrel: what :class:`ZooMethod` and ``model:weights=`` share
    (the precision, the check of a loaded network, its parameter count on the card)."""

    def _prepare(self, half: str | None) -> None:
        self.precision = _precision(self.card.name, half, self.device)
        self._preloaded: dict[Path, Any] = {}

    def _use_file(self, path: Path, what: str) -> Any:
        """Load a file given by path (its scale is read from it) and serve that scale."""
        net = self._checked(load_checkpoint(path, what), path, None)
        self._use_files({net.scale: weightstore.ResolvedWeights(path, "file", (net.scale,))}, ())
        self._preloaded[path] = net
        self._count(net)
        return net

    def _load(self, resolved: weightstore.ResolvedWeights) -> Any:
        net = self._preloaded.pop(resolved.path, None)
        if net is None:
            scale = resolved.scales[0]
            what = f"{self.card.name} (tag {self.tag}) x{scale}: weights file"
            net = self._checked(load_checkpoint(resolved.path, what), resolved.path, scale)
            self._count(net)
        return net

    def _checked(self, net: Any, path: Path, scale: int | None) -> Any:
        """``net`` if it can run in the precision asked for (subclasses check more)."""
        unsupported = (self.precision == "float16" and not net.supports_half) or (
            self.precision == "bfloat16" and not net.supports_bfloat16
        )
        if unsupported:
            raise SrbenchError(
                f"{self.card.name}: {net.architecture.id} ({path}) does not run in "
                f"{self.precision} (spandrel marks it unsupported). Fix: drop half=."
            )
        return net

    def _count(self, net: Any) -> None:
        # the card's params: counted from the network itself (the variants of a family differ)
        count = sum(p.numel() for p in net.model.parameters())
        self.card = dataclasses.replace(self.card, params=count)


class ZooMethod(CheckpointMethod):
    """A public checkpoint family as a method: the authors' files of one tag (``tag=``, default
    the family's main release), or a user's own file of that architecture (``weights=PATH``);
    ``half=float16|bfloat16`` on CUDA where the architecture supports it.

    A subclass sets ``family`` and is registered with
    :func:`~srbench.methods.plugins.register_method`; its card comes from the family. Declared
    files are found in the torch hub cache and checked against their declared hash before they
    are loaded; every file is loaded through spandrel and must be of the family's architecture
    (and of the release's scale).
    """

    family: ClassVar[ZooFamily]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The card is the family's, so nothing is declared twice.
        super().__init_subclass__(**kwargs)
        family = cls.__dict__.get("family")
        if family is not None and "card" not in cls.__dict__:
            # params: counted from the loaded network (a family's variants differ)
            cls.card = network_card(family.name, family.summary, family.scales, family.paper, None)

    def __init__(
        self,
        device: str = "cpu",
        *,
        tag: str | None = None,
        weights: Path | None = None,
        half: str | None = None,
    ) -> None:
        super().__init__(device)
        self._prepare(half)
        name = self.family.name
        if weights is not None:
            if tag is not None:
                raise SpecError(f"{name}: give tag= or weights=, not both.")
            self.tag = "file"
            self._use_file(Path(weights).expanduser(), f"{name}: weights file")
            return
        self.tag = tag or self.family.default_tag
        release = self.family.releases.get(self.tag)
        if release is None:
            raise UnknownNameError(f"{name} tag", self.tag, list(self.family.releases))
        files = _release_files(self.family, self.tag)
        for resolved in files.values():
            self._precheck(resolved)
        self._use_files(files, release.published)

    @classmethod
    def unavailable(cls) -> str | None:
        """Why the default tag cannot run here (none of its files is present)."""
        if cls.family.default_tag in present_tags(cls.family):
            return None
        return _missing_message(cls.family, cls.family.default_tag)

    @classmethod
    def weights_summary(cls) -> str:
        """The tags with files here and their scales (``lightweight: x2,x4``)."""
        held = "; ".join(
            f"{t}: x{','.join(map(str, s))}" for t, s in present_tags(cls.family).items()
        )
        return held or "none (not runnable)"

    def _precheck(self, resolved: weightstore.ResolvedWeights) -> None:
        """Refuse now, before anything runs, a declared file without a published hash that is
        not of the family's architecture (its keys, read without building the network); only
        then is its hash recorded as the one of its first use. A file with a published hash
        passed that check already."""
        name = str(resolved.official)
        if WEIGHTS.get(name).published_hash:
            return
        from srbench.weights.loading import describe_state, detect_architecture, read_checkpoint

        what = f"{self.family.name} (tag {self.tag}): weights file"
        state = read_checkpoint(resolved.path, what)
        if detect_architecture(state) != self.family.spandrel:
            raise CheckpointError(
                f"{what} {resolved.path} ({name}) is {describe_state(state)}, not the "
                f"{self.family.spandrel} checkpoint the authors released. Fix: delete it and run "
                f"`srbench weights --fetch {name}`; a file of your own is used as "
                f"model:weights=PATH."
            )
        locate(name)  # accepted: its hash is recorded on this first use

    def _checked(self, net: Any, path: Path, scale: int | None) -> Any:
        """``net`` if it is of the family's architecture (and of ``scale``), else why not."""
        found, want = net.architecture.id, self.family.spandrel
        if found != want or (scale is not None and net.scale != scale):
            expected = want + (f" x{scale}" if scale else "")
            fix = (
                f"fetch the declared file again (`srbench weights --fetch "
                f"{self.family.releases[self.tag].files[scale]}`)"
                if scale
                else f"use it as model:weights={path}"
            )
            raise CheckpointError(
                f"{path} is a {found} x{net.scale} checkpoint, not the {expected} that "
                f"{self.family.name} (tag {self.tag}) needs. Fix: {fix}."
            )
        return super()._checked(net, path, scale)


class ModelMethod(CheckpointMethod):
    """``model:weights=PATH``: any checkpoint spandrel recognises, as a method; its architecture
    and scale are read from the file, its default label is ``<arch>-<sha8>`` and its results
    are recorded by the file's hash."""

    card = MethodCard(
        name="model",
        summary="Any checkpoint spandrel recognises: model:weights=PATH (architecture and scale "
        "read from the file; label <arch>-<sha8>).",
        scales=None,
        params=None,
        version="1",
    )

    def __init__(self, device: str = "cpu", *, weights: Path, half: str | None = None) -> None:
        super().__init__(device)
        self._prepare(half)
        self.tag = "file"
        path = Path(weights).expanduser()
        self.net = self._use_file(path, "model: weights file")
        self.default_label = f"{self.net.architecture.id}-{self._digest(path)[:8]}"

    @classmethod
    def weights_summary(cls) -> str:
        """Its weights are the file it is given."""
        return "weights=PATH"


def present_tags(family: ZooFamily) -> dict[str, tuple[int, ...]]:
    """Every tag of ``family`` with at least one of its files in the torch hub cache, and those
    scales (the files' presence only: their hashes are checked when a method is created)."""
    out = {}
    for tag, release in family.releases.items():
        scales = tuple(s for s, n in sorted(release.files.items()) if path_of(n).is_file())
        if scales:
            out[tag] = scales
    return out


def _release_files(family: ZooFamily, tag: str) -> dict[int, weightstore.ResolvedWeights]:
    files = family.releases[tag].files
    found: dict[int, weightstore.ResolvedWeights] = {}
    for scale, name in files.items():
        if path_of(name).is_file():  # present: released() checks its hash (raises on a mismatch)
            found[scale] = weightstore.released(tag, files, scale, pin=False)
    if not found:
        raise MissingWeightsError(_missing_message(family, tag))
    return found


def _missing_message(family: ZooFamily, tag: str) -> str:
    files = family.releases[tag].files
    names = " ".join(dict.fromkeys(files[s] for s in sorted(files)))
    held = ", ".join(f"{t} (x{','.join(map(str, s))})" for t, s in present_tags(family).items())
    return (
        f"{family.name} has no weights tagged {tag!r} in the torch hub cache {hub_dir()} "
        f"(tags here: {held or 'none'}; srbench never downloads weights implicitly). Fix: "
        f"`srbench weights --fetch {names}` (or one of them), or weights=PATH for a file of "
        f"your own ({family.spandrel}); set $TORCH_HOME to use another torch cache."
    )


def load_checkpoint(path: Path, what: str) -> Any:
    """:func:`srbench.weights.loading.load_checkpoint` (imported only when a file is loaded:
    it imports torch and spandrel)."""
    from srbench.weights.loading import load_checkpoint as load

    return load(path, what)
