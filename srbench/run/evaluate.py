"""Scoring a folder of SR images against a folder of HR images."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from tqdm import tqdm

from srbench.errors import PairingError, SizeMismatchError, SrbenchError
from srbench.imageio import list_images, modcrop, read_image
from srbench.metrics import DEFAULT_METRICS, METRICS, Protocol, get_protocol, score_pair
from srbench.system.device import resolve_device

__all__ = ["EvalResult", "evaluate_folders", "pair_folders"]


def _stems(files: Sequence[Path], folder: Path, suffix: str = "") -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in files:
        stem = path.stem
        if suffix and stem.endswith(suffix):
            stem = stem[: -len(suffix)]
        if stem in out:
            raise PairingError(
                f"{folder}: {out[stem].name} and {path.name} both pair with image {stem!r}; "
                "keep one of them."
            )
        out[stem] = path
    return out


def pair_folders(
    sr_dir: str | os.PathLike[str], hr_dir: str | os.PathLike[str], strip_suffix: str = ""
) -> list[tuple[str, Path, Path]]:
    """Pair SR and HR images by file stem, after removing ``strip_suffix`` from SR stems.

    Returns:
        ``(image_id, sr_path, hr_path)`` sorted by image id.

    Raises:
        PairingError: An SR image has no HR image or the other way round (all are listed).
    """
    sr_dir, hr_dir = Path(sr_dir), Path(hr_dir)
    sr = _stems(list_images(sr_dir), sr_dir, strip_suffix)
    hr = _stems(list_images(hr_dir), hr_dir)
    only_sr, only_hr = sorted(sr.keys() - hr.keys()), sorted(hr.keys() - sr.keys())
    if only_sr or only_hr:
        raise PairingError(_unpaired_message(sr_dir, hr_dir, only_sr, only_hr, sr))
    return [(stem, sr[stem], hr[stem]) for stem in sorted(sr)]


def _unpaired_message(
    sr_dir: Path, hr_dir: Path, only_sr: list[str], only_hr: list[str], sr: dict[str, Path]
) -> str:
    lines = ["SR and HR images do not pair up by name."]
    if only_sr:
        names = ", ".join(sr[s].name for s in only_sr[:10])
        lines.append(
            f"  in {sr_dir} with no HR image: {names}" + (" ..." if len(only_sr) > 10 else "")
        )
    if only_hr:
        names = ", ".join(only_hr[:10])
        lines.append(
            f"  in {hr_dir} with no SR image: {names}" + (" ..." if len(only_hr) > 10 else "")
        )
    hint = _suffix_hint(only_sr, only_hr)
    lines.append(
        f"Fix: pass --strip-suffix {hint!r} (SR names carry it)."
        if hint
        else "Fix: give SR files the HR file names (any image suffix), or use --strip-suffix."
    )
    return "\n".join(lines)


def _suffix_hint(only_sr: list[str], only_hr: list[str]) -> str:
    """A suffix that every unpaired SR stem adds to an unpaired HR stem, if there is one."""
    hints = {s[len(h) :] for s in only_sr for h in only_hr if s.startswith(h) and s != h}
    matched = {s for s in only_sr for h in only_hr if s.startswith(h)}
    return hints.pop() if len(hints) == 1 and matched == set(only_sr) else ""


@dataclass
class EvalResult:
    """Per-image scores of an evaluation, and the images that could not be scored.

    Attributes:
        scores: One row per scored image: ``image`` and one column per metric.
        failures: ``(image_id, message)`` for each image that could not be scored.
        scale, protocol: What the scores were computed under (``protocol`` is the key,
            such as ``y-shave4``).
        n_images: Number of pairs evaluated (scored + failed).
    """

    scores: pd.DataFrame
    scale: int
    protocol: str
    n_images: int
    failures: list[tuple[str, str]] = field(default_factory=list)

    #: Formats of :meth:`render` (``srbench eval --format``).
    FORMATS: ClassVar[tuple[str, ...]] = ("table", "csv", "json")

    def mean(self) -> pd.Series:
        """The set score: arithmetic mean of the per-image values."""
        return self.scores.drop(columns="image").mean()

    def render(self, fmt: str = "table") -> str:
        """The scores as ``srbench eval`` prints them.

        Args:
            fmt: ``table`` (a heading, one row per image and the mean, 4 decimals), ``csv``
                (one row per image with its scale and protocol; a name a spreadsheet would
                run as a formula gets a leading quote) or ``json`` (everything, failures
                included; an infinite PSNR is ``null``).

        Returns:
            The text, without a final newline.

        Raises:
            ValueError: ``fmt`` is not one of :attr:`FORMATS`.
        """
        if fmt == "table":
            return self._table()
        if fmt == "csv":
            from srbench.leaderboard.tables import csv_text  # image ids are file names

            frame = self.scores.assign(scale=self.scale, protocol=self.protocol)
            return csv_text(frame).rstrip()
        if fmt == "json":
            return json.dumps(self._record(), indent=2)
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(self.FORMATS)}.")

    def _table(self) -> str:
        n_scored = len(self.scores)
        label = "mean" if not self.failures else f"mean ({n_scored} of {self.n_images})"
        table = self.scores.set_index("image")
        table.loc[label] = self.mean()
        header = f"x{self.scale}, protocol {self.protocol}, {self.n_images} images"
        return header + "\n" + table.to_string(float_format=lambda v: f"{v:.4f}")

    def _record(self) -> dict[str, object]:
        return {
            "scale": self.scale,
            "protocol": self.protocol,
            "n_images": self.n_images,
            "n_scored": len(self.scores),
            "mean": {k: _finite_or_none(v) for k, v in self.mean().items()},
            "images": [
                {k: _finite_or_none(v) for k, v in row.items()}
                for row in self.scores.to_dict("records")
            ],
            "failures": [{"image": i, "error": m} for i, m in self.failures],
        }


def _finite_or_none(value: object) -> object:
    """JSON has no inf (the PSNR of identical images): it is written as null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _check_hr_size(hr: np.ndarray, path: Path, scale: int) -> None:
    """An HR image smaller than the scale is named (modcrop would leave nothing of it)."""
    try:
        modcrop(hr, scale)
    except SizeMismatchError as exc:
        raise SizeMismatchError(f"HR image {path.name}: {exc}") from None


