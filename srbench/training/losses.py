"""Training losses: pixel, VGG content (SRGAN), Gram texture (EnhanceNet) and adversarial terms,
and the weighted sum a generator is trained on, built from a YAML-style mapping.

Every image loss is an ``nn.Module`` called as ``loss(sr, hr)`` on float tensors
``(N, 3, H, W)``, RGB in ``[0, 1]``, and returns a scalar tensor. The VGG-based losses share one
:class:`VGGFeatures` extractor; :class:`GeneratorLoss` runs it once per ``(sr, hr)`` pair for all of
them (``hr`` without gradient).

The VGG19 ImageNet weights are read from the torch hub cache through :mod:`srbench.weights`, never
downloaded implicitly. ``random_weights=True`` (``random_vgg=True`` for
:func:`build_generator_loss`) builds the same network with seeded random weights: the code path of
tests, and nothing else.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from srbench.errors import SpecError
from srbench.system.extras import require

torch = require("torch", "Training losses")
nn = torch.nn
F = torch.nn.functional
Tensor = torch.Tensor

__all__ = [
    "ADVERSARIAL_KINDS",
    "CRITERIA",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "LOSS_TERMS",
    "VGG19_LAYERS",
    "VGG_LAYERS",
    "AdversarialLoss",
    "ContentLoss",
    "FeatureLoss",
    "GeneratorLoss",
    "PixelLoss",
    "TextureLoss",
    "VGGFeatures",
    "build_adversarial",
    "build_generator_loss",
    "gram_matrix",
    "parse_loss_config",
    "tile_grams",
]

#: Convolutions per block of each VGG (torchvision's configurations "D" and "E").
_VGG_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _vgg_layer_names(blocks: tuple[int, ...]) -> tuple[str, ...]:
    names: list[str] = []
    for block, convs in enumerate(blocks, start=1):
        for conv in range(1, convs + 1):
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
        names.append(f"pool{block}")
    return tuple(names)


VGG_LAYERS: dict[str, tuple[str, ...]] = {
    network: _vgg_layer_names(blocks) for network, blocks in _VGG_BLOCKS.items()
}
"""Names of ``torchvision.models.<network>().features`` modules, by index (``conv1_1`` is 0)."""
VGG19_LAYERS: tuple[str, ...] = VGG_LAYERS["vgg19"]

#: Distances between two tensors, by config name (means over all elements).
CRITERIA = {"l1": F.l1_loss, "mse": F.mse_loss}
#: Adversarial loss formulations :class:`AdversarialLoss` knows.
ADVERSARIAL_KINDS: tuple[str, ...] = ("standard", "relativistic")


def _choice(what: str, value: Any, accepted: Iterable[str]) -> str:
    accepted = tuple(accepted)
    if value not in accepted:
        raise SpecError(
            f"Unknown {what} {value!r}. Accepted: {', '.join(accepted)}. "
            "Fix: use one of those names."
        )
    return value


def _check_layers(
    layers: Sequence[str] | str, what: str, network: str = "vgg19"
) -> tuple[str, ...]:
    """Validated layer names, duplicates removed, in network order."""
    valid = VGG_LAYERS[_choice("VGG network", network, VGG_LAYERS)]
    names = (layers,) if isinstance(layers, str) else tuple(layers)
    if not names:
        raise SpecError(f"{what} needs at least one {network.upper()} layer, got none.")
    for name in names:
        if name not in valid:
            raise SpecError(
                f"Unknown {network.upper()} layer {name!r} for {what}. Valid layers, in network "
                f"order: {', '.join(valid)}. (convX_Y is before its activation, reluX_Y after.)"
            )
    return tuple(sorted(set(names), key=valid.index))


def _check_pair(sr: Tensor, hr: Tensor) -> None:
    if sr.shape != hr.shape:
        raise ValueError(
            f"sr and hr must have one shape, got {tuple(sr.shape)} and {tuple(hr.shape)}."
        )


# --------------------------------------------------------------------------------------------
# VGG19 features


def _vgg_features(network: str, random_weights: bool, seed: int) -> Any:
    """``<network>().features`` with ImageNet weights from the hub cache, or seeded random ones.

    The network is built on the meta device, so the classifier's 120M parameters are never
    initialised (seconds of CPU time) and only the checkpoint's tensors are materialised.
    """
    torchvision = require("torchvision", "VGG losses")
    from srbench.weights import files as weights

    path = None if random_weights else weights.locate(network)  # fail before any slow work
    with torch.device("meta"):
        model = getattr(torchvision.models, network)(weights=None)
    if path is None:
        features = model.features.to_empty(device="cpu")
        _randomise(features, seed)
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True, assign=True)
        features = model.features
    for index, module in enumerate(features):
        if isinstance(module, nn.ReLU):
            # An in-place ReLU would overwrite the conv output captured just before it.
            features[index] = nn.ReLU(inplace=False)
    return features


def _randomise(features: Any, seed: int) -> None:
    """torchvision's VGG initialisation (He, fan-out), drawn from a private seeded stream so the
    weights depend on ``seed`` alone and the caller's random state is left untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in features.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)


