"""srbench: a benchmark and evaluation suite for single-image super-resolution.

Public API::

    from srbench import imresize, read_image, score_pair, get_protocol, parse_spec
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("srbench")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

from srbench.degradations import DEGRADATIONS, parse_spec  # noqa: E402
from srbench.evaluate import evaluate_folders  # noqa: E402
from srbench.imageio import modcrop, read_image, rgb2y, write_png  # noqa: E402
from srbench.metrics import METRICS, PROTOCOLS, get_protocol, score_pair  # noqa: E402
from srbench.resize import imresize  # noqa: E402

__all__ = [
    "DEGRADATIONS",
    "METRICS",
    "PROTOCOLS",
    "__version__",
    "evaluate_folders",
    "get_protocol",
    "imresize",
    "modcrop",
    "parse_spec",
    "read_image",
    "rgb2y",
    "score_pair",
    "write_png",
]