def evaluate_folders(
    sr_dir: str | os.PathLike[str],
    hr_dir: str | os.PathLike[str],
    scale: int,
    protocol: Protocol | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
    strip_suffix: str = "",
    progress: bool = False,
    device: str = "auto",
) -> EvalResult:
    """Score every SR image against its HR image; an image that fails does not stop the rest.

    Model-backed metrics (LPIPS) run on ``device``; their missing weights raise
    :class:`~srbench.errors.MissingWeightsError` before any image is read.
    """
    protocol = protocol or get_protocol()
    metrics = [METRICS.canonical(m) for m in metrics]
    unscorable = [m for m in metrics if m == "runtime" or METRICS.get(m).level == "set"]
    if unscorable:
        raise SrbenchError(
            f"{', '.join(unscorable)} cannot be computed pair by pair from image files; "
            "srbench run measures it (runtime while running methods, FID/KID over whole sets)."
        )
    scorers = {
        m: METRICS.get(m).load(resolve_device(device))  # type: ignore[misc]
        for m in metrics
        if METRICS.get(m).load is not None
    }
    pairs = pair_folders(sr_dir, hr_dir, strip_suffix)
    rows, failures = [], []
    for image_id, sr_path, hr_path in tqdm(pairs, desc="eval", unit="img", disable=not progress):
        try:
            hr = read_image(hr_path)
            _check_hr_size(hr, hr_path, scale)
            values = score_pair(read_image(sr_path), hr, scale, protocol, metrics, scorers)
        except SrbenchError as exc:
            failures.append((image_id, str(exc)))
            continue
        rows.append({"image": image_id, **values})
    scores = pd.DataFrame(rows, columns=["image", *metrics])
    return EvalResult(scores, scale, protocol.key(scale), len(pairs), failures)
