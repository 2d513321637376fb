"""Re-measure the README's speed table: ``python -m benchmarks.speed [--rounds 7] [--readme]``.

srbench beside the field's own code on this machine, each pair checked for equal values first:

- ``scores``: PSNR+SSIM on Y, shave 4 (``srbench.metrics.score_pair``) against BasicSR's
  ``calculate_psnr``/``calculate_ssim`` and pyiqa's ``PSNR``/``SSIM`` at 480x320, 1024x680 and
  2040x1356 (a photograph resized to each size; SR = bicubic x4 of it);
- ``b100``: ``srbench run`` on B100 x4 bicubic against the same work done the BasicSR way
  (:mod:`benchmarks.basicsr_bicubic`) and against decoding the 100 PNGs with PIL, each a fresh
  interpreter (start-up included);
- ``startup``: ``srbench --version``, ``srbench ls methods`` and ``import srbench.cli`` against
  ``python -c "import numpy, PIL.Image"``, each a fresh interpreter;
- ``lpips``: srbench's LPIPS-alex on CPU against the ``lpips`` package with the same weights.

Results go to ``benchmarks/speed.json`` (:mod:`benchmarks.harness` describes its rows);
``--readme`` also rewrites the README's table from them, ``--readme-only`` does only that. A
reference that is not importable, or data that is absent, gives a skipped row with the reason.
The exit status is 1 when a reference's values differ from srbench's beyond the tolerance.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.fieldtools import basicsr_imresize, basicsr_psnr_ssim, pyiqa_psnr_ssim
from benchmarks.harness import (
    Mismatch,
    Reference,
    Rounds,
    Row,
    Skip,
    checked_race,
    compare,
    environment,
    load,
    race,
    render_table,
    update_readme,
    write,
)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "benchmarks" / "speed.json"
SCALE = 4
#: Image sizes (width, height) of the scoring rows.
SIZES = ((480, 320), (1024, 680), (2040, 1356))
LPIPS_SIZES = ((480, 320), (2040, 1356))
#: BasicSR computes the same quantities; only the order of float64 sums differs.
BASICSR_TOLERANCE = {"psnr": 3e-7, "ssim": 5e-9}
#: pyiqa's PSNR takes Y in float32 and adds eps=1e-8 to the MSE of [0, 1] values; its SSIM
#: rounds Y to integers first. Measured: up to 2.8e-4 dB and 1.8e-3 SSIM at these sizes.
PYIQA_TOLERANCE = {"psnr": 1e-3, "ssim": 5e-3}
#: BasicSR's imresize computes in float32, so some LR/SR pixels differ by one from MATLAB's.
#: Measured on B100 x4: up to 0.0074 dB and 4.1e-4 SSIM (one image each).
B100_TOLERANCE = {"psnr": 0.02, "ssim": 2e-3}
#: The same network on the same input; srbench adds the five layers' means in float64.
LPIPS_TOLERANCE = {"lpips": 1e-6}
#: Decodes every PNG of a folder to an array: the least any tool must do with the dataset.
DECODE = (
    "import sys, pathlib, numpy as np; from PIL import Image; "
    "[np.asarray(Image.open(p).convert('RGB')) "
    "for p in sorted(pathlib.Path(sys.argv[1]).glob('*.png'))]"
)


def _srbench_command() -> tuple[str, ...]:
    """The ``srbench`` console script beside this interpreter (``python -m srbench`` if none)."""
    script = Path(sys.executable).with_name("srbench")
    return (str(script),) if script.is_file() else (sys.executable, "-m", "srbench")


SRBENCH = _srbench_command()


def _label(dist: str, name: str | None = None) -> str:
    try:
        return f"{name or dist} {importlib.metadata.version(dist)}"
    except importlib.metadata.PackageNotFoundError:
        return name or dist


class Feed:
    """Distinct copies of a call's inputs, one per call, cycling.

    Every timed call gets arrays no earlier call of the same candidate saw, so a cache keyed
    on the arrays (in srbench or a reference) cannot make a repeated call cheaper than a first.
    """

    def __init__(self, copies: Sequence[tuple[Any, ...]]) -> None:
        self.copies = copies
        self.calls = 0

    def next(self) -> tuple[Any, ...]:
        """The inputs of the next call."""
        item = self.copies[self.calls % len(self.copies)]
        self.calls += 1
        return item


def photo_pair(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """``(sr, hr)``: a photograph resized to ``width`` x ``height``, and its bicubic x4."""
    import skimage.data

    from srbench.imageio import modcrop
    from srbench.resize import imresize

    hr = modcrop(imresize(skimage.data.coffee(), shape=(height, width)), SCALE)
    return imresize(imresize(hr, 1 / SCALE), SCALE), hr


# --- PSNR+SSIM in one process ------------------------------------------------------------


def score_rows(rounds: Rounds) -> list[Row]:
    """srbench's PSNR+SSIM against BasicSR's and pyiqa's at every size of :data:`SIZES`."""
    from srbench.metrics import score_pair

    rows = []
    for width, height in SIZES:
        sr, hr = photo_pair(width, height)
        # The check's call and the timed ones of both races, each on its own copies.
        rgb = [(sr.copy(), hr.copy()) for _ in range(2 * rounds.fast + 1)]
        feed = Feed(rgb)
        references = [
            Reference(
                "basicsr",
                _label("basicsr", "BasicSR"),
                lambda rgb=rgb: _basicsr_scores(rgb[: rounds.fast + 1]),  # its own calls
                BASICSR_TOLERANCE,
                "calculate_psnr + calculate_ssim (test_y_channel=True, crop_border=4) "
                "on BGR uint8 arrays",
            ),
            Reference(
                "pyiqa",
                _label("pyiqa"),
                lambda rgb=rgb: _pyiqa_scores(rgb),
                PYIQA_TOLERANCE,
                "PSNR + SSIM modules (test_y_channel=True, crop_border=4, color_space='ycbcr'; "
                "its default is YIQ) on CPU, the uint8 -> float32 tensor conversion timed; "
                "its PSNR takes Y in float32 plus eps, its SSIM rounds Y to integers",
            ),
        ]
        rows += checked_race(
            "PSNR+SSIM on Y, shave 4",
            f"{width}x{height}",
            lambda feed=feed: score_pair(*feed.next(), SCALE),
            references,
            rounds,
            "scores",
        )
        rows += checked_race(
            "same, HR prepared once (as `srbench run` scores each method of an image)",
            f"{width}x{height}",
            _prepared_scores(rgb),
            references[:1],
            rounds,
            "scores-prepared",
        )
    return rows


