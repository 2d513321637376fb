"""The generator's objective: the weighted sum of loss terms (:class:`GeneratorLoss`), and the
``loss:`` mapping of a training config parsed and built into one.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Mapping
from typing import Any

from srbench.errors import SpecError
from srbench.training.losses.adversarial import ADVERSARIAL_KINDS, AdversarialLoss
from srbench.training.losses.common import (
    CRITERIA,
    Tensor,
    check_pair,
    choice,
    nn,
    positive_int,
    torch,
)
from srbench.training.losses.pixel import PixelLoss
from srbench.training.losses.texture import TextureLoss
from srbench.training.losses.vgg import ContentLoss, FeatureLoss, VGGFeatures, check_layers


class GeneratorLoss(nn.Module):
    """Weighted sum of loss terms; the generator's training objective.

    Terms of weight 0 are dropped. Feature losses sharing a :class:`VGGFeatures` get features
    from one pass of it per image (``hr`` without gradient). An :class:`AdversarialLoss` term
    adds ``weight * generator(fake_logits, real_logits)``.

    Args:
        terms: ``name -> (weight, module)``; modules are :class:`PixelLoss`, :class:`FeatureLoss`
            subclasses, at most one :class:`AdversarialLoss`, or any module with
            ``forward(sr, hr) -> scalar``.

    Raises:
        SpecError: A weight is negative or not a number, no weight is positive, or there are
            several adversarial terms.
    """

    def __init__(self, terms: Mapping[str, tuple[float, nn.Module]]) -> None:
        super().__init__()
        weights = {name: _weight(name, weight) for name, (weight, _) in terms.items()}
        kept = {name: terms[name][1] for name, weight in weights.items() if weight > 0}
        if not kept:
            raise _no_positive_weight(weights)
        if sum(isinstance(m, AdversarialLoss) for m in kept.values()) > 1:
            raise SpecError("The generator loss can have at most one adversarial term.")
        self.weights = {name: weights[name] for name in kept}
        self.terms = nn.ModuleDict(kept)

    @property
    def adversarial(self) -> AdversarialLoss | None:
        """The adversarial term's module (for the discriminator step), or ``None``."""
        found = [m for m in self.terms.values() if isinstance(m, AdversarialLoss)]
        return found[0] if found else None

    @property
    def needs_discriminator(self) -> bool:
        """Whether a term needs discriminator logits (an adversarial weight > 0)."""
        return self.adversarial is not None

    def forward(
        self,
        sr: Tensor,
        hr: Tensor,
        fake_logits: Tensor | None = None,
        real_logits: Tensor | None = None,
        adversarial: bool = True,
    ) -> tuple[Tensor, dict[str, float]]:
        """The total loss and each term's weighted value.

        Args:
            sr: Generator output ``(N, 3, H, W)``.
            hr: Ground truth, same shape.
            fake_logits: Discriminator logits of ``sr``; needed when :attr:`needs_discriminator`.
            real_logits: Discriminator logits of ``hr`` (relativistic kinds).
            adversarial: ``False``: leave the adversarial term out (a GAN's generator trained
                before its discriminator, NoGAN's pre-training); the others keep their weights.

        Returns:
            ``(total, parts)``: ``parts`` maps each term name to ``weight * value`` as a float,
            for logging.

        Raises:
            ValueError: Adversarial term without ``fake_logits``, or shapes differ.
        """
        check_pair(sr, hr)
        if self.needs_discriminator and adversarial and fake_logits is None:
            raise ValueError(
                "This generator loss has an adversarial term (weight "
                f"{self._adversarial_weight()}) but no fake_logits were given. Fix: pass the "
                "discriminator's logits of sr, or set the adversarial weight to 0."
            )
        features = self._features(sr, hr)
        weighted = {
            name: self.weights[name] * self._value(term, sr, hr, features, fake_logits, real_logits)
            for name, term in self.terms.items()
            if adversarial or term is not self.adversarial
        }
        total = functools.reduce(operator.add, weighted.values())
        # One device sync for all the logged numbers, not one per term.
        logged = torch.stack([v.detach().float() for v in weighted.values()]).tolist()
        return total, dict(zip(weighted, logged, strict=True))

    def _adversarial_weight(self) -> float:
        return next(self.weights[n] for n, m in self.terms.items() if m is self.adversarial)

    def _features(self, sr: Tensor, hr: Tensor) -> dict[int, tuple[dict, dict]]:
        """``id(extractor) -> (features of sr, features of hr)`` for every shared extractor."""
        extractors = {
            id(m.extractor): m.extractor for m in self.terms.values() if isinstance(m, FeatureLoss)
        }
        out = {}
        for key, extractor in extractors.items():
            with torch.no_grad():
                real = extractor(hr)
            out[key] = (extractor(sr), real)
        return out

    @staticmethod
    def _value(
        term: nn.Module,
        sr: Tensor,
        hr: Tensor,
        features: Mapping[int, tuple[dict, dict]],
        fake_logits: Tensor | None,
        real_logits: Tensor | None,
    ) -> Tensor:
        if isinstance(term, AdversarialLoss):
            return term.generator(fake_logits, real_logits)
        if isinstance(term, FeatureLoss):
            return term.from_features(*features[id(term.extractor)])
        return term(sr, hr)


