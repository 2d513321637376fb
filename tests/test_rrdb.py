"""ESRGAN: RRDB network, discriminator, the authors' key layouts, network interpolation."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from srbench.catalog.sample import sample_images  # noqa: E402
from srbench.errors import CheckpointError, SrbenchError  # noqa: E402
from srbench.methods import create_method  # noqa: E402
from srbench.methods.families.esrgan.layouts import to_native  # noqa: E402
from srbench.methods.families.esrgan.net import ESRGANDiscriminator, RRDBNet  # noqa: E402
from srbench.methods.layers import count_parameters  # noqa: E402
from srbench.methods.trained import architecture  # noqa: E402
from srbench.weights.loading import interpolate_states  # noqa: E402
from srbench.weights.tags import CARD_FORMAT  # noqa: E402

SMALL = {"n_blocks": 2, "n_feats": 8, "growth": 4}


def conv(k: int, cin: int, cout: int, bias: bool = True) -> int:
    return k * k * cin * cout + (cout if bias else 0)


def rrdb_params(scale: int, n_blocks: int = 23, nf: int = 64, gc: int = 32) -> int:
    """ESRGAN's RRDBNet: conv_first, n_blocks x 3 dense blocks of five convolutions, trunk_conv,
    one upconv per x2 step, HRconv, conv_last (all 3x3 with bias)."""
    dense = sum(conv(3, nf + j * gc, gc) for j in range(4)) + conv(3, nf + 4 * gc, nf)
    steps = {2: 1, 4: 2}[scale]
    return conv(3, 3, nf) + n_blocks * 3 * dense + conv(3, nf, nf) * (2 + steps) + conv(3, nf, 3)


def vgg128_params(patch: int = 128, nf: int = 64) -> int:
    """ESRGAN's Discriminator_VGG_128: conv0_0 with bias, then nine bias-free convolutions each
    with batch norm (2 parameters per channel), dense 100 and 1."""
    widths = [nf, 2 * nf, 4 * nf, 8 * nf, 8 * nf]
    total, previous = conv(3, 3, nf), nf
    for stage, width in enumerate(widths):
        if stage:
            total += conv(3, previous, width, bias=False) + 2 * width
        total += conv(4, width, width, bias=False) + 2 * width
        previous = width
    side = patch // 32
    return total + (8 * nf * side * side * 100 + 100) + (100 + 1)


def test_the_paper_rrdb_has_16_7_million_parameters():
    with torch.device("meta"):
        x4, x2 = RRDBNet(4), RRDBNet(2)
    assert count_parameters(x4) == rrdb_params(4) == 16_697_987  # ESRGAN's released x4 model
    assert count_parameters(x2) == rrdb_params(2) == 16_697_987 - conv(3, 64, 64)
    assert architecture("esrgan").params == architecture("rrdb").params == 16_697_987


@pytest.mark.parametrize("patch", [128, 192])
def test_the_discriminator_counts_and_shape(patch):
    with torch.device("meta"):
        disc = ESRGANDiscriminator(patch)
    assert count_parameters(disc) == vgg128_params(patch)
    small = ESRGANDiscriminator(64, n_feats=4)
    assert small(torch.rand(3, 3, 64, 64)).shape == (3, 1)
    with pytest.raises(ValueError, match="multiple of 32"):
        ESRGANDiscriminator(80)
    with pytest.raises(ValueError, match="built for 64x64"):
        small(torch.rand(1, 3, 32, 32))


@pytest.mark.parametrize("scale", [2, 4])
def test_shapes_at_every_scale(scale):
    net = RRDBNet(scale, **SMALL)
    assert net(torch.rand(2, 3, 7, 9)).shape == (2, 3, 7 * scale, 9 * scale)


def test_bad_configurations_name_what_is_accepted():
    with pytest.raises(ValueError, match=r"one of \(2, 4\)"):
        RRDBNet(3)
    with pytest.raises(ValueError, match="must be >= 1"):
        RRDBNet(4, n_blocks=0)


def test_residual_scaling_is_0_2_in_dense_blocks_and_rrdbs():
    net = RRDBNet(4, **SMALL)
    block = net.RRDB_trunk[0]
    assert block.res_scale == 0.2 and block.RDB1.res_scale == 0.2
    x = torch.rand(1, 8, 5, 5)
    with torch.no_grad():
        inner = block.RDB3(block.RDB2(block.RDB1(x)))
        torch.testing.assert_close(block(x), x + 0.2 * inner)
        rdb, features = block.RDB1, [x]
        for c in (rdb.conv1, rdb.conv2, rdb.conv3, rdb.conv4):
            features.append(torch.nn.functional.leaky_relu(c(torch.cat(features, 1)), 0.2))
        torch.testing.assert_close(rdb(x), x + 0.2 * rdb.conv5(torch.cat(features, 1)))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())


# --------------------------------------------------------------------------------------------
# The authors' key layouts, written here from ESRGAN's RRDBNet_arch.py (current), its first
# release's sequential model (transer_RRDB_models.py maps it) and BasicSR's rrdbnet_arch.py.


def official_layout(n_blocks: int = 23, nf: int = 64, gc: int = 32, steps: int = 2) -> dict:
    shapes = {"conv_first.weight": (nf, 3, 3, 3), "conv_first.bias": (nf,)}
    for i in range(n_blocks):
        for k in (1, 2, 3):
            for j in range(1, 6):
                cout = nf if j == 5 else gc
                prefix = f"RRDB_trunk.{i}.RDB{k}.conv{j}"
                shapes[f"{prefix}.weight"] = (cout, nf + (j - 1) * gc, 3, 3)
                shapes[f"{prefix}.bias"] = (cout,)
    names = ["trunk_conv", *(f"upconv{n}" for n in range(1, steps + 1)), "HRconv"]
    for name in names:
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (nf, nf, 3, 3), (nf,)
    shapes["conv_last.weight"], shapes["conv_last.bias"] = (3, nf, 3, 3), (3,)
    return shapes


def to_first_release(state: dict, n_blocks: int, steps: int) -> dict:
    """Our (the current) keys renamed to the first release's ``model.<n>`` keys."""
    fixed = {"conv_first": "0", "trunk_conv": f"1.sub.{n_blocks}", "HRconv": str(3 * steps + 2)}
    fixed |= {"conv_last": str(3 * steps + 4)}
    fixed |= {f"upconv{n}": str(3 * n) for n in range(1, steps + 1)}
    out = {}
    for key, value in state.items():
        module, _, param = key.rpartition(".")
        if module.startswith("RRDB_trunk."):
            out[f"model.1.sub.{module.removeprefix('RRDB_trunk.')}.0.{param}"] = value
        else:
            out[f"model.{fixed[module]}.{param}"] = value
    return out


