"""EnhanceNet's texture loss: Gram matrices of local tiles of VGG feature maps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from srbench.training.losses.common import F, Tensor, positive_int, torch
from srbench.training.losses.vgg import FeatureLoss, VGGFeatures


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
        self.patch = positive_int("texture patch", patch)

    def from_features(self, fake: Mapping[str, Tensor], real: Mapping[str, Tensor]) -> Tensor:
        """Mean over layers of the per-tile Gram MSE."""
        losses = [
            F.mse_loss(tile_grams(fake[name], self.patch), tile_grams(real[name], self.patch))
            for name in self.layers
        ]
        return torch.stack(losses).mean()
