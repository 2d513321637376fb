"""The public checkpoint families declared in srbench (HAT, DAT, Real-ESRGAN, SPAN, Omni-SR):
their declarations are consistent with each other, with srbench.weights and with spandrel."""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from srbench.methods import METHODS, create_method
from srbench.methods.families import dat, hat, omnisr, realesrgan, span
from srbench.methods.families.releases import by_scale, released_file
from srbench.methods.zoo import ZooFamily, ZooMethod
from srbench.weights import WEIGHTS
from srbench.weights.files import fetch, verify
from srbench.weights.tags import check_tag

from .conftest import run_cli
from .httpserver import http_server_fixture, srbench_cache_fixture  # noqa: F401

# the zoo's fixtures: a private torch hub cache (autouse), `install` and the LR image `lr`
from .test_zoo import assert_same_output, install, lr, torch_home  # noqa: F401

FAMILIES: dict[str, ZooFamily] = {
    m.FAMILY.name: m.FAMILY for m in (hat, dat, realesrgan, span, omnisr)
}
RELEASES = [(f, t, r) for f in FAMILIES.values() for t, r in f.releases.items()]
RELEASE_IDS = [f"{f.name}:{t}" for f, t, _ in RELEASES]


@pytest.mark.parametrize(("family", "tag", "release"), RELEASES, ids=RELEASE_IDS)
def test_every_release_file_is_declared_once_with_an_https_url(family, tag, release):
    check_tag(tag, "tag")  # written hat:tag=TAG
    assert release.files, "a release has at least one file"
    for scale, name in release.files.items():
        weight = WEIGHTS.get(name)
        assert weight.url.startswith("https://"), weight.url
        assert weight.used_by == f"method {family.name} (tag {tag}) x{scale}"
        assert weight.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", weight.sha256)
        assert re.fullmatch(r"([0-9a-f]{8,})?", weight.sha256_prefix)


@pytest.mark.parametrize(("family", "tag", "release"), RELEASES, ids=RELEASE_IDS)
def test_a_release_says_what_it_lacks(family, tag, release):
    weights = [WEIGHTS.get(n) for n in release.files.values()]
    if not any(w.sha256 or w.sha256_prefix for w in weights):
        assert "no hash" in release.note.lower(), "say explicitly that no hash is published"
    if not release.published:  # why there are no values: a real-world model, or unverified
        assert re.search(r"no bicubic-protocol table|not verified", release.note), release.note


@pytest.mark.parametrize(("family", "tag", "release"), RELEASES, ids=RELEASE_IDS)
def test_published_rows_are_plausible_unique_and_of_released_scales(family, tag, release):
    keys = Counter((p.dataset, p.scale) for p in release.published)
    assert all(n == 1 for n in keys.values()), keys
    for row in release.published:
        assert row.scale in release.files, f"{row} is for a scale {tag} does not release"
        assert row.source.startswith(family.paper.partition(" et al.")[0]), row.source
        # the bicubic protocol's range at x2..x4 on these test sets
        assert 25.0 < row.psnr < 41.0 and (row.ssim is None or 0.7 < row.ssim < 0.99)


def test_higher_scales_score_lower():
    # a transcription slip (a row under the wrong scale) breaks this ordering
    for family, tag, release in RELEASES:
        rows = {(p.dataset, p.scale): p.psnr for p in release.published}
        for (dataset, scale), psnr in rows.items():
            if (dataset, scale + 1) in rows:
                assert rows[dataset, scale + 1] < psnr, (family.name, tag, dataset)


def test_families_declare_only_files_their_releases_use():
    used = {n for _, _, r in RELEASES for n in r.files.values()}
    mine = {
        n
        for n, w in WEIGHTS.items()
        if any(w.used_by.startswith(f"method {f} (tag ") for f in FAMILIES)
    }
    assert mine == used


def test_default_tags_and_scales():
    assert {f.name: f.default_tag for f in FAMILIES.values()} == {
        "hat": "hat",
        "dat": "dat",
        "realesrgan": "x4plus",
        "span": "ch48",
        "omnisr": "df2k",
    }
    assert FAMILIES["realesrgan"].scales == (2, 4)
    assert FAMILIES["span"].scales == (2, 4)
    assert all(FAMILIES[n].scales == (2, 3, 4) for n in ("hat", "dat", "omnisr"))