def _prepared_scores(rgb: Sequence[tuple[np.ndarray, np.ndarray]]) -> Callable[[], dict]:
    """srbench scoring fresh SR copies against one HR :class:`~srbench.metrics.Reference` that
    has already been scored once: the per-method cost when an image has several methods."""
    from srbench.metrics import get_protocol, score_pair

    reference = get_protocol().reference(rgb[0][1], SCALE)
    score_pair(rgb[0][0], reference, SCALE)  # keeps the HR side
    feed = Feed([(sr,) for sr, _ in rgb])
    return lambda: score_pair(*feed.next(), reference, SCALE)


def _basicsr_scores(rgb: Sequence[tuple[np.ndarray, np.ndarray]]) -> Callable[[], dict]:
    try:
        metrics = basicsr_psnr_ssim()
    except ImportError as exc:
        raise Skip(f"basicsr's metric modules do not import: {exc}") from exc
    if metrics is None:
        raise Skip("basicsr is not installed (pip install basicsr==1.4.2 --no-deps)")
    psnr, ssim = metrics
    # BasicSR reads with cv2.imread: BGR arrays are its input, not a conversion to time.
    feed = Feed([tuple(np.ascontiguousarray(x[..., ::-1]) for x in pair) for pair in rgb])

    def scores() -> dict[str, float]:
        sr, hr = feed.next()
        return {
            "psnr": psnr(sr, hr, SCALE, test_y_channel=True),
            "ssim": ssim(sr, hr, SCALE, test_y_channel=True),
        }

    return scores


