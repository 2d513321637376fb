"""How far a run's per-image work spreads over the cores: ``python -m benchmarks.scaling [FOLDER]``.

``srbench run --methods bicubic --scale 4`` does, per image: decode the PNG, take its pixel
digest (the catalog identity check), degrade it (bicubic 1/4), upscale it (bicubic x4) and score
it (PSNR+SSIM on Y against a prepared HR reference). This times exactly that loop over FOLDER
(default: B100 under ``$SRBENCH_SHARED_DATA``) three ways, interleaved, minimum of ``--rounds``:

- ``serial``: one thread;
- ``threads``: a pool of N threads (N: the CPUs this process may use), as ``srbench run``'s
  ``--workers`` pool calls the interpolators and scores;
- ``processes``: N forked worker processes (libraries loaded before the fork), which no GIL
  limits.

``threads`` near ``processes`` says the loop is limited by the cores (memory, shared caches), not
by the GIL, so a process pool would not make a run faster; ``threads`` well above ``processes``
says it would. Every way must give the serial loop's values (checked; exit status 1 otherwise).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from srbench.catalog.schema import pixel_digest
from srbench.imageio import list_images, modcrop, read_image, to_rgb
from srbench.metrics import score_pair
from srbench.metrics.protocols import get_protocol
from srbench.resize import imresize
from srbench.system.cpus import available_cpus
from srbench.system.memory import keep_freed_memory

SCALE = 4
_PROTOCOL = get_protocol("y")


def image_work(path: Path) -> dict[str, float]:
    """One image of ``srbench run --methods bicubic --scale 4``: its PSNR and SSIM."""
    hr = read_image(path)
    pixel_digest(hr)
    lr = imresize(modcrop(to_rgb(hr), SCALE), 1 / SCALE)
    sr = imresize(lr, SCALE)
    return score_pair(sr, _PROTOCOL.reference(hr, SCALE), SCALE, _PROTOCOL)


def pools(workers: int) -> dict[str, Callable[[], Executor]]:
    """The ways of running the loop, each a factory of a fresh executor."""
    fork = multiprocessing.get_context("fork")
    return {
        "serial": lambda: ThreadPoolExecutor(1),
        "threads": lambda: ThreadPoolExecutor(workers),
        "processes": lambda: ProcessPoolExecutor(workers, mp_context=fork),
    }


def measure(paths: Sequence[Path], workers: int, rounds: int) -> dict[str, float]:
    """Minimum seconds of each way over ``rounds`` interleaved rounds (a pool's start-up
    included, as a run's would be).

    Raises:
        ValueError: A way gave values other than the serial loop's.
    """
    expected = [image_work(p) for p in paths]  # also loads every library before any fork
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, make in pools(workers).items():
            start = time.perf_counter()
            with make() as pool:
                values = list(pool.map(image_work, paths))
            elapsed = time.perf_counter() - start
            if values != expected:
                raise ValueError(f"{name} gave other values than the serial loop")
            best[name] = min(best.get(name, elapsed), elapsed)
    return best


def report(best: dict[str, float], workers: int) -> str:
    """One line per way: seconds and speed-up over ``serial``."""
    serial = best["serial"]
    lines = [f"{workers} workers (speed-up over serial; ideal {workers:.2f}x)"]
    lines += [f"{name:10s} {sec:7.3f} s  {serial / sec:5.2f}x" for name, sec in best.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("SRBENCH_SHARED_DATA", "."), "benchmark", "B100")
    parser.add_argument("folder", nargs="?", type=Path, default=default)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=available_cpus())
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"no folder {args.folder} (give one, or set SRBENCH_SHARED_DATA)", file=sys.stderr)
        return 2
    keep_freed_memory()  # as the srbench command does
    try:
        best = measure(list_images(args.folder), args.workers, args.rounds)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(report(best, args.workers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