class VGGFeatures(nn.Module):
    """Frozen VGG19 (or VGG16) feature extractor: ``[0, 1]`` RGB in, named feature maps out.

    The network is ``torchvision.models.vgg19().features`` cut after the deepest requested
    layer. Inputs are normalised with the ImageNet mean and std inside. ``convX_Y`` is a
    convolution's output before its activation (ESRGAN's perceptual loss), ``reluX_Y`` the same
    after it (SRGAN's ``phi_X,Y``). Parameters never need gradients and the module stays in eval
    mode whatever ``train()`` asks.

    Args:
        layers: Names from :data:`VGG_LAYERS` of ``network`` (``"relu5_4"``...).
        random_weights: Seeded random weights instead of the ImageNet ones; no file needed. The
            tests' code path, never for training.
        seed: Seed of the random weights.
        network: ``"vgg19"`` (SRGAN, ESRGAN) or ``"vgg16"`` (Johnson et al.'s relu3_3 loss).

    Raises:
        SpecError: A layer or network name is unknown, or no layer is given.
        MissingWeightsError: The network's ImageNet weights (``vgg19-dcbb9e9d.pth``,
            ``vgg16-397923af.pth``) are not in the torch hub cache.
    """

    def __init__(
        self,
        layers: Sequence[str],
        random_weights: bool = False,
        seed: int = 0,
        network: str = "vgg19",
    ) -> None:
        super().__init__()
        self.layers = _check_layers(layers, "VGGFeatures", network)
        self.network = network
        self.names = VGG_LAYERS[network]
        last = max(self.names.index(name) for name in self.layers)
        self.features = _vgg_features(network, random_weights, seed)[: last + 1]
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), False)
        self.random_weights = random_weights
        self.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> VGGFeatures:
        """Stay in eval mode: a parent's ``.train()`` must not change the fixed extractor."""
        return super().train(False)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """Feature maps of ``x`` (``(N, 3, H, W)`` RGB in ``[0, 1]``), by layer name."""
        h = (x - self.mean) / self.std
        out: dict[str, Tensor] = {}
        for index, module in enumerate(self.features):
            h = module(h)
            if self.names[index] in self.layers:
                out[self.names[index]] = h
        return out


# --------------------------------------------------------------------------------------------
# Image losses


class PixelLoss(nn.Module):
    """Mean absolute (``"l1"``) or squared (``"mse"``) difference of the pixels.

    Args:
        kind: A key of :data:`CRITERIA`.
    """

    def __init__(self, kind: str = "l1") -> None:
        super().__init__()
        self.kind = _choice("pixel loss kind", kind, CRITERIA)

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        """The loss of ``sr`` against ``hr`` (same shape)."""
        _check_pair(sr, hr)
        return CRITERIA[self.kind](sr, hr)


class FeatureLoss(nn.Module):
    """Base of the losses on VGG feature maps.

    ``forward(sr, hr)`` runs the extractor on both images (``hr`` without gradient) and calls
    :meth:`from_features`; :class:`GeneratorLoss` calls :meth:`from_features` directly with
    features computed once for all the terms sharing an extractor.

    Args:
        extractor: The feature extractor; it must compute every layer in ``layers``.
        layers: The layers this loss reads.

    Raises:
        SpecError: A layer is not one the extractor computes.
    """

    def __init__(self, extractor: VGGFeatures, layers: Sequence[str]) -> None:
        super().__init__()
        self.layers = _check_layers(layers, type(self).__name__, extractor.network)
        missing = [name for name in self.layers if name not in extractor.layers]
        if missing:
            raise SpecError(
                f"{type(self).__name__} reads {extractor.network.upper()} layers "
                f"{', '.join(missing)}, which the extractor does not compute (it has "
                f"{', '.join(extractor.layers)}). Fix: build the VGGFeatures with those layers too."
            )
        self.extractor = extractor

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        """The loss of ``sr`` against ``hr``; gradients flow to ``sr`` only."""
        _check_pair(sr, hr)
        fake = self.extractor(sr)
        with torch.no_grad():
            real = self.extractor(hr)
        return self.from_features(fake, real)

    def from_features(self, fake: Mapping[str, Tensor], real: Mapping[str, Tensor]) -> Tensor:
        """The loss from the extractor's outputs for ``sr`` (``fake``) and ``hr`` (``real``)."""
        raise NotImplementedError