def _pyiqa_scores(rgb: Sequence[tuple[np.ndarray, np.ndarray]]) -> Callable[[], dict]:
    try:
        classes = pyiqa_psnr_ssim()
    except ImportError as exc:
        raise Skip(f"pyiqa's PSNR/SSIM modules do not import: {exc}") from exc
    if classes is None:
        raise Skip("pyiqa is not installed (pip install pyiqa==0.1.16 --no-deps)")
    import torch

    options = {"test_y_channel": True, "crop_border": SCALE, "color_space": "ycbcr"}
    psnr, ssim = (cls(**options) for cls in classes)
    feed = Feed(rgb)

    def tensor(x: np.ndarray) -> Any:  # torchvision's to_tensor, as pyiqa's imread2tensor
        return torch.from_numpy(x).permute(2, 0, 1).contiguous()[None].float().div(255)

    def scores() -> dict[str, float]:
        sr, hr = (tensor(x) for x in feed.next())
        with torch.inference_mode():
            return {"psnr": float(psnr(sr, hr)), "ssim": float(ssim(sr, hr))}

    return scores


# --- B100 end to end, separate processes -------------------------------------------------


def b100_rows(rounds: Rounds) -> list[Row]:
    """``srbench run`` on B100 x4 bicubic against the BasicSR way and the PNG-decode floor."""
    from tests.conftest import shared_data_dir

    folder = shared_data_dir() / "benchmark" / "B100"
    what = "B100 x4 bicubic end to end (separate processes)"
    run = f"srbench run -D B100 --methods bicubic --scale {SCALE}"
    basicsr = Row(
        "b100-basicsr", what, None, "reference", _label("basicsr", "BasicSR"), rounds.slow
    )
    basicsr.note = (
        f"{run} vs python -m benchmarks.basicsr_bicubic (cv2.imread, BasicSR's imresize down "
        "and up, calculate_psnr/ssim on Y)"
    )
    basicsr.tolerance = dict(B100_TOLERANCE)
    floor = Row("b100-floor", what, None, "floor", "PIL decode of the 100 PNGs", rounds.slow)
    floor.note = f"{run} vs a fresh interpreter decoding the same PNGs with PIL"
    if not folder.is_dir():
        reason = f"B100 not found at {folder} (set SRBENCH_SHARED_DATA)"
        return [basicsr.skip(reason), floor.skip(reason)]
    with tempfile.TemporaryDirectory(prefix="srbench-speed-") as tmp:
        runs = iter(Path(tmp, f"run{i}") for i in range(rounds.slow + 1))

        def ours() -> Path:
            results = next(runs)
            _spawn(
                [*SRBENCH, "run", "-D", str(folder), "--methods", "bicubic"]
                + ["--scale", str(SCALE), "--results", str(results)]
            )
            return results

        basicsr_command = [sys.executable, "-m", "benchmarks.basicsr_bicubic", str(folder)]
        candidates: dict[str, Callable[[], object]] = {
            "srbench": ours,
            "floor": lambda: _spawn([sys.executable, "-c", DECODE, str(folder)]),
            "basicsr": lambda: _spawn(basicsr_command),
        }
        # The values' check (untimed) also brings the PNGs into the page cache for every round.
        mine = _stored_scores(ours())
        try:
            _require_basicsr()
            theirs = json.loads(_spawn(basicsr_command))
            basicsr.max_diff = compare(*_by_image(mine, theirs), B100_TOLERANCE)
        except Skip as skip:
            basicsr.skip(str(skip))
            del candidates["basicsr"]
        except Mismatch as mismatch:
            basicsr.skip(str(mismatch), status="mismatch")
            del candidates["basicsr"]
        best = race(candidates, rounds.slow)  # each round: three interpreters, 5-25 s
    if "basicsr" in best:
        basicsr.timed(best["srbench"], best["basicsr"])
    return [basicsr, floor.timed(best["srbench"], best["floor"])]


def _require_basicsr() -> None:
    try:
        found = basicsr_imresize() is not None and basicsr_psnr_ssim() is not None
    except ImportError as exc:
        raise Skip(f"basicsr's modules do not import: {exc}") from exc
    if not found:
        raise Skip("basicsr is not installed (pip install basicsr==1.4.2 --no-deps)")