def test_the_real_esrgan_urls_are_the_authors_releases():
    urls = {
        t: WEIGHTS.get(n).url
        for t, r in FAMILIES["realesrgan"].releases.items()
        for n in r.files.values()
    }
    base = "https://github.com/xinntao/Real-ESRGAN/releases/download/"
    assert urls == {
        "x4plus": base + "v0.1.0/RealESRGAN_x4plus.pth",
        "x2plus": base + "v0.2.1/RealESRGAN_x2plus.pth",
        "anime": base + "v0.2.2.4/RealESRGAN_x4plus_anime_6B.pth",
    }


def test_spandrel_knows_every_family_architecture():
    spandrel = pytest.importorskip("spandrel")
    for family in FAMILIES.values():
        assert spandrel.MAIN_REGISTRY.get(family.spandrel) is not None, family.spandrel


def test_release_helpers_refuse_bad_input():
    with pytest.raises(ValueError, match="https"):
        released_file("x", "x.pth", "http://example.org/x.pth", "m (tag t) x4")
    with pytest.raises(ValueError, match="one value per"):
        by_scale("T", {4: [(30.0, 0.9)] * 4})


def test_every_family_is_a_registered_zoo_method():
    for name, family in FAMILIES.items():
        cls = METHODS.get(name)
        assert issubclass(cls, ZooMethod) and cls.family is family
        assert cls.card.scales == family.scales and cls.card.paper == family.paper


# --------------------------------------------------------------------------------------------
# Loading: a randomly initialised network of each tag's real hyper-parameters (the authors'
# option files), saved in the authors' layout under the declared name, runs through srbench
# like the network itself.

#: HAT's test options (options/test/*.yml); HAT-S: 144 channels, compress/squeeze 24.
HAT_BASE = {
    "img_size": 64,
    "window_size": 16,
    "compress_ratio": 3,
    "squeeze_factor": 30,
    "conv_scale": 0.01,
    "overlap_ratio": 0.5,
    "img_range": 1.0,
    "depths": [6] * 6,
    "embed_dim": 180,
    "num_heads": [6] * 6,
    "mlp_ratio": 2,
    "upsampler": "pixelshuffle",
    "resi_connection": "1conv",
}
HAT_VARIANTS = {
    "hat": HAT_BASE,
    "hat-s": {**HAT_BASE, "embed_dim": 144, "compress_ratio": 24, "squeeze_factor": 24},
    "hat-l": {**HAT_BASE, "depths": [6] * 12, "num_heads": [6] * 12},
}
#: DAT's test options (options/Test/test_DAT*_x*.yml).
DAT_BASE = {
    "img_size": 64,
    "img_range": 1.0,
    "split_size": [8, 32],
    "depth": [6] * 6,
    "embed_dim": 180,
    "num_heads": [6] * 6,
    "expansion_factor": 4,
    "resi_connection": "1conv",
}
DAT_VARIANTS = {
    "dat": DAT_BASE,
    "dat-s": {**DAT_BASE, "split_size": [8, 16], "expansion_factor": 2},
    "dat-2": {**DAT_BASE, "expansion_factor": 2},
    "dat-light": {
        **DAT_BASE,
        "depth": [18],
        "embed_dim": 60,
        "num_heads": [6],
        "expansion_factor": 2,
        "resi_connection": "3conv",
        "upsampler": "pixelshuffledirect",
    },
}