# --------------------------------------------------------------------------------------------
# From a config mapping


#: Accepted keys of each config term and their defaults (``weight`` has none: it is required).
LOSS_TERMS: dict[str, dict[str, Any]] = {
    "l1": {"weight": None},
    "mse": {"weight": None},
    "vgg": {"weight": None, "layer": "relu5_4", "criterion": "mse", "network": "vgg19"},
    "texture": {"weight": None, "layers": ("relu1_1", "relu2_1", "relu3_1"), "patch": 16},
    "adversarial": {"weight": None, "kind": "standard"},
}


def _weight(name: str, value: Any) -> float:
    if isinstance(value, str):
        hint = " (YAML reads 1e-3 as a string: write 1.0e-3)" if "e" in value.lower() else ""
        raise SpecError(f"The weight of loss term {name!r} must be a number, got {value!r}{hint}.")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"The weight of loss term {name!r} must be a number, got {value!r}.")
    if not math.isfinite(value) or value < 0:
        raise SpecError(
            f"The weight of loss term {name!r} is {value!r}; weights must be finite and >= 0. "
            "Fix: use a non-negative weight (0 turns the term off)."
        )
    return float(value)


def _no_positive_weight(weights: Mapping[str, float]) -> SpecError:
    return SpecError(
        f"The generator loss has no term with a positive weight (given: {dict(weights)}). "
        "Fix: give at least one term a weight > 0."
    )


def _parse_term(name: str, spec: Any) -> dict[str, Any]:
    if name not in LOSS_TERMS:
        raise SpecError(
            f"Unknown loss term {name!r} in the generator loss config. Accepted terms: "
            f"{', '.join(LOSS_TERMS)}. Fix: rename or remove it."
        )
    accepted = LOSS_TERMS[name]
    if not isinstance(spec, Mapping):
        spec = {"weight": spec}
    unknown = [key for key in spec if key not in accepted]
    if unknown:
        raise SpecError(
            f"Unknown key {unknown[0]!r} for loss term {name!r} (given: {dict(spec)}). "
            f"Accepted keys: {', '.join(accepted)}."
        )
    if "weight" not in spec:
        raise SpecError(
            f"Loss term {name!r} has no weight (given: {dict(spec)}). Fix: add `weight: NUMBER`."
        )
    params = {**accepted, **spec, "weight": _weight(name, spec["weight"])}
    _check_params(name, params)
    return params


def _check_params(name: str, params: dict[str, Any]) -> None:
    if name == "vgg":
        choice("vgg criterion", params["criterion"], CRITERIA)
        check_layers(params["layer"], "the vgg loss term", params["network"])
    elif name == "texture":
        params["layers"] = check_layers(params["layers"], "the texture loss term")
        positive_int("texture patch", params["patch"])
    elif name == "adversarial":
        choice("adversarial kind", params["kind"], ADVERSARIAL_KINDS)