def _stored_scores(results: Path) -> dict[str, dict[str, float]]:
    """Per-image PSNR and SSIM of the run stored under ``results``."""
    from srbench.store import load_results

    frame = load_results(results)
    frame = frame[frame["metric"].isin(["psnr", "ssim"])]
    return {
        str(image): dict(zip(group["metric"], group["value"].astype(float), strict=True))
        for image, group in frame.groupby("image")
    }


def _by_image(
    ours: Mapping[str, Mapping[str, float]], theirs: Mapping[str, Sequence[float]]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Both runs' values as ``{"psnr": [...], "ssim": [...]}`` over the same images."""
    if set(ours) != set(theirs):
        raise Mismatch(f"the runs scored different images: {sorted(set(ours) ^ set(theirs))}")
    names = sorted(ours)
    mine = {m: [ours[n][m] for n in names] for m in ("psnr", "ssim")}
    other = {m: [theirs[n][i] for n in names] for i, m in enumerate(("psnr", "ssim"))}
    return mine, other


def _spawn(command: Sequence[str]) -> str:
    """Run ``command`` in a fresh interpreter that imports this checkout; its stdout."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": path},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited with {done.returncode}:\n{done.stderr[-2000:]}"
        )
    return done.stdout


# --- start-up ----------------------------------------------------------------------------


def startup_rows(rounds: Rounds) -> list[Row]:
    """Fresh interpreters: srbench's commands against importing numpy and PIL."""
    floor_command = [sys.executable, "-c", "import numpy, PIL.Image"]
    commands = {
        "srbench --version": [*SRBENCH, "--version"],
        "srbench ls methods": [*SRBENCH, "ls", "methods"],
        "import srbench.cli": [sys.executable, "-c", "import srbench.cli"],
    }
    candidates = {"floor": lambda: _spawn(floor_command)}
    for what, command in commands.items():
        candidates[what] = lambda command=command: _spawn(command)
    for run in candidates.values():  # once untimed: the files in the page cache for every round
        run()
    best = race(candidates, rounds.fast)
    rows = []
    for what, command in commands.items():
        row = Row(
            "startup-" + what.replace(" ", "-").replace("--", ""),
            f"start-up: `{what}`",
            None,
            "floor",
            '`python -c "import numpy, PIL.Image"`',
            rounds.fast,
            note=" ".join(Path(command[0]).name if i == 0 else c for i, c in enumerate(command)),
        )
        rows.append(row.timed(best[what], best["floor"]))
    return rows


# --- LPIPS -------------------------------------------------------------------------------


def lpips_rows(rounds: Rounds) -> list[Row]:
    """srbench's LPIPS-alex on CPU against the ``lpips`` package with the same weights."""
    what = "LPIPS-alex on CPU"
    try:
        ours, package = _lpips_models()
    except Skip as skip:
        return [
            Row(f"lpips-{w}x{h}-lpips", what, f"{w}x{h}", "reference", "lpips", 0).skip(str(skip))
            for w, h in LPIPS_SIZES
        ]
    rows = []
    for width, height in LPIPS_SIZES:
        sr, hr = photo_pair(width, height)
        reference = Reference(
            "lpips",
            _label("lpips"),
            lambda sr=sr, hr=hr: lambda: _lpips_package(package, sr, hr),
            LPIPS_TOLERANCE,
            "lpips.LPIPS(net='alex') holding srbench's network's state dict (a random "
            "backbone: no downloaded weights), called as its README does: lpips.im2tensor on "
            "each uint8 image (timed), then model(a, b)",
        )
        rows += checked_race(
            what,
            f"{width}x{height}",
            lambda sr=sr, hr=hr: {"lpips": ours(sr, hr)},
            [reference],
            rounds,
            "lpips",
        )
    return rows


def _lpips_models() -> tuple[Callable[[np.ndarray, np.ndarray], float], Any]:
    """srbench's LPIPS-alex scorer and an ``lpips.LPIPS`` with the same weights."""
    try:
        import lpips

        from srbench.metrics.perceptual import LpipsScorer, build_lpips
    except ImportError as exc:
        raise Skip(f"LPIPS needs torch and lpips (pip install 'srbench[torch]'): {exc}") from exc
    from srbench.errors import SrbenchError

    with warnings.catch_warnings(), contextlib.redirect_stdout(None):
        warnings.simplefilter("ignore")  # torchvision's deprecation warnings, lpips' prints
        try:
            model = build_lpips("alex", "cpu", random_backbone=True)
        except SrbenchError as exc:
            raise Skip(f"srbench's LPIPS cannot be built here: {exc}") from exc
        package = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True)
    package.load_state_dict(model.state_dict())
    return LpipsScorer(model, "alex"), package.eval()


