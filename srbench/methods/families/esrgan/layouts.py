"""The key layouts ESRGAN's RRDBNet weights circulate in, mapped to ours (the authors' current
release, :mod:`srbench.methods.families.esrgan.net`):

* the authors' first release (``model.0``, ``model.1.sub.<i>...``; the ``*_old_arch.pth`` files
  and mirrors such as KAIR's ``ESRGAN.pth``), as ESRGAN's ``transer_RRDB_models.py`` maps it;
* BasicSR's (``body.<i>.rdb<k>``, ``conv_body``, ``conv_up<n>``, ``conv_hr``), wrapped in
  ``params_ema`` or ``params`` as its releases are.

Pure key mapping: no torch needed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["to_native"]


def to_native(state: Mapping[str, Any]) -> dict[str, Any]:
    """The authors' current key layout of a state dict in any known RRDBNet layout.

    Recognised: the current layout (returned as is), the first release's ``model.<n>...``
    layout, and BasicSR's (also inside ``params_ema`` or ``params``). Unrecognised keys are left
    as they are, for :func:`srbench.weights.loading.load_strict` to report.

    Example:
        >>> to_native({"params_ema": {"conv_body.weight": 1, "body.0.rdb1.conv1.bias": 2}})
        {'trunk_conv.weight': 1, 'RRDB_trunk.0.RDB1.conv1.bias': 2}
    """
    for wrapper in ("params_ema", "params"):
        if isinstance(state.get(wrapper), Mapping):
            state = state[wrapper]
    if "model.0.weight" in state:
        return _from_first_release(state)
    if "conv_body.weight" in state:
        return {_from_basicsr(k): v for k, v in state.items()}
    return dict(state)


def _from_first_release(state: Mapping[str, Any]) -> dict[str, Any]:
    """``model.0`` conv_first, ``model.1.sub.<i>.RDB<k>.conv<j>.0`` the RRDBs and
    ``model.1.sub.<n_blocks>`` trunk_conv; then per x2 step (upsample, conv, lrelu) a triple of
    indices starting at 2, then HRconv and conv_last (ESRGAN's transer_RRDB_models.py)."""
    blocks = {int(m[1]) for k in state if (m := re.match(r"model\.1\.sub\.(\d+)\.RDB", k))}
    trunk = max(blocks, default=-1) + 1
    steps = sum(1 for k in state if re.fullmatch(r"model\.\d+\.weight", k)) - 3
    names = {"0": "conv_first", f"1.sub.{trunk}": "trunk_conv"}
    names |= {str(3 * n): f"upconv{n}" for n in range(1, steps + 1)}
    names |= {str(3 * steps + 2): "HRconv", str(3 * steps + 4): "conv_last"}
    out = {}
    for key, value in state.items():
        body = re.fullmatch(r"model\.1\.sub\.(\d+)\.(RDB\d\.conv\d)\.0\.(weight|bias)", key)
        if body:
            out[f"RRDB_trunk.{body[1]}.{body[2]}.{body[3]}"] = value
            continue
        prefix, _, param = key.removeprefix("model.").rpartition(".")
        out[f"{names[prefix]}.{param}" if prefix in names else key] = value
    return out


_BASICSR = {"conv_body": "trunk_conv", "conv_hr": "HRconv"}


def _from_basicsr(key: str) -> str:
    body = re.fullmatch(r"body\.(\d+)\.rdb(\d)\.(conv\d\.(?:weight|bias))", key)
    if body:
        return f"RRDB_trunk.{body[1]}.RDB{body[2]}.{body[3]}"
    module, _, param = key.rpartition(".")
    if module.startswith("conv_up"):
        return f"upconv{module.removeprefix('conv_up')}.{param}"
    return f"{_BASICSR.get(module, module)}.{param}"