def parse_loss_config(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Validate a generator loss config; every term's parameters with defaults filled in.

    A bare number is ``{weight: number}``; see :data:`LOSS_TERMS` for terms and keys.

    Raises:
        SpecError: Not a mapping, an unknown term or key, a missing, negative or non-numeric
            weight, or an invalid parameter; the message says which and what is accepted.
    """
    if not isinstance(config, Mapping) or not config:
        raise SpecError(
            f"The generator loss config must be a non-empty mapping of term -> weight or "
            f"{{weight: ..., ...}}, got {config!r}. Accepted terms: {', '.join(LOSS_TERMS)}."
        )
    return {name: _parse_term(name, spec) for name, spec in config.items()}


def _vgg_layers(specs: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """The layers each VGG network must compute (the texture loss reads VGG19)."""
    wanted: dict[str, list[str]] = {}
    if "vgg" in specs:
        wanted.setdefault(specs["vgg"]["network"], []).append(specs["vgg"]["layer"])
    if "texture" in specs:
        wanted.setdefault("vgg19", []).extend(specs["texture"]["layers"])
    return wanted


def _build_term(
    name: str, params: Mapping[str, Any], extractors: Mapping[str, VGGFeatures]
) -> nn.Module:
    if name in ("l1", "mse"):
        return PixelLoss(name)
    if name == "vgg":
        return ContentLoss(extractors[params["network"]], params["layer"], params["criterion"])
    if name == "texture":
        return TextureLoss(extractors["vgg19"], params["layers"], params["patch"])
    return AdversarialLoss(params["kind"])


def build_generator_loss(
    config: Mapping[str, Any], *, random_vgg: bool = False, device: str | torch.device = "cpu"
) -> GeneratorLoss:
    """The :class:`GeneratorLoss` a config describes.

    Example config (YAML)::

        l1: 1.0
        vgg: {weight: 0.006, layer: relu5_4, criterion: mse}   # network: vgg16 for VGG16
        texture: {weight: 1.0, layers: [relu1_1, relu2_1, relu3_1], patch: 16}
        adversarial: {weight: 1.0e-3, kind: standard}

    Terms of weight 0 are left out. One :class:`VGGFeatures` per VGG network covering its terms'
    layers is built, and its weight file looked for, only when a VGG term has a positive weight.

    Args:
        config: Term name -> weight, or -> mapping of the term's keys (:data:`LOSS_TERMS`).
        random_vgg: Seeded random VGG weights instead of the ImageNet ones (tests only).
        device: Where the loss (its VGG) lives.

    Raises:
        SpecError: The config is invalid (see :func:`parse_loss_config`) or all weights are 0.
        MissingWeightsError: A VGG term is used and ``vgg19-dcbb9e9d.pth`` is not in the torch
            hub cache.
    """
    specs = parse_loss_config(config)
    active = {name: params for name, params in specs.items() if params["weight"] > 0}
    if not active:
        raise _no_positive_weight({name: params["weight"] for name, params in specs.items()})
    extractors = {
        network: VGGFeatures(layers, random_weights=random_vgg, network=network)
        for network, layers in _vgg_layers(active).items()
    }
    terms = {
        name: (params["weight"], _build_term(name, params, extractors))
        for name, params in active.items()
    }
    return GeneratorLoss(terms).to(device)


def build_adversarial(config: Mapping[str, Any]) -> AdversarialLoss | None:
    """The :class:`AdversarialLoss` of a generator loss config, for the discriminator step;
    ``None`` when the config has no adversarial term of positive weight.

    Raises:
        SpecError: The config is invalid (see :func:`parse_loss_config`).
    """
    params = parse_loss_config(config).get("adversarial")
    if params is None or params["weight"] == 0:
        return None
    return AdversarialLoss(params["kind"])
