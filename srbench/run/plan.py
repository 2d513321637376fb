"""The plan of a run: its configuration checked and expanded into methods, degradations,
metrics (with their models loaded once), the protocol, the device and the datasets, before any
image is touched. Unknown names and bad specs fail here, as usage errors.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srbench.catalog.identity import SeenPixels, identity_datasets
from srbench.catalog.resolve import (
    Dataset,
    catalog_spec,
    expand_datasets,
    resolve_dataset,
    unavailable_message,
)
from srbench.catalog.schema import DatasetSpec
from srbench.degradations import ParsedSpec, parse_spec
from srbench.errors import (
    DownloadError,
    LicenceError,
    MissingWeightsError,
    RunError,
    SpecError,
    SrbenchError,
    VerificationError,
)
from srbench.methods import METHODS, SRMethod, create_method, prepare_method
from srbench.methods import load_method_file as _load_method_file
from srbench.metrics import METRICS, Protocol, get_protocol
from srbench.metrics.distribution import PatchSpec, SetMetricSpec, parse_set_metric
from srbench.run.config import RunConfig, check_scales
from srbench.run.setlevel import Features
from srbench.specs import split_spec
from srbench.system.cpus import available_cpus
from srbench.system.device import describe_device, resolve_device
from srbench.system.extras import MissingDependencyError
from srbench.system.provenance import git_state, library_versions, now

__all__ = [
    "Log",
    "Plan",
    "absolute_paths",
    "expand_methods",
    "hr_features",
    "images_ahead",
    "make_plan",
    "manifest",
    "patch_key",
    "patch_specs",
    "resolve_datasets",
]

RUNTIME = "runtime"
Log = Callable[[str], None]


@dataclass
class Plan:
    """A run's configuration resolved into the objects that execute it."""

    config: RunConfig
    methods: dict[str, SRMethod]
    degradations: list[ParsedSpec]
    metrics: list[str]
    protocol: Protocol
    device: str
    scorers: dict[str, Any] = field(default_factory=dict)
    set_metrics: list[SetMetricSpec] = field(default_factory=list)
    features: Features | None = None
    skipped_metrics: dict[str, str] = field(default_factory=dict)
    datasets: list[Dataset] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    #: The pixels of images read by the run, for the datasets whose identity the manifest
    #: records (:func:`srbench.catalog.identity.record_catalog_identities`).
    seen: SeenPixels = field(default_factory=lambda: SeenPixels(()))


def absolute_paths(config: RunConfig) -> RunConfig:
    """Folders and method files as absolute paths, so ``--resume`` works from any directory."""
    files = []
    for target in config.method_files:
        path, sep, name = target.rpartition(":")
        files.append(f"{Path(path).expanduser().resolve()}{sep}{name}" if sep else target)
    datasets = [
        str(Path(t).expanduser().resolve()) if (os.sep in t or t.startswith(".")) else t
        for t in config.datasets
    ]
    return config.model_copy(update={"method_files": tuple(files), "datasets": tuple(datasets)})


