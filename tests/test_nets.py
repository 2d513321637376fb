"""Network architectures: shapes at every scale, exact parameter counts from closed-form formulas,
the official EDSR-PyTorch state-dict layout, and the behaviour of the building blocks.

Expected counts and key sets are written here from the papers' and the official code's layout
rules, independently of the families' networks, so a wrong layer, width or name fails a test.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import pytest

torch = pytest.importorskip("torch")

from srbench.methods.families.edsr.net import EDSR, MDSR, MeanShift, ResBlock  # noqa: E402
from srbench.methods.families.srgan.net import Discriminator, SRResNet  # noqa: E402
from srbench.methods.layers import count_parameters  # noqa: E402

# EDSR paper, Table 1, and Sec. 3 for the residual scaling.
EDSR_BASELINE = {"n_resblocks": 16, "n_feats": 64, "res_scale": 1.0}
EDSR_PAPER = {"n_resblocks": 32, "n_feats": 256, "res_scale": 0.1}
MDSR_BASELINE = {"n_resblocks": 16, "n_feats": 64}
MDSR_PAPER = {"n_resblocks": 80, "n_feats": 64}
DIV2K_MEAN = (0.4488, 0.4371, 0.4040)


# ---------------------------------------------------------------- closed-form parameter counts


def conv_params(k: int, cin: int, cout: int) -> int:
    return k * k * cin * cout + cout


def bn_params(c: int) -> int:
    return 2 * c  # affine weight and bias; running statistics are buffers


def linear_params(cin: int, cout: int) -> int:
    return cin * cout + cout


def upsampler_params(scale: int, f: int) -> int:
    if scale == 3:
        return conv_params(3, f, 9 * f)
    return int(math.log2(scale)) * conv_params(3, f, 4 * f)


def edsr_params(scale: int, n_resblocks: int, n_feats: int, **_: object) -> int:
    f = n_feats
    head = conv_params(3, 3, f)
    body = n_resblocks * 2 * conv_params(3, f, f) + conv_params(3, f, f)
    tail = upsampler_params(scale, f) + conv_params(3, f, 3)
    return head + body + tail


def mdsr_params(n_resblocks: int, n_feats: int, scales: tuple[int, ...] = (2, 3, 4)) -> int:
    f = n_feats
    pre_process = len(scales) * 2 * 2 * conv_params(5, f, f)
    body = n_resblocks * 2 * conv_params(3, f, f) + conv_params(3, f, f)
    upsample = sum(upsampler_params(s, f) for s in scales)
    return conv_params(3, 3, f) + pre_process + body + upsample + conv_params(3, f, 3)


def srresnet_params(scale: int, n_blocks: int = 16, f: int = 64) -> int:
    prelu = 1  # one shared slope per PReLU
    head = conv_params(9, 3, f) + prelu
    block = 2 * (conv_params(3, f, f) + bn_params(f)) + prelu
    after_blocks = conv_params(3, f, f) + bn_params(f)
    upsample = int(math.log2(scale)) * (conv_params(3, f, 4 * f) + prelu)
    return head + n_blocks * block + after_blocks + upsample + conv_params(9, f, 3)


def discriminator_params(patch_size: int) -> int:
    # SRGAN Fig. 4 with its literal widths (n_feats = 64).
    total = conv_params(3, 3, 64)
    cin = 64
    for cout in (64, 128, 128, 256, 256, 512, 512):
        total += conv_params(3, cin, cout) + bn_params(cout)
        cin = cout
    side = patch_size // 16
    return total + linear_params(512 * side * side, 1024) + linear_params(1024, 1)


def test_formulas_give_the_rounded_counts_of_edsr_table_1() -> None:
    # Table 1 of the EDSR paper: SRResNet 1.5M, baseline 1.5M single-scale (3.2M multi-scale),
    # EDSR 43M, MDSR 8.0M. Single-scale models at x4. The models equal these formulas below.
    assert round(srresnet_params(4) / 1e6, 1) == 1.5
    assert round(edsr_params(4, **EDSR_BASELINE) / 1e6, 1) == 1.5
    assert round(mdsr_params(**MDSR_BASELINE) / 1e6, 1) == 3.2
    assert round(edsr_params(4, **EDSR_PAPER) / 1e6) == 43
    assert round(mdsr_params(**MDSR_PAPER) / 1e6, 1) == 8.0


# ---------------------------------------------------------------- every net at every scale


def _run(model: torch.nn.Module, x: torch.Tensor, *args: int) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(x, *args)


def _check_output(out: torch.Tensor, n: int, h: int, w: int, scale: int) -> None:
    assert out.shape == (n, 3, h * scale, w * scale)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


# (config, scale, rounded Table 1 count in millions at x4, digits it is rounded to)
EDSR_CASES = [
    pytest.param(EDSR_BASELINE, 2, None, id="baseline-x2"),
    pytest.param(EDSR_BASELINE, 3, None, id="baseline-x3"),
    pytest.param(EDSR_BASELINE, 4, (1.5, 1), id="baseline-x4"),
    pytest.param(EDSR_PAPER, 2, None, id="paper-x2"),
    pytest.param(EDSR_PAPER, 3, None, id="paper-x3"),
    pytest.param(EDSR_PAPER, 4, (43, 0), id="paper-x4"),
]


@pytest.mark.parametrize(("config", "scale", "table1"), EDSR_CASES)
def test_edsr_counts_and_shape(config: dict, scale: int, table1: tuple | None) -> None:
    model = EDSR(scale=scale, **config)
    n_params = count_parameters(model)
    print(f"EDSR {config} x{scale}: {n_params:,} parameters")
    assert model.scale == scale
    assert n_params == edsr_params(scale, **config)
    if table1 is not None:
        millions, digits = table1
        assert round(n_params / 1e6, digits) == millions
    # The 256-feature model runs on a tiny input only, to keep the suite fast.
    n, h, w = (1, 8, 8) if config is EDSR_PAPER else (2, 12, 10)
    _check_output(_run(model, torch.rand(n, 3, h, w)), n, h, w, scale)


@functools.cache
def _mdsr(name: str) -> MDSR:
    return MDSR(**{"baseline": MDSR_BASELINE, "paper": MDSR_PAPER}[name])


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize(
    ("name", "config", "millions"),
    [
        ("baseline", MDSR_BASELINE, 3.2),
        ("paper", MDSR_PAPER, 8.0),
    ],
)
def test_mdsr_counts_and_shape(name: str, config: dict, millions: float, scale: int) -> None:
    model = _mdsr(name)
    n_params = count_parameters(model)
    print(f"MDSR {config}: {n_params:,} parameters")
    assert model.scales == (2, 3, 4)
    assert n_params == mdsr_params(**config)
    assert round(n_params / 1e6, 1) == millions
    _check_output(_run(model, torch.rand(2, 3, 8, 6), scale), 2, 8, 6, scale)


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_srresnet_counts_and_shape(scale: int) -> None:
    model = SRResNet(scale=scale)
    n_params = count_parameters(model)
    print(f"SRResNet x{scale}: {n_params:,} parameters")
    assert model.scale == scale
    assert n_params == srresnet_params(scale)
    if scale == 4:
        assert round(n_params / 1e6, 1) == 1.5
    _check_output(_run(model, torch.rand(2, 3, 8, 6)), 2, 8, 6, scale)


def test_srresnet_prelus_have_one_parameter_each() -> None:
    prelus = [m for m in SRResNet(scale=4, n_blocks=3).modules() if isinstance(m, torch.nn.PReLU)]
    assert len(prelus) == 1 + 3 + 2  # head, one per block, one per x2 upsampling step
    assert all(p.weight.numel() == 1 for p in prelus)


def test_srresnet_has_the_global_skip() -> None:
    torch.manual_seed(0)
    model = SRResNet(scale=2, n_blocks=2, n_feats=8).eval()
    # A zero final BN silences the residual trunk; what remains must be the skip path.
    torch.nn.init.zeros_(model.body[-1].weight)
    torch.nn.init.zeros_(model.body[-1].bias)
    x = torch.rand(1, 3, 6, 6)
    with torch.no_grad():
        expected = model.tail(model.upsample(model.head(x)))
        torch.testing.assert_close(model(x), expected, rtol=0, atol=0)


def test_srresnet_blocks_have_identity_skips() -> None:
    model = SRResNet(scale=2, n_blocks=2, n_feats=8).eval()
    x = torch.randn(1, 8, 5, 5)
    for block in model.body[:2]:
        last_bn = block.body[-1]
        assert isinstance(last_bn, torch.nn.BatchNorm2d)
        # A zero final BN silences the branch, leaving exactly the skip.
        torch.nn.init.zeros_(last_bn.weight)
        torch.nn.init.zeros_(last_bn.bias)
        with torch.no_grad():
            assert torch.equal(block(x), x)


def test_generators_train_end_to_end() -> None:
    torch.manual_seed(0)
    for model in (EDSR(scale=3, n_resblocks=2, n_feats=8), SRResNet(scale=2, n_blocks=2)):
        model(torch.rand(2, 3, 6, 6)).square().mean().backward()
        for name, param in model.named_parameters():
            assert param.grad is not None, name
            assert torch.isfinite(param.grad).all(), name


# ---------------------------------------------------------------- official state-dict layout


def _conv(prefix: str, cin: int, cout: int, k: int = 3) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.weight": (cout, cin, k, k), f"{prefix}.bias": (cout,)}


def _resblock(prefix: str, f: int, k: int = 3) -> dict[str, tuple[int, ...]]:
    return {**_conv(f"{prefix}.body.0", f, f, k), **_conv(f"{prefix}.body.2", f, f, k)}


def _upsampler(prefix: str, scale: int, f: int) -> dict[str, tuple[int, ...]]:
    # Convolutions at even indices, a PixelShuffle (no parameters) after each.
    if scale == 3:
        return _conv(f"{prefix}.0", f, 9 * f)
    steps = int(math.log2(scale))
    return {k: v for i in range(steps) for k, v in _conv(f"{prefix}.{2 * i}", f, 4 * f).items()}


MEAN_SHIFT = {
    "sub_mean.weight": (3, 3, 1, 1),
    "sub_mean.bias": (3,),
    "add_mean.weight": (3, 3, 1, 1),
    "add_mean.bias": (3,),
}


def official_edsr_layout(scale: int, n_resblocks: int, n_feats: int) -> dict[str, tuple]:
    f = n_feats
    keys = {**MEAN_SHIFT, **_conv("head.0", 3, f)}
    for i in range(n_resblocks):
        keys |= _resblock(f"body.{i}", f)
    keys |= _conv(f"body.{n_resblocks}", f, f)
    keys |= _upsampler("tail.0", scale, f)
    keys |= _conv("tail.1", f, 3)
    return keys


def official_mdsr_layout(n_resblocks: int, n_feats: int) -> dict[str, tuple]:
    f = n_feats
    keys = {**MEAN_SHIFT, **_conv("head.0", 3, f)}
    for i, scale in enumerate((2, 3, 4)):
        keys |= _resblock(f"pre_process.{i}.0", f, k=5)
        keys |= _resblock(f"pre_process.{i}.1", f, k=5)
        keys |= _upsampler(f"upsample.{i}", scale, f)
    for i in range(n_resblocks):
        keys |= _resblock(f"body.{i}", f)
    keys |= _conv(f"body.{n_resblocks}", f, f)
    keys |= _conv("tail.0", f, 3)
    return keys


def _layout(model: torch.nn.Module) -> dict[str, tuple]:
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def test_edsr_baseline_x4_has_the_official_layout() -> None:
    expected = official_edsr_layout(4, 16, 64)
    # A few keys spelled out, so the rules above cannot drift unnoticed.
    assert {"body.0.body.0.weight", "body.15.body.2.bias", "body.16.weight"} <= expected.keys()
    assert expected["tail.0.2.weight"] == (256, 64, 3, 3)
    assert expected["tail.1.weight"] == (3, 64, 3, 3)
    assert len(expected) == 4 + 2 + 16 * 4 + 2 + 2 * 2 + 2
    assert _layout(EDSR(scale=4, **EDSR_BASELINE)) == expected


def test_mdsr_baseline_has_the_official_layout() -> None:
    expected = official_mdsr_layout(16, 64)
    assert expected["pre_process.2.1.body.2.weight"] == (64, 64, 5, 5)
    assert expected["upsample.1.0.weight"] == (576, 64, 3, 3)
    assert {"upsample.2.2.bias", "body.16.bias", "tail.0.weight"} <= expected.keys()
    assert "upsample.0.2.weight" not in expected  # x2 has one upsampling step
    assert len(expected) == 4 + 2 + 3 * 2 * 4 + (2 + 2 + 4) + 16 * 4 + 2 + 2
    assert _layout(MDSR(**MDSR_BASELINE)) == expected


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_every_official_edsr_checkpoint_layout(scale: int) -> None:
    # Built on the meta device: layouts of the 43M-parameter models without allocating them.
    with torch.device("meta"):
        baseline = EDSR(scale=scale, **EDSR_BASELINE)
        paper = EDSR(scale=scale, **EDSR_PAPER)
    assert _layout(baseline) == official_edsr_layout(scale, 16, 64)
    assert _layout(paper) == official_edsr_layout(scale, 32, 256)


def test_mdsr_paper_layout() -> None:
    with torch.device("meta"):
        model = MDSR(**MDSR_PAPER)
    assert _layout(model) == official_mdsr_layout(80, 64)


@pytest.mark.parametrize(
    ("build", "args"),
    [
        pytest.param(lambda: EDSR(scale=4, **EDSR_BASELINE), (), id="edsr"),
        pytest.param(lambda: MDSR(**MDSR_BASELINE), (3,), id="mdsr"),
        pytest.param(lambda: SRResNet(scale=2, n_blocks=4), (), id="srresnet"),
    ],
)
def test_state_dict_round_trip_reproduces_the_output(
    build: Callable[[], torch.nn.Module], args: tuple
) -> None:
    torch.manual_seed(0)
    source = build()
    torch.manual_seed(1)
    target = build()
    x = torch.rand(2, 3, 7, 5)
    assert not torch.equal(_run(source, x, *args), _run(target, x, *args))
    result = target.load_state_dict(source.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert torch.equal(_run(source, x, *args), _run(target, x, *args))


def test_loading_overwrites_the_mean_shift() -> None:
    model = EDSR(scale=2, n_resblocks=1, n_feats=8)
    state = model.state_dict()
    state["sub_mean.bias"] = torch.tensor([-1.0, -2.0, -3.0])
    model.load_state_dict(state, strict=True)
    assert torch.equal(model.sub_mean.bias, torch.tensor([-1.0, -2.0, -3.0]))


# ---------------------------------------------------------------- building blocks


def test_mean_shift_values_and_round_trip() -> None:
    sub, add = MeanShift(255.0, sign=-1), MeanShift(255.0, sign=1)
    mean = torch.tensor(DIV2K_MEAN).view(1, 3, 1, 1)
    x = torch.rand(2, 3, 5, 4) * 255
    torch.testing.assert_close(sub(x), x - 255 * mean)
    torch.testing.assert_close(add(sub(x)), x)
    assert torch.equal(sub.weight, torch.eye(3).view(3, 3, 1, 1))


def test_mean_shift_is_not_trainable() -> None:
    model = EDSR(scale=2, n_resblocks=1, n_feats=8)
    assert count_parameters(MeanShift(255.0, sign=-1)) == 0
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert not {name for name in trainable if "mean" in name}
    assert {"sub_mean.weight", "add_mean.bias"} <= set(model.state_dict())


def test_count_parameters_skips_frozen_ones() -> None:
    layer = torch.nn.Linear(4, 3)
    layer.weight.requires_grad_(False)
    assert count_parameters(layer) == 3


def test_generator_output_is_on_the_unit_scale() -> None:
    # With every convolution zeroed the network outputs add_mean(0): the mean, on [0, 1].
    model = EDSR(scale=2, n_resblocks=2, n_feats=8)
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.zeros_(module.weight)
            torch.nn.init.zeros_(module.bias)
    out = _run(model, torch.rand(1, 3, 4, 4))
    expected = torch.tensor(DIV2K_MEAN).view(1, 3, 1, 1).expand_as(out)
    torch.testing.assert_close(out, expected)


def test_res_scale_is_applied() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 8, 6, 6)
    block = ResBlock(8, res_scale=0.0)
    assert torch.equal(block(x), x)
    block.res_scale = 0.5
    with torch.no_grad():
        torch.testing.assert_close(block(x), x + 0.5 * block.body(x))


def test_edsr_res_scale_reaches_every_block() -> None:
    torch.manual_seed(0)
    model = EDSR(scale=2, n_resblocks=3, n_feats=8, res_scale=0.0).eval()
    x = torch.rand(1, 3, 5, 5)
    # Identity blocks leave the last trunk conv and the global skip.
    with torch.no_grad():
        feats = model.head(model.sub_mean(x * 255))
        expected = model.add_mean(model.tail(model.body[-1](feats) + feats)) / 255
        torch.testing.assert_close(model(x), expected)
        model.body[0].res_scale = 1.0
        assert not torch.allclose(model(x), expected)


# ---------------------------------------------------------------- discriminator


@pytest.mark.parametrize("patch_size", [96, 128])
def test_discriminator_shape_and_count(patch_size: int) -> None:
    model = Discriminator(patch_size=patch_size)
    n_params = count_parameters(model)
    print(f"Discriminator {patch_size}px: {n_params:,} parameters")
    assert n_params == discriminator_params(patch_size)
    out = model(torch.rand(2, 3, patch_size, patch_size))  # train mode: batch statistics
    assert out.shape == (2, 1)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("patch_size", [0, -16, 8, 100])
def test_discriminator_rejects_bad_patch_sizes(patch_size: int) -> None:
    with pytest.raises(ValueError, match="multiple of 16"):
        Discriminator(patch_size=patch_size)


def test_discriminator_rejects_a_wrong_input_size() -> None:
    model = Discriminator(patch_size=32, n_feats=4)
    with pytest.raises(ValueError, match=r"32x32.*48x48"):
        model(torch.rand(1, 3, 48, 48))


# ---------------------------------------------------------------- bad arguments


def test_bad_scales_name_the_supported_ones() -> None:
    with pytest.raises(ValueError, match=r"scale 5 .*supported scales: 2, 3, 4"):
        EDSR(scale=5)
    with pytest.raises(ValueError, match=r"scale 3 .*supported scales: 2, 4, 8"):
        SRResNet(scale=3)
    model = MDSR(n_resblocks=1, n_feats=8)
    with pytest.raises(ValueError, match=r"scale 8 .*supported scales: 2, 3, 4"):
        model(torch.rand(1, 3, 4, 4), scale=8)
    with pytest.raises(ValueError, match=r"supported scales: 2, 4"):
        MDSR(scales=(2, 4), n_resblocks=1, n_feats=8)(torch.rand(1, 3, 4, 4), scale=3)


@pytest.mark.parametrize("scales", [(), (2, 2), (2, 5)])
def test_mdsr_rejects_bad_scale_sets(scales: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="MDSR"):
        MDSR(scales=scales, n_resblocks=1, n_feats=8)


def test_bad_sizes_are_rejected() -> None:
    with pytest.raises(ValueError, match="n_feats"):
        EDSR(scale=2, n_feats=0)
    with pytest.raises(ValueError, match="rgb_range"):
        EDSR(scale=2, rgb_range=0)
    with pytest.raises(ValueError, match="n_blocks"):
        SRResNet(n_blocks=-1)