def _lpips_package(model: Any, sr: np.ndarray, hr: np.ndarray) -> dict[str, float]:
    import lpips
    import torch

    a, b = lpips.im2tensor(sr), lpips.im2tensor(hr)
    with torch.inference_mode():
        return {"lpips": float(model(a, b))}


# --- the command -------------------------------------------------------------------------

#: Row groups in the table's order.
GROUPS: dict[str, Callable[[Rounds], list[Row]]] = {
    "scores": score_rows,
    "b100": b100_rows,
    "startup": startup_rows,
    "lpips": lpips_rows,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, write the JSON (and the README's table); 1 when values differed."""
    args = _parser().parse_args(argv)
    readme = args.readme_path
    if args.readme_only:
        _write_readme(readme, load(args.out))
        return 0
    chosen = set(args.only.split(",")) if args.only else set(GROUPS)
    if chosen - set(GROUPS):
        raise SystemExit(
            f"unknown group(s) {sorted(chosen - set(GROUPS))}; choose from {list(GROUPS)}"
        )
    groups = [g for g in GROUPS if g in chosen]
    from srbench.system.memory import keep_freed_memory

    keep_freed_memory()  # as the srbench command runs; process-wide, so for every candidate
    env = environment(REPO)
    env["threads"] = _threads()
    rounds = Rounds(args.rounds, args.slow_rounds or args.rounds)
    start = time.perf_counter()
    rows: list[Row] = []
    for group in groups:
        print(f"{group} ...", file=sys.stderr, flush=True)
        rows += GROUPS[group](rounds)
    env["seconds"] = round(time.perf_counter() - start, 1)
    if hasattr(os, "getloadavg"):  # other processes' share of the machine, at the end too
        env["load_average_end"] = list(os.getloadavg())
    doc = write(args.out, env, rows)
    print(render_table(doc))
    if args.readme:
        _write_readme(readme, doc)
    mismatched = [row.name for row in rows if row.status == "mismatch"]
    if mismatched:
        print(f"values differ beyond the tolerance: {', '.join(mismatched)}", file=sys.stderr)
    return 1 if mismatched else 0


def _threads() -> dict[str, Any]:
    """The thread settings the in-process rows ran under (torch's pool serves pyiqa, LPIPS)."""
    threads: dict[str, Any] = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}
    with contextlib.suppress(ImportError):
        import torch

        threads["torch"] = torch.get_num_threads()
    return threads


def _write_readme(path: Path, doc: Mapping[str, Any]) -> None:
    path.write_text(update_readme(path.read_text(), doc))
    print(f"updated the speed table in {path}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.speed", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--rounds", type=_positive, default=7, help="timed rounds per race (default 7)"
    )
    parser.add_argument(
        "--slow-rounds",
        type=_positive,
        help="rounds of races where one call takes over 2 s instead (B100 end to end, pyiqa "
        "at the larger sizes, LPIPS at 2040x1356): 3 saves about 2 minutes",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results JSON")
    parser.add_argument("--only", help=f"comma-separated groups of {', '.join(GROUPS)}")
    parser.add_argument("--readme", action="store_true", help="also rewrite the README table")
    parser.add_argument(
        "--readme-only", action="store_true", help="rewrite the README table from --out"
    )
    parser.add_argument("--readme-path", type=Path, default=REPO / "README.md")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


if __name__ == "__main__":
    sys.exit(main())
