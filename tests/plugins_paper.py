"""A plug-in method whose card declares published values (loaded with --method-file)."""

from __future__ import annotations

import numpy as np

from srbench.methods import MethodCard, SRMethod
from srbench.methods.papers import paper_table

#: What the plug-in's "paper" prints; the tests read it back from the run manifest.
PUBLISHED = paper_table(
    "Test et al. 2026, Table 1", {("Set5", 2): (30.0, 0.9), ("Set14", 2): (29.0, None)}
)


class Replicate(SRMethod):
    card = MethodCard("replicate", "pixel replication", published=PUBLISHED)

    def upscale(self, lr: np.ndarray, scale: int) -> np.ndarray:
        return np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)
