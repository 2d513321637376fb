"""``srbench ls datasets``: the catalog's datasets with their cache state, and the sample."""

from __future__ import annotations

from srbench.catalog import SAMPLE_IMAGES, load_catalog
from srbench.catalog.install import state
from srbench.hub import cache_root

__all__ = ["dataset_lines"]


def dataset_lines() -> list[str]:
    """One line per catalog dataset (id, split, images, cache state, licence), the built-in
    sample, and the cache folder, under a header."""
    lines = [f"{'id':12} {'split':10} {'images':>6}  {'state':8}  licence"]
    for _, spec in load_catalog().items():
        agreement = " (needs --accept-licence)" if spec.agreement_required else ""
        lines.append(
            f"{spec.id:12} {spec.split:10} {spec.images:6}  {state(spec):8}  "
            f"{spec.licence}{agreement}"
        )
    lines.append(
        f"{'sample':12} {'test':10} {len(SAMPLE_IMAGES):6}  {'builtin':8}  "
        "scikit-image data (offline)"
    )
    lines.append(f"cache: {cache_root()}  (set SRBENCH_CACHE to move it)")
    return lines