def make_plan(config: RunConfig, log: Log = lambda _: None) -> Plan:
    """Check ``config`` and build what executes it, before any image is read.

    Raises:
        SrbenchError: A usage error: unknown names, bad specs, a scale below 2, a method named
            explicitly that supports none of the scales, conflicting tile settings.
    """
    for target in config.method_files:
        _load_method_file(target)
    why = check_scales(tuple(config.scales))
    if why:
        raise RunError(f"--scale: {why}.")
    if config.tile and config.tile <= 2 * config.tile_overlap:
        raise RunError(f"--tile {config.tile} must exceed twice --tile-overlap.")
    degradations = [parse_spec(s) for s in config.degradations]
    for spec in degradations:
        for scale in config.scales:
            spec.canonical(scale)  # scale-dependent parameters fail here, before any work
    metrics, set_metrics = parse_metrics(config.metrics)
    protocol = get_protocol(config.protocol, config.shave)
    not_runnable: list[str] = []
    specs = expand_methods(config.methods, not_runnable)
    for line in not_runnable:
        log(f"warning: {line}")
    # torch is imported (seconds) only when a method or a metric can use an accelerator
    classes = [METHODS.get(split_spec(spec, "method")[0]) for spec in specs]
    models = [METRICS.get(m) for m in [*metrics, *(s.metric for s in set_metrics)]]
    accelerated = any(c.card.uses_device for c in classes) or any(i.load for i in models)
    device = resolve_device(config.device) if accelerated else "cpu"
    methods: dict[str, SRMethod] = {}
    named = {s.strip() for s in config.methods if s.strip().lower() != "all"}
    for spec in specs:
        label, method = create_method(spec, device)
        if label in methods:
            raise RunError(f"two methods are labelled {label!r}; give one a label=... option.")
        if spec in named and not any(method.card.supports(s) for s in config.scales):
            raise RunError(_no_scale_message(spec, method, config.scales))
        prepare_method(method, config.scales, label)  # per-scale weights: once, before any work
        methods[label] = method
    if config.workers <= 0:
        config = config.model_copy(update={"workers": min(4, available_cpus())})
    plan = Plan(config, methods, degradations, metrics, protocol, device, set_metrics=set_metrics)
    plan.skipped += not_runnable
    load_metrics(plan, log)
    return plan


def _no_scale_message(spec: str, method: SRMethod, scales: Sequence[int]) -> str:
    """Why ``method`` (named explicitly) cannot run at any of ``scales``, and what to do."""
    has = method.card.scales or ()
    asked = ", ".join(f"x{s}" for s in scales)
    listed = ", ".join(f"x{s}" for s in has) or "none"
    network = type(method).card.scales
    if network is not None and tuple(network) != tuple(has):  # limited by its weights
        tag = getattr(method, "tag", None)
        source = "its weights file" if "weights=" in spec else f"its weights (tag {tag!r})"
        lines = [
            f"method {spec} cannot run at {asked}: {source} have {listed} "
            f"({type(method).card.name} itself supports {', '.join(f'x{s}' for s in network)}).",
            f"Fix: --scale {','.join(map(str, has))}",
        ]
        missing = [s for s in scales if s in network]
        if tag and missing and "weights=" not in spec:
            lines[-1] += _more_weights(method, missing[0], tag)
        return "\n".join(lines) + "."
    return (
        f"method {spec} supports {listed}, none of the requested {asked}.\n"
        f"Fix: --scale {','.join(map(str, has))}, or leave {spec} out of --methods."
    )


def _more_weights(method: SRMethod, scale: int, tag: str) -> str:
    """How ``method`` gets weights for ``scale`` under ``tag``: the authors' file to fetch for
    a public checkpoint family, else a training."""
    from srbench.methods.zoo import ZooMethod

    if isinstance(method, ZooMethod):
        name = method.family.releases[tag].files.get(scale)
        if name is None:
            return f" (tag {tag} has no x{scale} release)"
        return f", or fetch the x{scale} file: srbench weights --fetch {name}"
    return (
        f", or make x{scale} weights: srbench train {type(method).card.name} "
        f"--scale {scale} --data DATA --tag {tag}"
    )


#: Bytes of decoded images (HR, LR, each method's SR, all uint8) the runner should hold at once;
#: only images above about 40 megapixels with four methods come near it (:func:`images_ahead`).
IMAGE_MEMORY = 2**30