class ContentLoss(FeatureLoss):
    """Distance between the VGG features of ``sr`` and ``hr`` at one layer (SRGAN's VGG loss).

    SRGAN's ``VGG54`` is ``layer="relu5_4", criterion="mse"``; it rescaled features by 1/12.75,
    which here is folded into the term's weight (0.006 ~ 1 / 12.75**2).

    Args:
        extractor: A :class:`VGGFeatures` computing ``layer``.
        layer: The VGG19 layer compared.
        criterion: A key of :data:`CRITERIA` (mean over all feature elements).
    """

    def __init__(self, extractor: VGGFeatures, layer: str, criterion: str = "mse") -> None:
        super().__init__(extractor, [layer])
        self.layer = layer
        self.criterion = _choice("content loss criterion", criterion, CRITERIA)

    def from_features(self, fake: Mapping[str, Tensor], real: Mapping[str, Tensor]) -> Tensor:
        """The distance between ``fake[layer]`` and ``real[layer]``."""
        return CRITERIA[self.criterion](fake[self.layer], real[self.layer])


def gram_matrix(features: Tensor) -> Tensor:
    """Gram matrices of feature maps, normalised by their size.

    Args:
        features: ``(N, C, H, W)``.

    Returns:
        ``(N, C, C)`` float32: ``G[n, i, j] = sum_p F[n, i, p] F[n, j, p] / (C * H * W)``.
    """
    n, c, h, w = features.shape
    # Sums of h * w products overflow float16 (real relu1_1 maps reach the hundreds), so under
    # autocast the products are taken in float32.
    with torch.autocast(features.device.type, enabled=False):
        flat = features.reshape(n, c, h * w).float()
        return flat @ flat.transpose(1, 2) / (c * h * w)


def _spans(length: int, patch: int) -> list[tuple[int, int, int]]:
    """``(start, stop, tile)``: regions of one axis, each cut into whole tiles of size ``tile``.

    Whole ``patch``-sized tiles first, then what is left as one smaller tile, so every position
    belongs to exactly one tile; an axis shorter than ``patch`` is one tile.
    """
    whole = length // patch * patch
    spans = [(0, whole, patch)] if whole else []
    if whole < length:
        spans.append((whole, length, length - whole))
    return spans


