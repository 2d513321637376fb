"""SR methods: the plug-in registry and how a method spec becomes a method object.

Methods come from three places: srbench's own (``srbench/methods/``), installed packages that
declare an entry point in the ``srbench.methods`` group (``name = "pkg.module:Class"``), and a
user's file (``--method-file path.py:Class``). A method is addressed by a spec,
``name[:key=value,...]``; its keys are the keyword arguments of the class's ``__init__`` plus
``label`` (the name its results are stored under).
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import sys
import typing
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, TypeVar

from srbench.errors import SpecError, SrbenchError
from srbench.methods.base import ImageContext, MethodCard, SRMethod, Tiling, tiled_upscale
from srbench.methods.interpolators import INTERPOLATORS, Interpolator
from srbench.methods.precomputed import Precomputed
from srbench.registry import Registry
from srbench.specs import convert, split_spec
from srbench.system.names import check_name

__all__ = [
    "ENTRY_POINT_GROUP",
    "METHODS",
    "ImageContext",
    "Interpolator",
    "MethodCard",
    "SRMethod",
    "Tiling",
    "create_method",
    "load_method_file",
    "register_method",
    "tiled_upscale",
]

ENTRY_POINT_GROUP = "srbench.methods"
M = TypeVar("M", bound=type[SRMethod])
logger = logging.getLogger(__name__)


def load_entry_points(registry: Registry[type[SRMethod]]) -> None:
    """Register the methods that installed packages declare; a broken one is only a warning."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
            _check_method_class(cls, f"entry point {ep.name} = {ep.value}")
            registry.add(ep.name, cls)
        except Exception as exc:  # a third-party plug-in must not break srbench
            logger.warning("skipping method plug-in %r (%s): %s", ep.name, ep.value, exc)


def _discover(registry: Registry[type[SRMethod]]) -> None:
    """On the first lookup: the trained families (each registers its methods), then plug-ins."""
    from srbench.methods.families import load_families
    from srbench.methods.zoo import ModelMethod

    registry.add("model", ModelMethod)
    load_families()
    load_entry_points(registry)


METHODS: Registry[type[SRMethod]] = Registry("method", discover=_discover)
for _name, _cls in INTERPOLATORS.items():
    METHODS.add(_name, _cls, aliases=("lanczos3",) if _name == "lanczos" else ())
METHODS.add("precomputed", Precomputed)


def register_method(cls: M) -> M:
    """Register a method class under ``cls.card.name`` (usable as a class decorator)."""
    _check_method_class(cls, cls.__qualname__)
    METHODS.add(cls.card.name, cls)
    return cls


def _check_method_class(cls: object, where: str) -> None:
    if not (inspect.isclass(cls) and issubclass(cls, SRMethod)):
        raise SrbenchError(f"{where} is not a subclass of srbench.methods.SRMethod.")
    if not isinstance(getattr(cls, "card", None), MethodCard):
        raise SrbenchError(f"{where} has no `card = MethodCard(...)` class attribute.")


def load_method_file(target: str) -> type[SRMethod]:
    """Import ``path/to/file.py:ClassName`` and register the class; returns it.

    Loading the same file twice (a resumed run) replaces the earlier registration.
    """
    path_str, sep, class_name = target.rpartition(":")
    path = Path(path_str).expanduser()
    if not sep or not class_name or path.suffix != ".py":
        raise SrbenchError(f"--method-file {target!r}: expected path/to/file.py:ClassName.")
    if not path.is_file():
        raise SrbenchError(f"--method-file {target!r}: {path} does not exist.")
    module_name = f"srbench_user_method_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception as exc:
        raise SrbenchError(f"--method-file {target!r}: importing {path} failed: {exc!r}") from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        raise SrbenchError(f"--method-file {target!r}: {path} defines no {class_name!r}.")
    _check_method_class(cls, f"--method-file {target!r}")
    name = cls.card.name
    if name in dict(METHODS.items()) and METHODS.get(name) is not cls:
        if METHODS.get(name).__module__.startswith("srbench_user_method_"):
            METHODS.remove(name)
        else:
            raise SrbenchError(f"--method-file {target!r}: method name {name!r} is taken.")
    if name not in dict(METHODS.items()):
        METHODS.add(name, cls)
    return cls


def create_method(spec: str, device: str = "cpu") -> tuple[str, SRMethod]:
    """Instantiate a method from its spec; returns ``(label, method)``.

    The instance remembers its spec (``method.created_from``), so the runner can create it
    again elsewhere: in a worker process (``--isolate``) or after a call that timed out.

    Example:
        >>> create_method("bicubic")[0]
        'bicubic'
    """
    name, raw = split_spec(spec, "method")
    cls = METHODS.get(name)
    label = raw.pop("label", None)
    if label is not None:  # it names the folders of --save-images and FID/KID features
        check_name(label, f"label= in method spec {spec!r}:")
    options = _method_options(spec, cls, raw)
    try:
        method = cls(device=device, **options)
    except SrbenchError:
        raise
    except Exception as exc:
        raise SrbenchError(f"method {spec!r} could not be created: {exc!r}") from exc
    if label is None:
        body = ",".join(f"{k}={v}" for k, v in sorted(raw.items()))
        label = method.default_label or (f"{cls.card.name}:{body}" if body else cls.card.name)
    method.created_from = spec
    return label, method


def _method_options(spec: str, cls: type[SRMethod], raw: dict[str, str]) -> dict[str, Any]:
    params = {
        n: p
        for n, p in inspect.signature(cls.__init__).parameters.items()
        if n not in ("self", "device") and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }
    hints = typing.get_type_hints(cls.__init__)
    unknown = raw.keys() - params.keys()
    if unknown:
        known = ", ".join([*params, "label"])
        raise SpecError(
            f"In method spec {spec!r}: {cls.card.name!r} has no option "
            f"{', '.join(sorted(unknown))} (options: {known})."
        )
    missing = [n for n, p in params.items() if p.default is p.empty and n not in raw]
    if missing:
        raise SpecError(
            f"In method spec {spec!r}: {cls.card.name!r} needs {', '.join(missing)}=..."
        )
    return {
        k: convert(spec, "method", k, v, _scalar_type(hints.get(k, str))) for k, v in raw.items()
    }


def _scalar_type(hint: object) -> type:
    for kind in (bool, int, float, Path):
        if hint is kind or kind in typing.get_args(hint):
            return kind
    return str