def to_basicsr(state: dict) -> dict:
    names = {"trunk_conv": "conv_body", "HRconv": "conv_hr", "upconv1": "conv_up1"}
    names["upconv2"] = "conv_up2"
    out = {}
    for key, value in state.items():
        body = re.fullmatch(r"RRDB_trunk\.(\d+)\.RDB(\d)\.(.*)", key)
        if body:
            out[f"body.{body[1]}.rdb{body[2]}.{body[3]}"] = value
            continue
        module, _, param = key.rpartition(".")
        out[f"{names.get(module, module)}.{param}"] = value
    return {"params_ema": out}


def test_our_keys_are_the_authors_current_layout():
    with torch.device("meta"):
        net = RRDBNet(4)
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == official_layout()
    assert to_native(net.state_dict()).keys() == net.state_dict().keys()


@pytest.fixture
def trained(tmp_path):
    """A small RRDB x4 with random weights, its output on a real crop, and a file maker."""
    torch.manual_seed(0)
    net = RRDBNet(4, **SMALL).eval()
    lr = sample_images()["astronaut"][200:216, 180:200]
    with torch.no_grad():
        # the plug-in's own memory layout (a permuted NHWC batch): equal outputs bit for bit
        x = torch.from_numpy(lr[None].copy()).permute(0, 3, 1, 2).float() / 255
        expected = (net(x)[0].permute(1, 2, 0) * 255).numpy()

    def save(state, name, kwargs=SMALL, method="rrdb"):
        path = tmp_path / name
        torch.save(state, path)
        card = {
            "format": CARD_FORMAT,
            "method": method,
            "scales": [4],
            "arch": {"kwargs": {**kwargs, "res_scale": 0.2}},
        }
        path.with_suffix(".json").write_text(json.dumps(card))
        return path

    return net, lr, expected, save


@pytest.mark.parametrize("layout", ["current", "first release", "basicsr"])
def test_every_official_layout_loads_strictly_and_reproduces_the_output(trained, layout):
    net, lr, expected, save = trained
    state = net.state_dict()
    if layout == "first release":
        state = to_first_release(state, SMALL["n_blocks"], steps=2)
        assert "model.1.sub.0.RDB1.conv5.0.weight" in state and "model.10.bias" in state
    elif layout == "basicsr":
        state = to_basicsr(state)
    path = save(state, "rrdb.pth")
    _, method = create_method(f"rrdb:weights={path}")
    assert np.array_equal(method.upscale(lr, 4), expected)


