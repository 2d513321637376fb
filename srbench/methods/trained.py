"""Trained methods: each is an architecture plus weights chosen by tag (or an explicit file).

A family (``srbench/methods/families/<family>/``) declares its methods as subclasses of
:class:`TrainedMethod` whose :class:`Architecture` is plain data (no torch at import), so ``srbench
ls methods`` and ``--methods all`` can tell which methods have weights without loading any. The
networks are in each family's ``net.py``; ``srbench train`` trains them
(:mod:`srbench.training`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from srbench.errors import CheckpointError, MissingWeightsError, SrbenchError, UnknownNameError
from srbench.methods.networks import NetworkMethod, network_card
from srbench.methods.papers import PaperScore
from srbench.weights import tags as weightstore

__all__ = [
    "Architecture",
    "InterpolatingMethod",
    "TrainedMethod",
    "architecture",
    "architectures",
    "count_parameters",
]


@dataclass(frozen=True)
class Architecture:
    """A trainable method's network and where its weights come from.

    Attributes:
        name: The method name.
        net: ``"package.module:Class"`` of the generator; its family's training configs are in
            ``configs/<name>/`` beside that module (package data).
        kwargs: The paper's configuration (constructor arguments besides the scale).
        scales: Supported scales.
        summary: One line for listings.
        paper: The citation.
        multiscale: One network serves every scale (MDSR: ``forward(x, scale)``).
        official: Scale -> :mod:`srbench.weights` name of the authors' release (tag ``paper``).
        discriminator: ``"module:Class"`` of the GAN discriminator, if the method is a GAN.
        interpolates: The PSNR-oriented method of the same network whose weights the ``alpha``
            option blends with this one's (ESRGAN's network interpolation).
        layouts: ``"module:function"`` mapping the other published key layouts of the
            weights to the network's own (ESRGAN's first release, BasicSR), if there are any.
        published: Tag -> the paper's values for those weights (:mod:`srbench.methods.papers`);
            an instance's card carries its tag's.
        variational: The generator is a conditional VAE (SR-VAE): training calls its
            ``posterior_forward(lr, hr) -> (sr, kl)`` and adds the warmed-up KL term (the
            config's ``vae:`` section); ``forward(lr)`` is its deterministic output.
    """

    name: str
    net: str
    kwargs: Mapping[str, Any]
    scales: tuple[int, ...]
    summary: str
    paper: str
    multiscale: bool = False
    official: Mapping[int, str] = field(default_factory=dict)
    discriminator: str | None = None
    interpolates: str | None = None
    layouts: str | None = None
    published: Mapping[str, tuple[PaperScore, ...]] = field(default_factory=dict)
    variational: bool = False

    @property
    def default_tag(self) -> str:
        """``paper`` where the authors released weights, else ``trained`` (``srbench train``)."""
        return weightstore.OFFICIAL_TAG if self.official else "trained"

    @property
    def family(self) -> str:
        """The package of the method's family (``srbench.methods.families.edsr``)."""
        return self.net.partition(":")[0].rpartition(".")[0]

    @property
    def config_dir(self) -> Path:
        """The folder of this method's training configs (``x<scale>.yaml``, ``multiscale.yaml``)."""
        return Path(str(resources.files(self.family))) / "configs" / self.name

    @property
    def count_scales(self) -> tuple[int, ...]:
        """The scales whose network the card's parameter count describes: every scale of a
        multi-scale network, else x4 (the papers' usual figure) or the largest scale."""
        if self.multiscale:
            return self.scales
        return (4,) if 4 in self.scales else (max(self.scales),)

    @property
    def params(self) -> int | None:
        """The generator's parameter count at :attr:`count_scales`, as counted from the network
        (``python -m srbench.methods.families`` writes them; ``None`` until it has)."""
        return _parameter_counts().get(self.name)


PARAMETER_COUNTS = "parameters.json"


@functools.cache
def _parameter_counts() -> dict[str, int]:
    path = resources.files("srbench.methods.families") / PARAMETER_COUNTS
    return json.loads(path.read_text()) if path.is_file() else {}


def count_parameters(arch: Architecture) -> int:
    """Count the generator's trainable parameters at :attr:`Architecture.count_scales`, built on
    torch's meta device (exact, no memory; imports torch)."""
    import torch

    from srbench.methods.layers import count_parameters as count
    from srbench.weights.loading import build_network

    with torch.device("meta"):
        return count(build_network(arch, arch.count_scales))


class TrainedMethod(NetworkMethod):
    """A network with weights chosen by ``tag`` (default: the method's default tag) or by an
    explicit ``weights`` file; runs in float32 (``half=true`` for float16 on CUDA)."""

    arch: ClassVar[Architecture]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The card is the architecture's, so nothing is declared twice.
        super().__init_subclass__(**kwargs)
        arch = cls.__dict__.get("arch")
        if arch is not None and "card" not in cls.__dict__:
            cls.card = network_card(arch.name, arch.summary, arch.scales, arch.paper, arch.params)

    def __init__(
        self,
        device: str = "cpu",
        *,
        tag: str | None = None,
        weights: Path | None = None,
        half: bool = False,
    ) -> None:
        super().__init__(device)
        self.half = half
        self.precision = "float16" if half and device.startswith("cuda") else None
        self.tag = weightstore.check_tag(tag or self.arch.default_tag, f"{self.arch.name}: tag=")
        if weights is not None:
            files = _explicit_file(self.arch, Path(weights).expanduser())
        else:
            files = _tagged_files(self.arch, self.tag)
        self._use_files(files, () if weights is not None else self.arch.published.get(self.tag, ()))

    @classmethod
    def unavailable(cls) -> str | None:
        """Why ``--methods all`` skips this method (no weights under its default tag)."""
        if weightstore.tags(cls.arch.name, cls.arch.official).get(cls.arch.default_tag):
            return None
        return weightstore.missing_message(
            cls.arch.name, cls.arch.default_tag, None, cls.arch.official
        )

    @classmethod
    def weights_summary(cls) -> str:
        """The tags with weights here and their scales (``paper: x4; trained: x2``)."""
        found = weightstore.tags(cls.arch.name, cls.arch.official)
        held = "; ".join(f"{t}: x{','.join(map(str, s))}" for t, s in found.items())
        return held or "none (not runnable)"

    def _load(self, resolved: weightstore.ResolvedWeights) -> Any:
        from srbench.weights.loading import load_network

        return load_network(self.arch, resolved.path, resolved.scales, resolved.card)

    def _forward(self, net: Any, x: Any, scale: int) -> Any:
        return net(x, scale) if self.arch.multiscale else net(x)


class InterpolatingMethod(TrainedMethod):
    """A GAN whose weights can be blended with its PSNR-oriented twin (ESRGAN sec. 3.4):
    ``theta = (1 - alpha) * theta_PSNR + alpha * theta_GAN``, so ``alpha`` sweeps the
    perception-distortion trade-off; ``alpha=1`` is the GAN, ``alpha=0`` the PSNR model, both
    exactly. ``psnr`` is the twin's tag or a weights file (default: the same tag as the GAN's).
    """

    def __init__(
        self,
        device: str = "cpu",
        *,
        tag: str | None = None,
        weights: Path | None = None,
        half: bool = False,
        alpha: float | None = None,
        psnr: str | None = None,
    ) -> None:
        super().__init__(device, tag=tag, weights=weights, half=half)
        self.alpha = _check_alpha(self.arch.name, alpha, psnr)
        self._twin: dict[int, weightstore.ResolvedWeights] = {}
        if self.alpha is None:
            return
        twin = architecture(str(self.arch.interpolates))
        source = psnr or self.tag
        path = Path(source).expanduser()
        if path.is_file() or "/" in source or "\\" in source or source.startswith((".", "~")):
            found = _explicit_file(twin, path)  # a file (or a path that should be one)
        else:
            found = _tagged_files(twin, weightstore.check_tag(source, f"{self.arch.name}: psnr="))
        self._twin = {s: w for s, w in found.items() if s in self._files}
        if not self._twin:
            raise MissingWeightsError(
                f"{self.arch.name}:alpha={self.alpha:g} blends with {twin.name} weights "
                f"({source}) at x{', x'.join(map(str, sorted(found)))}, but the "
                f"{self.arch.name} weights are for x{', x'.join(map(str, sorted(self._files)))}."
                f" Fix: psnr=TAG or psnr=FILE of {twin.name} weights at the same scale."
            )
        self.card = dataclasses.replace(self.card, scales=tuple(sorted(self._twin)))

    def version_at(self, scale: int) -> str:
        """The GAN's version plus ``alpha`` and the PSNR weights' tag and hash."""
        version = super().version_at(scale)
        twin = self._twin.get(scale)
        if self.alpha is None or twin is None:
            return version
        return f"{version}+alpha{self.alpha:g}.{twin.tag}.{self._digest(twin.path)[:8]}"

    def provenance(self) -> dict[str, Any]:
        """The GAN weights, and with ``alpha`` the PSNR weights blended in."""
        record = super().provenance()
        for scale, twin in self._twin.items():
            record[f"x{scale}"]["interpolation"] = {
                "alpha": self.alpha,
                "psnr": {**twin.record(), "sha256": self._digest(twin.path)},
            }
        return record

    def _load(self, resolved: weightstore.ResolvedWeights) -> Any:
        from srbench.weights.loading import interpolate_states, load_network

        net = super()._load(resolved)
        if self.alpha is None:
            return net
        twin = self._twin[resolved.scales[0]]
        psnr = load_network(
            architecture(str(self.arch.interpolates)), twin.path, twin.scales, twin.card
        )
        blended = interpolate_states(psnr.state_dict(), net.state_dict(), self.alpha)
        net.load_state_dict(blended)
        return net


def _check_alpha(name: str, alpha: float | None, psnr: str | None) -> float | None:
    if alpha is None:
        if psnr is not None:
            raise SrbenchError(f"{name}: psnr={psnr} needs alpha=A (0 <= A <= 1) to blend.")
        return None
    if not 0.0 <= alpha <= 1.0:
        raise SrbenchError(
            f"{name}: alpha={alpha} is outside [0, 1]; alpha=0 is the PSNR-oriented model, 1 the "
            "GAN, values between blend their weights."
        )
    return float(alpha)


def _tagged_files(arch: Architecture, tag: str) -> dict[int, weightstore.ResolvedWeights]:
    found: dict[int, weightstore.ResolvedWeights] = {}
    for scale in arch.scales:
        with contextlib.suppress(MissingWeightsError):
            found[scale] = weightstore.resolve(arch.name, tag, scale, arch.official)
    if not found:
        raise MissingWeightsError(weightstore.missing_message(arch.name, tag, None, arch.official))
    return found


def _explicit_file(arch: Architecture, path: Path) -> dict[int, weightstore.ResolvedWeights]:
    """A user's own weights file: loaded whatever its name, recorded by its hash. Anything that
    is not a state dict of ``arch`` (a folder, an empty or foreign file) is a CheckpointError."""
    if path.is_dir():
        raise CheckpointError(
            f"{arch.name}: weights={path} is a folder; weights= takes a state-dict file (.pt)."
        )
    if not path.is_file():
        raise MissingWeightsError(f"{arch.name}: weights file {path} does not exist.")
    card_path = path.with_suffix(".json")
    card = weightstore.read_card(card_path) if card_path.is_file() else None
    if card is not None:
        if card.get("method") != arch.name:
            raise CheckpointError(
                f"weights file {path} holds {card.get('method')} (model card {card_path}), not "
                f"{arch.name}. Fix: use it as {card.get('method')}:weights={path}."
            )
        scales = tuple(card["scales"])
    else:
        from srbench.weights.loading import infer_scales

        scales = infer_scales(arch, path)
    resolved = weightstore.ResolvedWeights(path, "file", scales, card)
    return dict.fromkeys(scales, resolved)


def architectures() -> dict[str, Architecture]:
    """Every trainable method's architecture, by method name (the families' and plug-ins')."""
    from srbench.methods.plugins import METHODS

    return {
        name: cls.arch
        for name, cls in METHODS.items()
        if isinstance(cls, type) and issubclass(cls, TrainedMethod)
    }


def architecture(name: str) -> Architecture:
    """The architecture of trainable method ``name`` (case-insensitive).

    Raises:
        UnknownNameError: No trainable method has that name; the message suggests one.
    """
    found = architectures()
    try:
        return found[name.strip().lower()]
    except KeyError:
        raise UnknownNameError("trainable method", name, list(found)) from None
