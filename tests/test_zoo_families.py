"""The public checkpoint families declared in srbench (HAT, DAT, Real-ESRGAN, SPAN, Omni-SR):
their declarations are consistent with each other, with srbench.weights and with spandrel."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from srbench.methods.families import dat, hat, omnisr, realesrgan, span
from srbench.methods.families.releases import by_scale, released_file
from srbench.methods.zoo import ZooFamily
from srbench.weights import WEIGHTS
from srbench.weights.tags import check_tag

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