def test_a_first_release_file_without_a_card_finds_its_scale(tmp_path):
    x2 = RRDBNet(2)  # a bare file must hold the paper's configuration
    path = tmp_path / "bare_x2.pth"
    torch.save(to_first_release(x2.state_dict(), 23, steps=1), path)
    _, method = create_method(f"rrdb:weights={path},tag=ignored")
    assert method.card.scales == (2,)


def test_a_truncated_or_wrong_checkpoint_fails_clearly(trained, tmp_path):
    net, lr, _, save = trained
    path = save(to_first_release(net.state_dict(), SMALL["n_blocks"], 2), "rrdb.pth")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _, method = create_method(f"rrdb:weights={path}")
    with pytest.raises(CheckpointError, match=r"truncated, corrupt or not a torch file"):
        method.upscale(lr, 4)
    other = save(RRDBNet(4, n_blocks=3, n_feats=8, growth=4).state_dict(), "three.pth")
    _, method = create_method(f"rrdb:weights={other}")
    with pytest.raises(CheckpointError, match=r"unexpected key\(s\) \(RRDB_trunk\.2\.RDB1"):
        method.upscale(lr, 4)
    edsr = tmp_path / "edsr.pt"
    torch.save({"head.0.weight": torch.zeros(8, 3, 3, 3)}, edsr)
    with pytest.raises(CheckpointError, match="does not fit rrdb .* at any scale"):
        create_method(f"rrdb:weights={edsr}")


# --------------------------------------------------------------------------------------------
# Network interpolation


def test_interpolate_states_endpoints_are_exact_and_the_middle_is_the_blend():
    torch.manual_seed(1)
    psnr, gan = RRDBNet(2, **SMALL).state_dict(), RRDBNet(2, **SMALL).state_dict()
    for alpha, expected in ((0.0, psnr), (1.0, gan)):
        blended = interpolate_states(psnr, gan, alpha)
        assert all(torch.equal(blended[k], expected[k]) for k in gan)
    half = interpolate_states(psnr, gan, 0.3)
    key = "conv_first.weight"
    torch.testing.assert_close(half[key], 0.7 * psnr[key] + 0.3 * gan[key], rtol=0, atol=0)
    wider = RRDBNet(2, n_blocks=2, n_feats=8, growth=8).state_dict()
    with pytest.raises(CheckpointError, match="trained with other configurations"):
        interpolate_states(wider, gan, 0.5)
    with pytest.raises(CheckpointError, match="key"):
        interpolate_states(RRDBNet(4, **SMALL).state_dict(), gan, 0.5)


@pytest.fixture
def two_stages(trained):
    """RRDB (PSNR) and ESRGAN weights of one small architecture, as files with cards."""
    net, lr, expected, save = trained
    torch.manual_seed(5)
    gan = RRDBNet(4, **SMALL).eval()
    psnr_path = save(net.state_dict(), "psnr.pt")
    gan_path = save(gan.state_dict(), "gan.pt", method="esrgan")
    return lr, expected, gan, psnr_path, gan_path


def test_alpha_0_and_1_reproduce_the_two_models_exactly(two_stages):
    lr, psnr_output, gan, psnr_path, gan_path = two_stages
    _, plain = create_method(f"esrgan:weights={gan_path}")
    _, one = create_method(f"esrgan:weights={gan_path},alpha=1,psnr={psnr_path}")
    _, zero = create_method(f"esrgan:weights={gan_path},alpha=0,psnr={psnr_path}")
    gan_output = plain.upscale(lr, 4)
    assert np.array_equal(one.upscale(lr, 4), gan_output)
    assert np.array_equal(zero.upscale(lr, 4), psnr_output)
    assert not np.array_equal(gan_output, psnr_output)
    _, middle = create_method(f"esrgan:weights={gan_path},alpha=0.5,psnr={psnr_path}")
    blended = middle.upscale(lr, 4)
    assert not np.array_equal(blended, gan_output) and not np.array_equal(blended, psnr_output)
    assert middle.version_at(4).startswith(plain.version_at(4) + "+alpha0.5.file.")
    record = middle.provenance()["x4"]["interpolation"]
    assert record["alpha"] == 0.5 and record["psnr"]["file"] == str(psnr_path)


def test_bad_interpolation_options_say_what_is_accepted(two_stages, tmp_path):
    _, _, _, psnr_path, gan_path = two_stages
    with pytest.raises(SrbenchError, match=r"outside \[0, 1\]"):
        create_method(f"esrgan:weights={gan_path},alpha=1.5,psnr={psnr_path}")
    with pytest.raises(SrbenchError, match="needs alpha"):
        create_method(f"esrgan:weights={gan_path},psnr={psnr_path}")
    with pytest.raises(SrbenchError, match="rrdb has no weights tagged 'nowhere'"):
        create_method(f"esrgan:weights={gan_path},alpha=0.5,psnr=nowhere")