def _grid_grams(region: Tensor, tile_h: int, tile_w: int) -> Tensor:
    n, c, h, w = region.shape
    tiles = region.reshape(n, c, h // tile_h, tile_h, w // tile_w, tile_w)
    tiles = tiles.permute(0, 2, 4, 1, 3, 5).reshape(-1, c, tile_h, tile_w)
    return gram_matrix(tiles)


def tile_grams(features: Tensor, patch: int) -> Tensor:
    """Gram matrices of the non-overlapping ``patch`` x ``patch`` tiles of feature maps.

    Tiles at the right and bottom edges are smaller when the map's size is not a multiple of
    ``patch``; a map smaller than ``patch`` is one tile. Tiles come in a fixed order for a given
    shape, so two maps' results compare tile by tile.

    Args:
        features: ``(N, C, H, W)``.
        patch: Tile side, in pixels of this map.

    Returns:
        ``(N * tiles, C, C)``, each normalised by ``C * tile pixels`` (:func:`gram_matrix`).
    """
    _, _, h, w = features.shape
    grams = [
        _grid_grams(features[..., top:bottom, left:right], tile_h, tile_w)
        for top, bottom, tile_h in _spans(h, patch)
        for left, right, tile_w in _spans(w, patch)
    ]
    return torch.cat(grams)


class TextureLoss(FeatureLoss):
    """EnhanceNet's texture loss (Sajjadi et al. 2017): Gram matrices of local tiles.

    Each layer's maps are cut into non-overlapping ``patch`` x ``patch`` tiles at that layer's
    resolution (:func:`tile_grams`); the loss is the mean squared difference of the ``sr`` and
    ``hr`` Gram matrices over tiles, averaged over layers. EnhanceNet used ``conv1_1``,
    ``conv2_1`` and ``conv3_1`` outputs with 16-pixel tiles.

    Args:
        extractor: A :class:`VGGFeatures` computing every layer in ``layers``.
        layers: The VGG19 layers compared.
        patch: Tile side in feature-map pixels (positive).
    """

    def __init__(self, extractor: VGGFeatures, layers: Sequence[str], patch: int = 16) -> None:
        super().__init__(extractor, layers)
        self.patch = _positive_int("texture patch", patch)

    def from_features(self, fake: Mapping[str, Tensor], real: Mapping[str, Tensor]) -> Tensor:
        """Mean over layers of the per-tile Gram MSE."""
        losses = [
            F.mse_loss(tile_grams(fake[name], self.patch), tile_grams(real[name], self.patch))
            for name in self.layers
        ]
        return torch.stack(losses).mean()


def _positive_int(what: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"{what} must be a positive integer, got {value!r}.")
    return value


# --------------------------------------------------------------------------------------------
# Adversarial


class AdversarialLoss(nn.Module):
    """GAN losses on discriminator logits, for the generator and the discriminator steps.

    ``"standard"`` is the GAN of Goodfellow et al. (2014) in its non-saturating form, as SRGAN
    uses it; with ``sigma`` the logistic function and means over every logit::

        generator:      L_G = -mean log sigma(D(G(x)))
        discriminator:  L_D = -mean log sigma(D(y)) - mean log(1 - sigma(D(G(x))))

    i.e. binary cross-entropy with logits against 1 (real) and 0 (fake).

    ``"relativistic"`` is ESRGAN's relativistic average GAN (RaGAN, Jolicoeur-Martineau 2018):
    the discriminator judges whether a real image is more realistic than the average fake,
    ``D_Ra(a, b) = sigma(C(a) - mean C(b))``, and both networks use both logits::

        generator:      L_G = -(mean log(1 - D_Ra(y, G(x))) + mean log D_Ra(G(x), y)) / 2
        discriminator:  L_D = -(mean log D_Ra(y, G(x)) + mean log(1 - D_Ra(G(x), y))) / 2

    as ESRGAN's code writes them (the halves included). The generator step's ``real_logits``
    carry no gradient to the discriminator (pass them detached).

    Args:
        kind: One of :data:`ADVERSARIAL_KINDS`.
    """

    def __init__(self, kind: str = "standard") -> None:
        super().__init__()
        self.kind = _choice("adversarial loss kind", kind, ADVERSARIAL_KINDS)

    @property
    def needs_real(self) -> bool:
        """Whether the generator step needs ``D(y)`` as well as ``D(G(x))``."""
        return self.kind == "relativistic"

    def generator(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        """The generator's loss ``L_G`` from ``D(G(x))`` (and ``D(y)`` when relativistic).

        Raises:
            ValueError: A relativistic loss without ``real_logits``.
        """
        if not self.needs_real:
            return _bce(fake_logits, 1.0)
        if real_logits is None:
            raise ValueError(
                "The relativistic adversarial loss compares D(G(x)) with D(y): pass real_logits."
            )
        return self._relativistic(real_logits, fake_logits, real_target=0.0)

    def discriminator(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """The discriminator's loss ``L_D`` from ``D(y)`` and ``D(G(x))``.

        Pass the logits of detached ``G(x)`` so this step does not reach the generator.
        """
        if self.needs_real:
            return self._relativistic(real_logits, fake_logits, real_target=1.0)
        return _bce(real_logits, 1.0) + _bce(fake_logits, 0.0)

    @staticmethod
    def _relativistic(real: Tensor, fake: Tensor, real_target: float) -> Tensor:
        """Real judged against the mean fake and fake against the mean real, halved."""
        real_vs_fake = _bce(real - fake.mean(), real_target)
        fake_vs_real = _bce(fake - real.mean(), 1.0 - real_target)
        return (real_vs_fake + fake_vs_real) / 2

    def forward(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        """Same as :meth:`generator`."""
        return self.generator(fake_logits, real_logits)


def _bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


# --------------------------------------------------------------------------------------------
# The weighted sum


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
    ) -> tuple[Tensor, dict[str, float]]:
        """The total loss and each term's weighted value.

        Args:
            sr: Generator output ``(N, 3, H, W)``.
            hr: Ground truth, same shape.
            fake_logits: Discriminator logits of ``sr``; needed when :attr:`needs_discriminator`.
            real_logits: Discriminator logits of ``hr`` (relativistic kinds).

        Returns:
            ``(total, parts)``: ``parts`` maps each term name to ``weight * value`` as a float,
            for logging.

        Raises:
            ValueError: Adversarial term without ``fake_logits``, or shapes differ.
        """
        _check_pair(sr, hr)
        if self.needs_discriminator and fake_logits is None:
            raise ValueError(
                "This generator loss has an adversarial term (weight "
                f"{self._adversarial_weight()}) but no fake_logits were given. Fix: pass the "
                "discriminator's logits of sr, or set the adversarial weight to 0."
            )
        features = self._features(sr, hr)
        weighted = {
            name: self.weights[name] * self._value(term, sr, hr, features, fake_logits, real_logits)
            for name, term in self.terms.items()
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
        _choice("vgg criterion", params["criterion"], CRITERIA)
        _check_layers(params["layer"], "the vgg loss term", params["network"])
    elif name == "texture":
        params["layers"] = _check_layers(params["layers"], "the texture loss term")
        _positive_int("texture patch", params["patch"])
    elif name == "adversarial":
        _choice("adversarial kind", params["kind"], ADVERSARIAL_KINDS)


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
