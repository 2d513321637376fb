"""Trained methods: each is an architecture plus weights chosen by tag (or an explicit file).

The architectures are declared here as plain data (no torch at import), so ``srbench ls
methods`` and ``--methods all`` can tell which methods have weights without loading any. The
networks themselves are in :mod:`srbench.nets`; ``srbench train`` trains them
(:mod:`srbench.training`).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from srbench.errors import CheckpointError, MissingWeightsError, SrbenchError, UnknownNameError
from srbench.methods.base import MethodCard, SRMethod
from srbench.system.files import sha256_file
from srbench.weights import tags as weightstore

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "InterpolatingMethod",
    "TrainedMethod",
    "architecture",
    "architectures",
    "trained_method_classes",
]


@dataclass(frozen=True)
class Architecture:
    """A trainable method's network and where its weights come from.

    Attributes:
        name: The method name.
        net: ``"module:Class"`` of the generator (``srbench.nets.edsr:EDSR``).
        kwargs: The paper's configuration (constructor arguments besides the scale).
        scales: Supported scales.
        multiscale: One network serves every scale (MDSR: ``forward(x, scale)``).
        official: Scale -> :mod:`srbench.weights` name of the authors' release (tag ``paper``).
        discriminator: ``"module:Class"`` of the GAN discriminator, if the method is a GAN.
        interpolates: The PSNR-oriented method of the same network whose weights the ``alpha``
            option blends with this one's (ESRGAN's network interpolation).
        summary, paper, params: For the method card (``params``: the generator at x4, or
            with every scale's head and tail for a multi-scale network).
    """

    name: str
    net: str
    kwargs: Mapping[str, Any]
    scales: tuple[int, ...]
    summary: str
    paper: str
    params: int | None
    multiscale: bool = False
    official: Mapping[int, str] = field(default_factory=dict)
    discriminator: str | None = None
    interpolates: str | None = None

    @property
    def default_tag(self) -> str:
        """``paper`` where the authors released weights, else ``trained`` (``srbench train``)."""
        return weightstore.OFFICIAL_TAG if self.official else "trained"

    @property
    def config_dir(self) -> Path:
        """The folder of this method's training configs (``x<scale>.yaml``, ``multiscale.yaml``)."""
        return Path(__file__).resolve().parents[2] / "methods" / self.name


_EDSR_PAPER = "Lim et al., Enhanced Deep Residual Networks for SISR, CVPRW 2017"
_SRGAN_PAPER = "Ledig et al., Photo-Realistic SISR Using a GAN, CVPR 2017"
_ESRGAN_PAPER = "Wang et al., ESRGAN: Enhanced Super-Resolution GANs, ECCVW 2018"
_SRUGAN_PAPER = "Greeley, Image Super Resolution with Deep Learning and Modern Methods (SR-UGAN)"
_SRCNN_PAPER = "Dong et al., Image Super-Resolution Using Deep Convolutional Networks, TPAMI 2016"
_UNET_PAPER = "Ronneberger et al., U-Net, MICCAI 2015; perceptual loss: Johnson et al., ECCV 2016"
_RRDB = {"n_blocks": 23, "n_feats": 64, "growth": 32, "res_scale": 0.2}
_UNET = {"n_feats": 64, "depth": 4}

ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in [
        Architecture(
            "edsr_baseline",
            "srbench.nets.edsr:EDSR",
            {"n_resblocks": 16, "n_feats": 64, "res_scale": 1.0},
            (2, 3, 4),
            "EDSR baseline, 16 blocks x 64 (L1, DIV2K).",
            _EDSR_PAPER,
            1_517_571,
            official={s: f"edsr-baseline-x{s}" for s in (2, 3, 4)},
        ),
        Architecture(
            "edsr",
            "srbench.nets.edsr:EDSR",
            {"n_resblocks": 32, "n_feats": 256, "res_scale": 0.1},
            (2, 3, 4),
            "EDSR, 32 blocks x 256, residual scaling 0.1.",
            _EDSR_PAPER,
            43_089_923,
            official={s: f"edsr-x{s}" for s in (2, 3, 4)},
        ),
        Architecture(
            "mdsr_baseline",
            "srbench.nets.edsr:MDSR",
            {"n_resblocks": 16, "n_feats": 64},
            (2, 3, 4),
            "MDSR baseline: shared 16 x 64 body, per-scale heads and tails.",
            _EDSR_PAPER,
            3_227_203,
            multiscale=True,
            official={s: "mdsr-baseline" for s in (2, 3, 4)},
        ),
        Architecture(
            "mdsr",
            "srbench.nets.edsr:MDSR",
            {"n_resblocks": 80, "n_feats": 64},
            (2, 3, 4),
            "MDSR: shared 80 x 64 body, per-scale heads and tails.",
            _EDSR_PAPER,
            7_953_987,
            multiscale=True,
            official={s: "mdsr" for s in (2, 3, 4)},
        ),
        Architecture(
            "srresnet",
            "srbench.nets.srresnet:SRResNet",
            {"n_blocks": 16, "n_feats": 64},
            (2, 4, 8),
            "SRResNet: 16 residual blocks with BN and PReLU, MSE.",
            _SRGAN_PAPER,
            1_549_462,
        ),
        Architecture(
            "srgan",
            "srbench.nets.srresnet:SRResNet",
            {"n_blocks": 16, "n_feats": 64},
            (2, 4, 8),
            "SRGAN: SRResNet generator, VGG54 content + 1e-3 adversarial loss.",
            _SRGAN_PAPER,
            1_549_462,
            discriminator="srbench.nets.srresnet:Discriminator",
        ),
        Architecture(
            "rrdb",
            "srbench.nets.rrdb:RRDBNet",
            _RRDB,
            (2, 4),
            "RRDB: ESRGAN's 23 x 64 generator trained with L1 (PSNR-oriented; ESRGAN stage 1).",
            _ESRGAN_PAPER,
            16_697_987,
            official={4: "esrgan-psnr-x4"},
        ),
        Architecture(
            "esrgan",
            "srbench.nets.rrdb:RRDBNet",
            _RRDB,
            (2, 4),
            "ESRGAN: RRDB + relativistic GAN, VGG19 conv5_4 + 5e-3 RaGAN + 1e-2 L1; alpha= "
            "interpolates with the RRDB weights.",
            _ESRGAN_PAPER,
            16_697_987,
            official={4: "esrgan-x4"},
            discriminator="srbench.nets.rrdb:ESRGANDiscriminator",
            interpolates="rrdb",
        ),
        Architecture(
            "srugan",
            "srbench.nets.srugan:SRUGAN",
            {},
            (2, 4),
            "SR-UGAN: U-Net with SE + spatial attention, 8+8 dense blocks; MSE + VGG + 1e-3 "
            "adversarial, ACGAN class head on labelled folders.",
            _SRUGAN_PAPER,
            7_359_787,
            discriminator="srbench.nets.srugan:SRUGANDiscriminator",
        ),
        Architecture(
            "srcnn",
            "srbench.nets.baselines:SRCNN",
            {"channels": 3, "n1": 64, "n2": 32, "f1": 9, "f2": 1, "f3": 5},
            (2, 3, 4),
            "SRCNN 9-1-5 (RGB) on the bicubic-upscaled image, MSE.",
            _SRCNN_PAPER,
            20_099,
        ),
        Architecture(
            "unet",
            "srbench.nets.baselines:UNet",
            _UNET,
            (2, 3, 4),
            "U-Net on the bicubic-upscaled image predicting its residual, MSE.",
            _UNET_PAPER,
            31_031_875,
        ),
        Architecture(
            "unet_perceptual",
            "srbench.nets.baselines:UNet",
            _UNET,
            (2, 3, 4),
            "The same U-Net trained with a perceptual loss on VGG16 relu3_3 features.",
            _UNET_PAPER,
            31_031_875,
        ),
        Architecture(
            "autoencoder",
            "srbench.nets.baselines:ConvAutoEncoder",
            {"n_feats": 64, "depth": 2},
            (2, 3, 4),
            "Convolutional auto-encoder (no skips) on the bicubic-upscaled image, MSE.",
            "Seed baseline: image SR with auto-encoders (encoder-decoder, MSE)",
            1_700_483,
        ),
    ]
}


