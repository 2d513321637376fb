"""Figures from results (srbench.report.plots) and the images behind visual comparisons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Rectangle
from PIL import Image

from srbench.catalog.sample import sample_images
from srbench.errors import RunError, SizeMismatchError, SrbenchError
from srbench.imageio import modcrop, read_image, to_rgb, write_png
from srbench.leaderboard import MixedResultsError, leaderboards
from srbench.report import plots
from srbench.report.drawing import axis_label
from srbench.report.visuals import sr_images
from srbench.run.pipeline import RunConfig, run

METHODS = ("m1", "m2", "m3")  # best first on every table
OFFSETS = np.array([0.0, 0.5, -0.3, 1.2, -0.8, 0.4])  # per image
BASE = {"m1": 30.0, "m2": 29.0, "m3": 27.5}
SIGMAS = (10.0, 20.0, 30.0)


def _table(dataset, scale, degradation, drop=()):
    """psnr and ssim rows of one table; ``drop`` lists (method, image index) cells not scored."""
    sigma = float(degradation.partition("=")[2] or 0)
    rows = []
    for method in METHODS:
        for i, offset in enumerate(OFFSETS):
            if (method, i) in drop:
                continue
            psnr = BASE[method] + offset - sigma / (10 if method == "m1" else 8) + scale / 10
            for metric, value in (("psnr", psnr), ("ssim", psnr / 40)):
                rows.append(
                    {
                        "dataset": dataset,
                        "image": f"img{i}",
                        "scale": scale,
                        "degradation": degradation,
                        "method": method,
                        "metric": metric,
                        "protocol": f"y-shave{scale}",
                        "value": value,
                    }
                )
    return rows


@pytest.fixture(scope="module")
def frame():
    rows = [
        *_table("A", 2, "bicubic"),
        *_table("A", 4, "bicubic"),
        *_table("B", 4, "bicubic", drop={("m3", 5)}),  # m3 is incomplete on B
        *(r for s in SIGMAS for r in _table("A", 4, f"noise:sigma={s}")),
        *(r for s in SIGMAS for r in _table("B", 4, f"noise:sigma={s}")),
    ]
    out = pd.DataFrame(rows).assign(
        run_id="r1",
        dataset_version="1",
        degradation_version="1",
        seed=0,
        method_version="1",
        metric_version="1",
        error=None,
    )
    return out


def _means(frame, metric, **where):
    rows = frame[frame["metric"] == metric]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    return rows.groupby("method")["value"].mean()


def _stats(frame, metric, **filters):
    (board,) = leaderboards(frame, metrics=[metric], **filters)
    return board.stats.xs(metric, level="metric")


BICUBIC_TITLES = ["A x2, bicubic", "A x4, bicubic", "B x4, bicubic"]


def test_axis_labels_carry_unit_and_direction():
    assert axis_label("psnr") == "PSNR (dB) ↑"
    assert axis_label("ssim") == "SSIM ↑"
    assert axis_label("runtime") == "Runtime (s) ↓"
    assert axis_label("lpips") == "LPIPS ↓"
    assert axis_label("niqe") == "NIQE"  # not registered: no direction claimed


def test_colours_are_stable_and_distinct():
    first = plots.method_colours(["b", "a", "c"])
    again = plots.method_colours(["c", "a", "b"])
    assert first == again and len(set(first.values())) == 3
    many = plots.method_colours([f"m{i}" for i in range(20)])
    assert len(set(many.values())) == 20


def test_bars_show_means_intervals_and_incomplete_methods(frame):
    fig = plots.bars(frame, "psnr", degradation="bicubic")
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == BICUBIC_TITLES
    for ax, (dataset, scale) in zip(fig.axes, [("A", 2), ("A", 4), ("B", 4)], strict=True):
        assert ax.get_ylabel() == "PSNR (dB) ↑"
        bars = [c for c in ax.containers if isinstance(c, BarContainer)]
        assert [c.get_label() for c in bars] == list(METHODS)
        means = _means(frame, "psnr", dataset=dataset, scale=scale, degradation="bicubic")
        stats = _stats(frame, "psnr", dataset=dataset, scale=scale, degradation="bicubic")
        for container in bars:
            name = container.get_label()
            (patch,) = container.patches
            assert patch.get_height() == pytest.approx(means[name])
            (segment,) = container.errorbar.lines[2][0].get_segments()
            assert segment[:, 1] == pytest.approx(
                [stats.at[name, "ci_low"], stats.at[name, "ci_high"]]
            )
            assert patch.get_hatch() == ("//" if (dataset, name) == ("B", "m3") else None)
    ticks = [t.get_text() for t in fig.axes[2].get_xticklabels()]
    assert ticks[:2] == ["m1", "m2"] and ticks[2] == "m3\n(incomplete: 5/6)"


def test_missing_metrics_are_named(frame):
    with pytest.raises(MixedResultsError, match=r"no lpips values .* it has psnr, ssim"):
        plots.perception_distortion(frame)
    with pytest.raises(MixedResultsError, match="no lpips"):
        plots.bars(frame, "lpips")
    with pytest.raises(MixedResultsError, match="it is empty"):
        plots.distributions(frame, "psnr", dataset="C")


def test_perception_distortion_places_each_method_at_its_means(frame):
    fig = plots.perception_distortion(frame, x="psnr", y="ssim", degradation="bicubic")
    assert [ax.get_title() for ax in fig.axes] == BICUBIC_TITLES
    ax = fig.axes[1]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("PSNR (dB) ↑", "SSIM ↑")
    points = {c.get_label(): c for c in ax.containers if isinstance(c, ErrorbarContainer)}
    assert list(points) == list(METHODS)
    where = {"dataset": "A", "scale": 4, "degradation": "bicubic"}
    px, py = _means(frame, "psnr", **where), _means(frame, "ssim", **where)
    ssim = _stats(frame, "ssim", **where)
    for name, container in points.items():
        line = container.lines[0]
        assert line.get_xdata()[0] == pytest.approx(px[name])
        assert line.get_ydata()[0] == pytest.approx(py[name])
        vertical = container.lines[2][1].get_segments()[0]
        assert vertical[:, 1] == pytest.approx([ssim.at[name, "ci_low"], ssim.at[name, "ci_high"]])
    assert {t.get_text() for t in ax.texts} == set(METHODS)
    assert "m3 (incomplete)" in {t.get_text() for t in fig.axes[2].texts}


def test_distributions_draw_a_box_and_every_image_per_method(frame):
    fig = plots.distributions(frame, "psnr", degradation="bicubic", scale=4)
    assert [ax.get_title() for ax in fig.axes] == BICUBIC_TITLES[1:]
    for ax, dataset in zip(fig.axes, "AB", strict=True):
        assert ax.get_ylabel() == "PSNR (dB) ↑"
        boxes = [p for p in ax.patches if isinstance(p, PathPatch)]
        assert [b.get_label() for b in boxes] == list(METHODS)
        strips = {c.get_label(): c for c in ax.collections if isinstance(c, PathCollection)}
        assert list(strips) == list(METHODS)
        rows = frame[(frame["dataset"] == dataset) & (frame["scale"] == 4)]
        rows = rows[(rows["degradation"] == "bicubic") & (rows["metric"] == "psnr")]
        for name, strip in strips.items():
            expected = np.sort(rows.loc[rows["method"] == name, "value"].to_numpy())
            assert np.sort(np.asarray(strip.get_offsets())[:, 1]) == pytest.approx(expected)
            assert np.all(np.abs(strip.get_offsets()[:, 0] - METHODS.index(name)) < 0.2)
    assert len(strips["m3"].get_offsets()) == 5  # B: m3 lacks one image
    again = plots.distributions(frame, "psnr", degradation="bicubic", scale=4)
    assert np.array_equal(
        again.axes[0].collections[0].get_offsets(), fig.axes[0].collections[0].get_offsets()
    )


def _series(fig: Figure) -> list:
    """What a figure shows: bar heights, line data and point offsets, per axes."""
    out = []
    for ax in fig.axes:
        out.append([p.get_height() for p in ax.patches if isinstance(p, Rectangle)])
        out.append([list(line.get_ydata()) for line in ax.get_lines()])
        out.append(
            [c.get_offsets().tolist() for c in ax.collections if isinstance(c, PathCollection)]
        )
    return out


@pytest.mark.slow
def test_figures_from_leaderboards_equal_figures_from_rows(frame):
    boards = leaderboards(frame)  # every metric at once, as a report computes them
    for draw in (
        lambda src: plots.bars(src, "ssim", degradation="bicubic"),
        lambda src: plots.perception_distortion(src, "psnr", "ssim", dataset="A"),
        lambda src: plots.distributions(src, "psnr", scale=4, degradation="bicubic"),
        lambda src: plots.sweep(src, "psnr"),
    ):
        assert _series(draw(boards)) == _series(draw(frame))
    with pytest.raises(MixedResultsError, match="cannot narrow leaderboards"):
        plots.bars(boards, "psnr", method="m1")


def test_sweep_plots_means_against_strength(frame):
    fig = plots.sweep(frame, "psnr", degradation="DN")  # the alias names the same degradation
    assert [ax.get_title() for ax in fig.axes] == ["A x4", "B x4"]
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("noise sigma", "PSNR (dB) ↑")
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines) == list(METHODS)
    for name, line in lines.items():
        assert list(line.get_xdata()) == list(SIGMAS)
        expected = [
            _means(frame, "psnr", dataset="A", scale=4, degradation=f"noise:sigma={s}")[name]
            for s in SIGMAS
        ]
        assert line.get_ydata() == pytest.approx(expected)
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 3  # one band each
    one = frame[~frame["degradation"].isin(["noise:sigma=20.0", "noise:sigma=30.0"])]
    with pytest.raises(MixedResultsError, match="2 or more sigma"):
        plots.sweep(one, "psnr")
    with pytest.raises(MixedResultsError, match="blur"):
        plots.sweep(frame, "psnr", degradation="blur")


def test_comparison_grid_shows_the_same_crop_of_every_image(rng):
    hr = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    outputs = {
        "bicubic": rng.integers(0, 256, (60, 80, 3), dtype=np.uint8),
        "lanczos": rng.integers(0, 256, (60, 80, 3), dtype=np.uint8),
    }
    box = (10, 20, 16, 24)
    scores = {"bicubic": {"psnr": 28.4312, "ssim": 0.81114}}
    fig = plots.comparison_grid(hr, outputs, box, title="camera x4", scores=scores)
    assert len(fig.axes) == 2 + len(outputs) and fig.get_suptitle() == "camera x4"
    shown = [np.asarray(ax.images[0].get_array()) for ax in fig.axes]
    crop = (slice(10, 26), slice(20, 44))
    assert np.array_equal(shown[0], hr) and np.array_equal(shown[1], hr[crop])
    for array, image in zip(shown[2:], outputs.values(), strict=True):
        assert np.array_equal(array, image[crop])
    assert all(ax.images[0].get_interpolation() == "nearest" for ax in fig.axes)
    (rect,) = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    assert (rect.get_xy(), rect.get_width(), rect.get_height()) == ((19.5, 9.5), 24, 16)
    titles = [ax.get_title() for ax in fig.axes[1:]]
    assert titles == ["HR", "bicubic\n28.43 dB / 0.8111", "lanczos"]
    gray = plots.comparison_grid(hr[..., 0], {"x": hr[..., 1]}, (0, 0, 60, 80))
    assert len(gray.axes) == 3 and gray.axes[1].images[0].get_cmap().name == "gray"
    with pytest.raises(SizeMismatchError):
        plots.comparison_grid(hr, {"small": hr[:-1]}, box)
    with pytest.raises(SrbenchError, match="not inside"):
        plots.comparison_grid(hr, outputs, (50, 0, 16, 16))


def test_interesting_box_finds_the_textured_patch(rng):
    flat = np.full((120, 100, 3), 128, np.uint8)
    flat[70:86, 30:46] = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert plots.interesting_box(flat, 16) == (70, 30, 16, 16)
    edge = np.full((120, 100), 90, np.uint8)
    edge[:16, :16] = rng.integers(0, 256, (16, 16), dtype=np.uint8)
    top, left, _, _ = plots.interesting_box(edge, 16)
    assert top <= 1 and left <= 1  # the patch's own border with the flat area is texture too
    assert plots.interesting_box(edge, 16, border=4) == (4, 4, 16, 16)  # kept off the edge
    with pytest.raises(SrbenchError, match="does not fit"):
        plots.interesting_box(edge, 101)


def test_save_figure_writes_a_png_atomically(tmp_path, frame):
    target = tmp_path / "figs" / "bars.png"
    fig = plots.bars(frame, "ssim", dataset="A", scale=2, degradation="bicubic")
    assert plots.save_figure(fig, target, dpi=50) == target
    with Image.open(target) as im:
        assert im.format == "PNG" and im.size == (240, 180)
    assert [p.name for p in target.parent.iterdir()] == ["bars.png"]


def test_sr_images_reads_saved_images_or_recomputes_them(tmp_path):
    config = RunConfig(
        datasets=("sample",),
        scales=(4,),
        degradations=("noise:sigma=10",),  # random: recomputing must reuse the run's seed
        methods=("bicubic", "nearest"),
        seed=3,
        save_images=True,
    )
    result = run(config, tmp_path, progress=False)
    args = (tmp_path, result.run_id, "sample", 4, "noise:sigma=10", "camera")
    hr, saved = sr_images(*args, ["nearest", "bicubic"])
    assert np.array_equal(hr, modcrop(to_rgb(sample_images()["camera"]), 4))
    assert list(saved) == ["nearest", "bicubic"]
    folder = result.path / "images" / "sample" / "x4" / "noise_sigma_10.0"
    for label, image in saved.items():
        assert np.array_equal(image, read_image(folder / label / "camera.png"))

    marker = np.zeros_like(saved["bicubic"])  # a saved file is read, not recomputed
    write_png(folder / "bicubic" / "camera.png", marker)
    assert np.array_equal(sr_images(*args, ["bicubic"])[1]["bicubic"], marker)

    for label in saved:
        (folder / label / "camera.png").unlink()
    _, recomputed = sr_images(*args, ["bicubic", "nearest"])
    for label, image in saved.items():
        assert np.array_equal(recomputed[label], image)

    with pytest.raises(RunError, match="no run"):
        sr_images(tmp_path, "nope", "sample", 4, "bicubic", "camera", ["bicubic"])
    with pytest.raises(RunError, match="no sample image 'moon'"):
        sr_images(*args[:-1], "moon", ["bicubic"])
    with pytest.raises(RunError, match="it ran bicubic, nearest|it ran nearest, bicubic"):
        sr_images(*args, ["lanczos"])


# --- set-level metrics: values without intervals, KID's spread as error bars ---------------------


@pytest.fixture(scope="module")
def perceptual():
    from tests.frames import rows as store_rows

    psnr = {m: BASE[m] + OFFSETS for m in METHODS}
    return pd.concat(
        [
            store_rows(psnr),
            store_rows({m: 0.3 - v / 200 for m, v in psnr.items()}, "lpips"),
            store_rows(
                {"m1": 12.0, "m2": 18.0, "m3": 30.0},
                "fid",
                samples={"m1": 4096, "m2": 4096, "m3": 100},
            ),
            store_rows({"m1": 0.01, "m2": 0.02, "m3": 0.04}, "kid", samples=4096, spread=0.003),
        ]
    )


def test_distributions_refuse_set_level_metrics(perceptual):
    with pytest.raises(MixedResultsError, match="fid is a set-level metric.*plot it with bars"):
        plots.distributions(perceptual, "fid")
    with pytest.raises(MixedResultsError, match="set-level"):
        plots.distributions(leaderboards(perceptual), "kid")
    fig = plots.distributions(perceptual, "lpips")  # per-image RGB metrics still have boxes
    strips = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    assert [len(s.get_offsets()) for s in strips] == [6, 6, 6]


def test_bars_of_set_level_metrics(perceptual):
    fig = plots.bars(perceptual, "fid")
    (ax,) = fig.axes
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [c.get_label() for c in bars] == ["m1", "m2", "m3"]  # lower is better
    assert [c.patches[0].get_height() for c in bars] == [12.0, 18.0, 30.0]
    assert all(c.errorbar is None for c in bars)  # no interval to draw
    assert ax.get_ylabel() == "FID ↓"
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["m1", "m2", "m3 ‡"]  # 100 patches: fewer than fid's 2048
    kid = plots.bars(perceptual, "kid").axes[0]
    assert kid.get_ylabel() == "KID ↓\n(± std over subsets)"
    kid_bars = [c for c in kid.containers if isinstance(c, BarContainer)]
    for container, value in zip(kid_bars, (0.01, 0.02, 0.04), strict=True):
        (segment,) = container.errorbar.lines[2][0].get_segments()
        assert segment[:, 1] == pytest.approx([value - 0.003, value + 0.003])


def test_perception_distortion_with_fid_on_y(perceptual):
    fig = plots.perception_distortion(perceptual, x="psnr", y="fid")
    (ax,) = fig.axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("PSNR (dB) ↑", "FID ↓")
    points = {c.get_label(): c for c in ax.containers if isinstance(c, ErrorbarContainer)}
    for name, fid in {"m1": 12.0, "m2": 18.0, "m3": 30.0}.items():
        line = points[name].lines[0]
        assert line.get_xdata()[0] == pytest.approx(BASE[name] + OFFSETS.mean())
        assert line.get_ydata()[0] == fid
        assert points[name].has_xerr and not points[name].has_yerr
    lpips = plots.perception_distortion(leaderboards(perceptual), x="psnr", y="lpips")
    assert lpips.axes[0].get_ylabel() == "LPIPS ↓"
