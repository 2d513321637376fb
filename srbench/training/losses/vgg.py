"""VGG feature losses: the frozen :class:`VGGFeatures` extractor (VGG19 or VGG16, ImageNet weights
from the torch hub cache, or seeded random ones for tests) and the losses reading its maps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from srbench.errors import SpecError
from srbench.system.extras import require
from srbench.training.losses.common import CRITERIA, Tensor, check_pair, choice, nn, torch

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


def check_layers(layers: Sequence[str] | str, what: str, network: str = "vgg19") -> tuple[str, ...]:
    """Validated layer names, duplicates removed, in network order."""
    valid = VGG_LAYERS[choice("VGG network", network, VGG_LAYERS)]
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
        self.layers = check_layers(layers, "VGGFeatures", network)
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
        self.layers = check_layers(layers, type(self).__name__, extractor.network)
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
        check_pair(sr, hr)
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
        self.criterion = choice("content loss criterion", criterion, CRITERIA)

    def from_features(self, fake: Mapping[str, Tensor], real: Mapping[str, Tensor]) -> Tensor:
        """The distance between ``fake[layer]`` and ``real[layer]``."""
        return CRITERIA[self.criterion](fake[self.layer], real[self.layer])