class TrainedMethod(SRMethod):
    """A network with weights chosen by ``tag`` (default: the method's default tag) or by an
    explicit ``weights`` file; runs in float32 (``half=true`` for float16 on CUDA)."""

    arch: ClassVar[Architecture]

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
        self.tag = tag or self.arch.default_tag
        if weights is not None:
            self._files = _explicit_file(self.arch, Path(weights).expanduser())
        else:
            self._files = _tagged_files(self.arch, self.tag)
        # An instance serves only the scales it has weights for; the runner skips the others.
        self.card = dataclasses.replace(type(self).card, scales=tuple(sorted(self._files)))
        self._nets: dict[int, Any] = {}
        self._sha: dict[Path, str] = {}

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

    def version_at(self, scale: int) -> str:
        """The card version plus the weights' tag and hash: other weights, other results."""
        files = self._files.get(scale)
        if files is None:
            return self.card.version
        return f"{self.card.version}+{files.tag}.{self._digest(files.path)[:8]}"

    def provenance(self) -> dict[str, Any]:
        """The weights used at each scale, for the run manifest."""
        return {
            f"x{s}": {**w.record(), "sha256": self._digest(w.path)} for s, w in self._files.items()
        }

    def _digest(self, path: Path) -> str:
        if path not in self._sha:
            self._sha[path] = sha256_file(path)
        return self._sha[path]

    def _net(self, scale: int) -> Any:
        if scale not in self._files:
            raise SrbenchError(
                f"{self.card.name} (tag {self.tag}) has no weights for x{scale}; it has "
                f"x{', x'.join(map(str, sorted(self._files)))}."
            )
        if scale not in self._nets:
            resolved = self._files[scale]
            net = self._load(resolved).to(self.device).eval()
            if self.half and self.device.startswith("cuda"):
                net = net.half()
            for s in resolved.scales:
                if self._files.get(s) == resolved:
                    self._nets[s] = net
        return self._nets[scale]

    def _load(self, resolved: weightstore.ResolvedWeights) -> Any:
        from srbench.weights.loading import load_network

        return load_network(self.arch, resolved.path, resolved.scales, resolved.card)

    def upscale(self, lr: np.ndarray, scale: int) -> np.ndarray:
        """One RGB ``uint8`` image through the network."""
        return self.upscale_batch(lr[None], scale)[0]

    def upscale_batch(self, lrs: np.ndarray, scale: int) -> np.ndarray:
        """``(n, h, w, 3)`` ``uint8`` tiles in one forward pass; float output on 0..255."""
        import torch

        net = self._net(scale)
        dtype = next(net.parameters()).dtype
        x = torch.from_numpy(np.ascontiguousarray(lrs)).to(self.device)
        x = x.permute(0, 3, 1, 2).to(dtype) / 255.0
        with torch.inference_mode():
            y = net(x, scale) if self.arch.multiscale else net(x)
        return (y.float() * 255.0).permute(0, 2, 3, 1).cpu().numpy()


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
        twin = ARCHITECTURES[str(self.arch.interpolates)]
        source = psnr or self.tag
        path = Path(source).expanduser()
        found = _explicit_file(twin, path) if path.is_file() else _tagged_files(twin, source)
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
            ARCHITECTURES[str(self.arch.interpolates)], twin.path, twin.scales, twin.card
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


def _make_class(arch: Architecture) -> type[TrainedMethod]:
    card = MethodCard(
        name=arch.name,
        summary=arch.summary,
        scales=arch.scales,
        params=arch.params,
        paper=arch.paper,
        version="1",
        uses_device=True,
    )
    class_name = "".join(part.capitalize() for part in arch.name.split("_"))
    base = InterpolatingMethod if arch.interpolates else TrainedMethod
    return type(class_name, (base,), {"arch": arch, "card": card, "__doc__": arch.summary})


def trained_method_classes() -> list[type[TrainedMethod]]:
    """One method class per declared architecture."""
    return [_make_class(a) for a in ARCHITECTURES.values()]


def architectures() -> dict[str, Architecture]:
    """Every trainable method's architecture, by method name."""
    return dict(ARCHITECTURES)


def architecture(name: str) -> Architecture:
    """The architecture of trainable method ``name`` (case-insensitive).

    Raises:
        UnknownNameError: No trainable method has that name; the message suggests one.
    """
    try:
        return ARCHITECTURES[name.strip().lower()]
    except KeyError:
        raise UnknownNameError("trainable method", name, list(ARCHITECTURES)) from None