def images_ahead(plan: Plan) -> int:
    """How many images the runner may read and degrade ahead of the method: ``workers + 1``,
    fewer when the largest image is so large that the images in flight (each held with its LR
    and every method's SR until scored) would exceed :data:`IMAGE_MEMORY`; at least 1.

    ``srbench.run.pipeline`` holds up to ``2 * ahead + 1`` HR images and ``ahead + 1`` images'
    SR outputs: with ``workers + 1`` that is 0.2 GB for DIV2K-sized images and four methods,
    but about 4 GB for 6000x6000 images with four workers; this bound keeps it near 1 GB.
    """
    largest = max((d.pixels(i) for d in plan.datasets for i in d.image_ids), default=0)
    per_image = 3 * largest * (2 + len(plan.methods))
    return max(1, min(plan.config.workers + 1, IMAGE_MEMORY // max(per_image, 1)))


def parse_metrics(specs: Sequence[str]) -> tuple[list[str], list[SetMetricSpec]]:
    """Image-level metric names and parsed set-level specs (``fid:patch=128``)."""
    image: list[str] = []
    sets: list[SetMetricSpec] = []
    for spec in specs:
        name, params = split_spec(spec, "metric")
        info = METRICS.get(name)
        if info.level == "set":
            sets.append(parse_set_metric(f"{info.name}:{spec.partition(':')[2]}"))
        elif params:
            raise SpecError(f"metric {spec!r}: {info.name} takes no parameters.")
        elif info.name != RUNTIME:
            image.append(info.name)
    protocols = [(s.metric, s.protocol(0)) for s in sets]
    if len(set(protocols)) != len(protocols):
        raise RunError(f"a set-level metric is asked for twice: {list(specs)}.")
    return list(dict.fromkeys(image)), sets


def load_metrics(plan: Plan, log: Log) -> None:
    """Build the models metrics need, once. A metric whose weights or packages are missing is
    skipped with one warning (recorded in the manifest); everything else still runs."""
    for name in [*plan.metrics, *dict.fromkeys(s.metric for s in plan.set_metrics)]:
        info = METRICS.get(name)
        if info.load is None:
            continue
        try:
            if info.level == "set":
                if plan.features is None:
                    plan.features = Features(info.load(plan.device))
            else:
                plan.scorers[name] = info.load(plan.device)
        except (MissingWeightsError, MissingDependencyError) as exc:
            plan.skipped_metrics[name] = str(exc)
            plan.skipped.append(f"skipped metric {name}: {str(exc).splitlines()[0]}")
            log(f"warning: skipping metric {name}: {exc}")
    plan.metrics = [m for m in plan.metrics if m not in plan.skipped_metrics]
    plan.set_metrics = [s for s in plan.set_metrics if s.metric not in plan.skipped_metrics]


#: Methods ``all`` never includes: they need an option naming their input (``dir=``,
#: ``weights=``).
NOT_IN_ALL = ("precomputed", "model")


def expand_methods(specs: Sequence[str], skipped: list[str] | None = None) -> list[str]:
    """Method specs with ``all`` expanded: every registered method that can run here (but
    :data:`NOT_IN_ALL`), and every tag of a public checkpoint family whose files are in the
    torch hub cache (``swinir:tag=lightweight``; the default tag as the plain name). The methods
    and tags left out for want of weights add ONE line to ``skipped``. A method named explicitly
    is kept, so its own error says what is missing."""
    from srbench.methods.zoo import ZooMethod, present_tags

    out: list[str] = []
    left_out = 0
    for spec in specs:
        if spec.strip().lower() != "all":
            out.append(spec.strip())
            continue
        for name, cls in METHODS.items():
            if name in NOT_IN_ALL:
                continue
            if issubclass(cls, ZooMethod):
                present = present_tags(cls.family)
                left_out += len(cls.family.releases) - len(present)
                out += [name if t == cls.family.default_tag else f"{name}:tag={t}" for t in present]
            elif cls.unavailable() is None:
                out.append(name)
            else:
                left_out += 1
    if left_out and skipped is not None:
        skipped.append(
            f"{left_out} methods/tags left out for missing weights (`srbench weights` lists them; "
            "`srbench weights --fetch NAME` gets one)"
        )
    return list(dict.fromkeys(out))


def resolve_datasets(plan: Plan, progress: bool, log: Log) -> None:
    """Resolve (and fetch) every dataset of the run, before any image is processed.

    Every name is checked first; then every catalog set is installed, and the sets that cannot
    be (offline, download failed, licence not accepted) are collected, so that one error lists
    them all with the ways forward. A set under a licence agreement that ``all`` brought in is
    skipped with a note instead, when every other set is ready.

    Raises:
        UnknownNameError: A name that is neither a catalog set, ``sample`` nor a folder.
        SrbenchError: Some sets are missing (each named, with why and what to do).
    """
    tokens = expand_datasets(plan.config.datasets)
    implicit = set(expand_datasets([t for t in plan.config.datasets if t.lower() == "all"]))
    specs = {token: catalog_spec(token) for token in tokens}  # unknown names fail before fetching
    missing: list[tuple[DatasetSpec, SrbenchError]] = []
    skipped: list[tuple[DatasetSpec, SrbenchError]] = []
    for token in tokens:
        try:
            plan.datasets.append(
                resolve_dataset(token, accept_licence=plan.config.accept_licence, progress=progress)
            )
        except (LicenceError, DownloadError, VerificationError) as exc:
            spec = specs[token]
            if spec is None:  # not a catalog set: nothing to summarise
                raise
            if isinstance(exc, LicenceError) and token in implicit:
                skipped.append((spec, exc))
            else:
                missing.append((spec, exc))
    if missing:
        kinds = {type(exc) for _, exc in missing}
        kind = kinds.pop() if len(kinds) == 1 else DownloadError
        raise kind(unavailable_message(missing, skipped, [d.name for d in plan.datasets]))
    for spec, exc in skipped:
        note = f"skipped dataset {spec.id}: {str(exc).splitlines()[0]}"
        plan.skipped.append(note)
        log(note)
    if not plan.datasets:
        raise RunError("no dataset to run on; name one with --datasets.")
    checked = identity_datasets(plan.datasets, plan.methods.values())
    plan.seen = SeenPixels(d.name for d in checked)


def manifest(plan: Plan, run_id: str | None) -> dict[str, Any]:
    """The run's manifest as it starts: settings, library versions (torch, torchvision, lpips,
    pytorch-fid, piq included, read without importing them), source, device, datasets, and
    every weights file used with its SHA-256: the methods' (``methods.<label>.x<s>``) and the
    metrics' (``metrics.<name>.weights``, beside each metric's version), and each method's
    published values (``methods.<label>.published``: its card's rows, what ``leaderboard
    --paper`` compares with)."""
    models: dict[str, Any] = dict(plan.scorers)
    if plan.features is not None:
        models.update(dict.fromkeys((s.metric for s in plan.set_metrics), plan.features.extractor))
    metric_names = [*plan.metrics, *dict.fromkeys(s.metric for s in plan.set_metrics)]
    return {
        "schema_version": 1,
        "run_id": run_id,
        "status": "running",
        "config": plan.config.model_dump(),
        "versions": library_versions(),
        "git": git_state(),
        "device": describe_device(plan.device),
        "started": now(),
        "ended": None,
        "metrics": {
            name: {
                "version": METRICS.get(name).version,
                "weights": dict(getattr(models.get(name), "weights", None) or {}),
            }
            for name in metric_names
        },
        "metrics_skipped": plan.skipped_metrics,
        "datasets": [d.record() for d in plan.datasets],
        "methods": {
            label: {
                "name": m.card.name,
                "version": m.card.version,
                "params": m.card.params,
                "published": [dataclasses.asdict(p) for p in m.card.published],
                **m.provenance(),
            }
            for label, m in plan.methods.items()
        },
    }


def patch_specs(plan: Plan) -> list[PatchSpec]:
    return list(dict.fromkeys(s.patches for s in plan.set_metrics))


def patch_key(plan: Plan, dataset: str, image_id: str, scale: int) -> tuple[Any, ...]:
    """What random patch positions are drawn from: the same for HR and every method."""
    return (plan.config.seed, dataset, image_id, scale)


def hr_features(plan: Plan, dataset: Dataset, image_id: str, scale: int, patch: PatchSpec) -> Path:
    assert plan.features is not None
    return plan.features.hr_file(
        dataset.name,
        dataset.version,
        image_id,
        scale,
        plan.protocol.shave_for(scale),
        patch,
        plan.config.seed,
    )
