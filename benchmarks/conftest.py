"""Benchmark inputs: real photographs from scikit-image, resized to the sizes of DIV2K."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from srbench.imageio import modcrop
from srbench.resize import imresize
from srbench.system.memory import keep_freed_memory


@pytest.fixture(scope="session", autouse=True)
def _allocator_as_in_the_cli() -> None:
    """Time the code as `srbench` runs it: with freed memory kept in the process."""
    keep_freed_memory()


@pytest.fixture(scope="session")
def div2k_sized_hr() -> np.ndarray:
    """A 2040x1356 RGB image (the size of a DIV2K HR image)."""
    return imresize(skimage.data.coffee(), shape=(1356, 2040))


@pytest.fixture(scope="session")
def sr_hr_pair(div2k_sized_hr) -> tuple[np.ndarray, np.ndarray]:
    """A 1020x678 HR image and its bicubic x4 reconstruction."""
    hr = imresize(div2k_sized_hr, 0.5)
    sr = imresize(imresize(modcrop(hr, 4), 0.25), 4)
    return sr, hr