def _random(build: Callable[[], torch.nn.Module], seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build().eval()


def _runs_like_the_network(
    put: Callable[..., Path], spec: str, name: str, payload: object, net, image, scale: int
) -> None:
    """``payload`` installed as weights ``name``; ``spec`` loads it, spandrel finds the family's
    architecture at ``scale``, and the output is the network's own."""
    put(name, payload)
    _, method = create_method(spec)
    assert_same_output(method.upscale(image, scale), net, image)
    assert method.card.params == sum(p.numel() for p in net.parameters())


@pytest.mark.slow
def test_hat_tags_load_as_their_variants(install, lr):  # noqa: F811 (test_zoo's fixtures)
    from spandrel.architectures.HAT import HAT

    # hat-imagenet and real-gan* are HAT's own settings under other files
    for tag, scale in (("hat", 2), ("hat-s", 3), ("hat-l", 4), ("real-gan", 4)):
        variant = HAT_VARIANTS.get(tag, HAT_BASE)
        net = _random(lambda v=variant, s=scale: HAT(upscale=s, in_chans=3, **v), scale)
        name = hat.FAMILY.releases[tag].files[scale]
        spec = f"hat:tag={tag}"
        _runs_like_the_network(
            install, spec, name, {"params_ema": net.state_dict()}, net, lr, scale
        )


@pytest.mark.slow
def test_dat_tags_load_as_their_variants(install, lr):  # noqa: F811 (test_zoo's fixtures)
    from spandrel.architectures.DAT import DAT

    for (tag, variant), scale in zip(DAT_VARIANTS.items(), (2, 3, 4, 2), strict=True):
        net = _random(lambda v=variant, s=scale: DAT(upscale=s, in_chans=3, **v), scale)
        name = dat.FAMILY.releases[tag].files[scale]
        # no EMA in DAT's training options: the files hold `params`
        _runs_like_the_network(
            install, f"dat:tag={tag}", name, {"params": net.state_dict()}, net, lr, scale
        )


def _basicsr_rrdb(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """spandrel's RRDBNet keys (ESRGAN's first layout) in BasicSR's, Real-ESRGAN's layout."""
    trunk = max(int(k.split(".")[3]) for k in state if k.startswith("model.1.sub."))
    tail = sorted({int(k.split(".")[1]) for k in state if k.split(".")[1] not in ("0", "1")})
    names = dict(zip(tail, ("conv_up1", "conv_up2", "conv_hr", "conv_last"), strict=True))
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[1] == "0":
            new = f"conv_first.{parts[2]}"
        elif parts[1] == "1" and int(parts[3]) == trunk:
            new = f"conv_body.{parts[4]}"
        elif parts[1] == "1":  # model.1.sub.<b>.RDB<k>.conv<j>.0.<w|b>
            new = f"body.{parts[3]}.rdb{parts[4][3:]}.{parts[5]}.{parts[7]}"
        else:
            new = f"{names[int(parts[1])]}.{parts[2]}"
        out[new] = value
    return out


@pytest.mark.slow
def test_real_esrgan_tags_load_from_params_ema_in_basicsr_layout(install, lr):  # noqa: F811 (test_zoo's fixtures)
    from spandrel.architectures.ESRGAN import ESRGAN

    # tag: (RRDBs, scale, pixel-unshuffle factor): inference_realesrgan.py's settings
    for tag, (blocks, scale, shuffle) in {
        "x4plus": (23, 4, None),
        "x2plus": (23, 2, 2),
        "anime": (6, 4, None),
    }.items():
        net = _random(
            lambda b=blocks, s=scale, f=shuffle: ESRGAN(
                in_nc=3 * (f or 1) ** 2,  # the first conv sees the unshuffled input
                out_nc=3,
                num_filters=64,
                num_blocks=b,
                scale=s * (f or 1),
                shuffle_factor=f,
            ),
            scale,
        )
        payload = {"params_ema": _basicsr_rrdb(net.state_dict())}
        assert "body.0.rdb1.conv1.weight" in payload["params_ema"]
        name = realesrgan.FAMILY.releases[tag].files[scale]
        _runs_like_the_network(install, f"realesrgan:tag={tag}", name, payload, net, lr, scale)


def test_span_tags_load_as_their_widths(install, lr):  # noqa: F811 (test_zoo's fixtures)
    from spandrel.architectures.SPAN import SPAN

    for tag, channels, scale in (("ch48", 48, 4), ("ch52", 52, 2)):
        net = _random(
            lambda c=channels, s=scale: SPAN(
                num_in_ch=3, num_out_ch=3, feature_channels=c, upscale=s
            ),
            scale,
        )
        name = span.FAMILY.releases[tag].files[scale]
        _runs_like_the_network(
            install, f"span:tag={tag}", name, {"params": net.state_dict()}, net, lr, scale
        )


def test_omnisr_tags_load_as_plain_state_dicts(install, lr):  # noqa: F811 (test_zoo's fixtures)
    from spandrel.architectures.OmniSR import OmniSR

    # train_yamls/train_OmniSR_X<s>_<data>.yaml: 64 channels, 5 OSAGs of 1 block, window 8
    for tag, scale in (("df2k", 4), ("div2k", 3)):
        net = _random(
            lambda s=scale: OmniSR(
                num_in_ch=3,
                num_out_ch=3,
                num_feat=64,
                block_num=1,
                pe=True,
                window_size=8,
                res_num=5,
                up_scale=s,
                bias=True,
            ),
            scale,
        )
        name = omnisr.FAMILY.releases[tag].files[scale]
        # the authors' tester loads torch.load(path) as the state dict itself
        _runs_like_the_network(install, f"omnisr:tag={tag}", name, net.state_dict(), net, lr, scale)


def test_span_files_are_taken_out_of_the_authors_archive(http_server, srbench_cache, lr):  # noqa: F811
    from spandrel.architectures.SPAN import SPAN

    # the archive as its users describe it: the checkpoints among other files, in a folder
    net = _random(lambda: SPAN(num_in_ch=3, num_out_ch=3, feature_channels=48, upscale=4), 4)
    weights = io.BytesIO()
    torch.save({"params": net.state_dict()}, weights)
    with zipfile.ZipFile(http_server.root / "span.zip", "w") as zf:
        zf.writestr("SPAN/spanx4_ch48.pth", weights.getvalue())
        zf.writestr("SPAN/results/readme.txt", "not a checkpoint")
    name = span.FAMILY.releases["ch48"].files[4]
    declared = WEIGHTS.get(name)
    assert declared.archive_member == declared.filename == "spanx4_ch48.pth"
    WEIGHTS.remove(name)
    WEIGHTS.add(name, dataclasses.replace(declared, url=http_server.url("span.zip")))
    try:
        fetch(name, progress=False)
        assert verify(name).detail.startswith("no published hash; sha256")  # pinned
        _, method = create_method("span")
        assert_same_output(method.upscale(lr, 4), net, lr)
    finally:
        WEIGHTS.remove(name)
        WEIGHTS.add(name, declared)


@pytest.mark.parametrize("family", [hat, dat, omnisr])
def test_files_behind_a_share_page_are_never_fetched_only_explained(family, http_server):  # noqa: F811
    from srbench.errors import MissingWeightsError
    from srbench.weights.files import path_of

    name = family.FAMILY.releases[family.FAMILY.default_tag].files[4]
    declared = WEIGHTS.get(name)
    assert declared.by_hand  # a Drive folder or a zip of unknown layout: a page, not the file
    (http_server.root / "folder").write_text("<html>a share page</html>")
    WEIGHTS.remove(name)
    WEIGHTS.add(name, dataclasses.replace(declared, url=http_server.url("folder")))
    try:
        with pytest.raises(MissingWeightsError, match="cannot be downloaded by srbench") as err:
            fetch(name, progress=False)
        assert declared.filename in str(err.value) and "--verify" in str(err.value)
        assert http_server.hits == [] and not path_of(name).exists()
        listing = run_cli("weights", name, "--fetch", "--no-progress", expect=1)
        assert "[download by hand]" in listing.stdout
        assert f"failed: {name}: {name} cannot be downloaded" in listing.stderr
    finally:
        WEIGHTS.remove(name)
        WEIGHTS.add(name, declared)


def test_two_share_links_with_one_path_are_two_archives(http_server, srbench_cache, tmp_path):  # noqa: F811
    from srbench.hub.downloads import download_member

    for folder, payload in (("a", b"first"), ("b", b"second")):
        (http_server.root / folder).mkdir()
        with zipfile.ZipFile(http_server.root / folder / "uc", "w") as zf:
            zf.writestr("w.pth", payload)
    got = [
        download_member(http_server.url(f"{f}/uc"), "w.pth", tmp_path / f"{f}.pth", False)
        for f in ("a", "b")
    ]
    assert [p.read_bytes() for p in got] == [b"first", b"second"]
