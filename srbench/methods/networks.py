"""Methods that run a network per scale loaded from a weights file per scale: the machinery
trained methods (:mod:`srbench.methods.trained`) and public checkpoints
(:mod:`srbench.methods.zoo`) share: the weights' record (version, provenance), the network cache,
the precision, and batches through the network. Nothing here imports torch at import time.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from srbench.errors import SrbenchError
from srbench.methods.base import MethodCard, SRMethod
from srbench.methods.papers import PaperScore
from srbench.system.digests import sha256_cached
from srbench.weights import tags as weightstore

__all__ = ["NetworkMethod", "network_card"]


def network_card(
    name: str, summary: str, scales: tuple[int, ...], paper: str, params: int | None
) -> MethodCard:
    """The class-level card of a network method (an instance narrows ``scales`` to its
    weights' and adds its tag's published values)."""
    return MethodCard(
        name=name,
        summary=summary,
        scales=scales,
        params=params,
        paper=paper,
        version="1",
        uses_device=True,
    )


class NetworkMethod(SRMethod):
    """A network per scale, loaded once from a weights file per scale: what trained methods and
    public checkpoints (:mod:`srbench.methods.zoo`) share. A subclass sets ``tag`` and calls
    :meth:`_use_files`, and says how a file becomes a network (:meth:`_load`) and how the network
    is called (:meth:`_forward`); this class records the weights (version, provenance), caches
    the networks and runs batches through them."""

    #: The tag the weights were chosen by (``"file"`` for an explicit file).
    tag: str
    #: The torch dtype the network runs in (``"float16"``, ``"bfloat16"``; ``None``: float32).
    precision: str | None = None

    def _use_files(
        self, files: Mapping[int, weightstore.ResolvedWeights], published: tuple[PaperScore, ...]
    ) -> None:
        """Serve the scales of ``files`` (an instance runs only the scales it has weights for;
        the runner skips the others), with ``published`` on the instance's card."""
        self._files = dict(files)
        self.card = dataclasses.replace(
            type(self).card, scales=tuple(sorted(self._files)), published=published
        )
        self._nets: dict[int, Any] = {}
        self._sha: dict[Path, str] = {}

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
        # cached by the file's stat fingerprint: an authors' file checked by weights.locate is
        # not read again, nor on the next run
        if path not in self._sha:
            self._sha[path] = sha256_cached(path)
        return self._sha[path]

    def _net(self, scale: int) -> Any:
        if scale not in self._files:
            raise SrbenchError(
                f"{self.card.name} (tag {self.tag}) has no weights for x{scale}; it has "
                f"x{', x'.join(map(str, sorted(self._files)))}."
            )
        if scale not in self._nets:
            import torch

            resolved = self._files[scale]
            net = self._load(resolved).to(self.device).eval()
            if self.precision is not None:
                net = net.to(getattr(torch, self.precision))
            for s in resolved.scales:
                if self._files.get(s) == resolved:
                    self._nets[s] = net
        return self._nets[scale]

    @abc.abstractmethod
    def _load(self, resolved: weightstore.ResolvedWeights) -> Any:
        """The network in ``resolved.path`` (on the CPU, float32), checked to be this method's."""

    def _forward(self, net: Any, x: Any, scale: int) -> Any:
        """``net`` on a ``(n, 3, h, w)`` batch on 0..1; returns the batch at ``scale``."""
        return net(x)

    def upscale(self, lr: np.ndarray, scale: int) -> np.ndarray:
        """One RGB ``uint8`` image through the network."""
        return self.upscale_batch(lr[None], scale)[0]

    def upscale_batch(self, lrs: np.ndarray, scale: int) -> np.ndarray:
        """``(n, h, w, 3)`` ``uint8`` tiles in one forward pass; float output on 0..255."""
        import torch

        net = self._net(scale)
        with torch.inference_mode():
            y = self._forward(net, self._tensor(lrs), scale)
        return self._images(y)

    def _tensor(self, lrs: np.ndarray) -> Any:
        """``(n, h, w, 3)`` ``uint8`` images as an ``(n, 3, h, w)`` batch on 0..1 on the device,
        in the network's precision."""
        import torch

        dtype = getattr(torch, self.precision or "float32")
        x = torch.from_numpy(np.array(lrs, order="C")).to(self.device)  # writable: lrs is read-only
        return x.permute(0, 3, 1, 2).to(dtype) / 255.0

    @staticmethod
    def _images(y: Any) -> np.ndarray:
        """A network's ``(n, 3, H, W)`` output as ``(n, H, W, 3)`` float images on 0..255."""
        return (y.float() * 255.0).permute(0, 2, 3, 1).cpu().numpy()
