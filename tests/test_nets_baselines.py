"""Seed baselines (SRCNN, U-Net, convolutional auto-encoder), SR-UGAN and the MATLAB-exact
bicubic upsampler they build on.

Expected parameter counts are closed-form formulas written here from the architectures'
descriptions, independently of the families' networks, so a wrong layer or width fails a test.
The heavy default networks are built on the meta device, for counting only.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skimage.data import astronaut  # noqa: E402

from srbench.errors import SrbenchError  # noqa: E402
from srbench.methods.families.autoencoder.net import ConvAutoEncoder  # noqa: E402
from srbench.methods.families.srcnn.net import SRCNN  # noqa: E402
from srbench.methods.families.srgan.net import Discriminator  # noqa: E402
from srbench.methods.families.srugan.net import (  # noqa: E402
    SRUGAN,
    AttentionBlock,
    DenseBlock,
    SRUGANDiscriminator,
)
from srbench.methods.families.unet.net import UNet  # noqa: E402
from srbench.methods.layers import BicubicUpsample, count_parameters  # noqa: E402
from srbench.resize import imresize, interpolation_matrix  # noqa: E402

# ---------------------------------------------------------------- closed-form parameter counts


def conv_params(k: int, cin: int, cout: int) -> int:
    return k * k * cin * cout + cout


def linear_params(cin: int, cout: int) -> int:
    return cin * cout + cout


PRELU = 1  # nn.PReLU(): one shared slope


def srcnn_params(channels: int = 3, n1: int = 64, n2: int = 32) -> int:
    # The 9-1-5 network of Dong et al.
    return conv_params(9, channels, n1) + conv_params(1, n1, n2) + conv_params(5, n2, channels)


def unet_params(f: int = 64, depth: int = 4) -> int:
    widths = [f * 2**level for level in range(depth + 1)]
    total = 0
    for cin, c in zip([3, *widths[:-1]], widths, strict=True):  # double conv per level
        total += conv_params(3, cin, c) + conv_params(3, c, c)
    for c in widths[:-1]:  # 2x2 transposed conv from 2c to c, double conv on the concat
        total += 2 * 2 * (2 * c) * c + c
        total += conv_params(3, 2 * c, c) + conv_params(3, c, c)
    return total + conv_params(1, f, 3)


def autoencoder_params(f: int = 64, depth: int = 2) -> int:
    widths = [f * 2**level for level in range(depth + 1)]
    encoder = conv_params(3, 3, f) + conv_params(3, f, f)
    decoder = 0
    for cin, c in zip(widths[:-1], widths[1:], strict=True):
        encoder += conv_params(3, cin, c) + conv_params(3, c, c)
        decoder += conv_params(3, c, cin) + conv_params(3, cin, cin)
    return encoder + decoder + conv_params(3, f, 3)


def attention_params(c: int) -> int:
    hidden = max(1, c // 16)
    squeeze_excite = conv_params(1, c, hidden) + conv_params(1, hidden, c)
    return squeeze_excite + conv_params(7, 2, 1)


def unet_level_params(cin: int, c: int) -> int:
    return conv_params(3, cin, c) + PRELU + conv_params(3, c, c) + PRELU + attention_params(c)


def dense_block_params(c: int, growth: int, layers: int) -> int:
    convs = sum(conv_params(3, c + i * growth, growth) + PRELU for i in range(layers))
    return convs + conv_params(1, c + layers * growth, c)


def srugan_params(
    scale: int,
    f: int = 64,
    dense_feats: int = 128,
    n_dense: int = 8,
    growth: int = 32,
    dense_layers: int = 4,
    unet_levels: int = 3,
) -> int:
    widths = [f * 2**level for level in range(unet_levels)]
    head = conv_params(9, 3, f) + PRELU
    unet = sum(unet_level_params(c, c) for c in widths)
    for low, high in zip(widths[:-1], widths[1:], strict=True):
        unet += conv_params(3, low, high) + PRELU  # stride-2 conv down
        unet += conv_params(3, high, 4 * low) + PRELU  # pixel-shuffle up
        unet += unet_level_params(2 * low, low)  # decoder level on the concat
    body = conv_params(1, f, dense_feats) + conv_params(1, dense_feats, f)
    body += n_dense * dense_block_params(dense_feats, growth, dense_layers)
    body += n_dense * dense_block_params(f, growth, dense_layers)
    body += conv_params(3, f, f)
    upsample = int(math.log2(scale)) * (conv_params(3, f, 4 * f) + PRELU)
    return head + unet + body + upsample + conv_params(9, f, 3)


def srgan_discriminator_params(patch_size: int = 96) -> int:
    # SRGAN Fig. 4 (n_feats = 64): conv, then seven conv-BN blocks, dense 1024, dense 1.
    total = conv_params(3, 3, 64)
    cin = 64
    for cout in (64, 128, 128, 256, 256, 512, 512):
        total += conv_params(3, cin, cout) + 2 * cout
        cin = cout
    side = patch_size // 16
    return total + linear_params(512 * side * side, 1024) + linear_params(1024, 1)


# ---------------------------------------------------------------- helpers


def _to_tensor(img: np.ndarray) -> torch.Tensor:
    """(H, W, C) array -> (1, C, H, W) tensor of the same dtype."""
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None]


def _to_image(x: torch.Tensor) -> np.ndarray:
    return x[0].detach().numpy().transpose(1, 2, 0)


def _crop() -> np.ndarray:
    """A non-square float crop of a real photograph, in [0, 1]."""
    return astronaut()[60:83, 180:197].astype(np.float64) / 255


def _run(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(x)


# Small configurations, for the tests that run the networks.
TINY_UNET = {"n_feats": 4, "depth": 2}
TINY_AUTOENCODER = {"n_feats": 4, "depth": 2}
TINY_SRUGAN = {"n_feats": 8, "dense_feats": 12, "n_dense": 1, "growth": 4, "dense_layers": 2}

# ---------------------------------------------------------------- interpolation matrix


@pytest.mark.parametrize("scale", [2, 3, 4, 2.5])
def test_interpolation_matrix_reproduces_imresize(scale: float, rng: np.random.Generator) -> None:
    img = rng.random((11, 7, 3))
    out_h, out_w = math.ceil(scale * 11), math.ceil(scale * 7)
    rows = interpolation_matrix(11, out_h, scale)
    cols = interpolation_matrix(7, out_w, scale)
    assert rows.shape == (out_h, 11) and rows.dtype == np.float64
    np.testing.assert_allclose(rows.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    separable = np.einsum("ph,hwc,qw->pqc", rows, img, cols)
    np.testing.assert_allclose(separable, imresize(img, scale), rtol=0, atol=1e-12)


def test_interpolation_matrix_sums_clamped_taps() -> None:
    # At x2 the first output pixel reads MATLAB's (1-based) pixels -1, 0, 1, 2 with these
    # weights; the first three clamp onto pixel 1 and add up there.
    rows = interpolation_matrix(5, 10, 2)
    weights = np.array([-0.0234375, 0.2265625, 0.8671875, -0.0703125])
    np.testing.assert_allclose(rows[0, :2], [weights[:3].sum(), weights[3]], rtol=0, atol=1e-15)
    assert np.all(rows[0, 2:] == 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": 0.5}, "scale >= 1"),
        ({"method": "cubic"}, "bicubic"),
        ({"in_len": 0}, "positive"),
    ],
)
def test_interpolation_matrix_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    args = {"in_len": 4, "out_len": 8, "scale": 2.0, **kwargs}
    with pytest.raises(SrbenchError, match=message):
        interpolation_matrix(**args)


# ---------------------------------------------------------------- bicubic upsampler


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_upsample_equals_matlab_imresize(scale: int) -> None:
    img = _crop()
    expected = imresize(img, scale)
    out = BicubicUpsample(scale)(_to_tensor(img).float())
    assert out.dtype == torch.float32
    assert out.shape == (1, 3, 23 * scale, 17 * scale)
    np.testing.assert_allclose(_to_image(out), expected, rtol=0, atol=1e-5)
    out64 = BicubicUpsample(scale)(_to_tensor(img))
    np.testing.assert_allclose(_to_image(out64), expected, rtol=0, atol=1e-12)


def test_bicubic_upsample_is_stateless_and_differentiable() -> None:
    up = BicubicUpsample(3)
    assert not list(up.parameters()) and not up.state_dict()
    x = torch.rand(2, 4, 5, 6, requires_grad=True)
    out = up(x)
    assert out.shape == (2, 4, 15, 18)
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    # Each output row of weights sums to one, so a constant image stays constant.
    torch.testing.assert_close(up(torch.full((1, 1, 4, 3), 0.3)), torch.full((1, 1, 12, 9), 0.3))


@pytest.mark.parametrize("scale", [0, 2.5, True])
def test_bicubic_upsample_rejects_bad_scales(scale: object) -> None:
    with pytest.raises(ValueError, match="integer >= 1"):
        BicubicUpsample(scale)  # type: ignore[arg-type]


def test_bicubic_upsample_rejects_integer_tensors() -> None:
    with pytest.raises(ValueError, match="floating-point"):
        BicubicUpsample(2)(torch.zeros(1, 3, 4, 4, dtype=torch.uint8))


# ---------------------------------------------------------------- parameter counts


def test_srcnn_has_the_papers_counts() -> None:
    assert srcnn_params() == 20_099
    # Dong et al. count the Y-channel 9-1-5 network's weights only: 8,032; biases add 97.
    assert srcnn_params(channels=1) == 8_129
    assert 9 * 9 * 64 + 64 * 32 + 5 * 5 * 32 == 8_032
    for scale in (2, 3, 4):
        assert count_parameters(SRCNN(scale)) == 20_099
        assert count_parameters(SRCNN(scale, channels=1)) == 8_129


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_baseline_counts(scale: int) -> None:
    with torch.device("meta"):
        unet, autoencoder = UNet(scale), ConvAutoEncoder(scale)
    print(f"x{scale}: UNet {count_parameters(unet):,}, CAE {count_parameters(autoencoder):,}")
    assert unet.scale == autoencoder.scale == scale
    assert count_parameters(unet) == unet_params()
    assert count_parameters(autoencoder) == autoencoder_params()
    # Ronneberger et al.'s widths (64 to 1024, four poolings) give U-Net's familiar ~31M.
    assert round(count_parameters(unet) / 1e6) == 31


@pytest.mark.parametrize("scale", [2, 4])
def test_srugan_count(scale: int) -> None:
    with torch.device("meta"):
        model = SRUGAN(scale)
    n_params = count_parameters(model)
    print(f"SRUGAN x{scale}: {n_params:,} parameters")
    assert model.scale == scale
    assert n_params == srugan_params(scale)
    dense_blocks = [m for m in model.modules() if isinstance(m, DenseBlock)]
    assert len(dense_blocks) == 16  # the paper's B = 8, "totalling to 16 dense blocks"


def test_srugan_count_of_a_small_config() -> None:
    config = {**TINY_SRUGAN, "unet_levels": 4}
    assert count_parameters(SRUGAN(4, **config)) == srugan_params(
        4,
        f=8,
        dense_feats=12,
        n_dense=1,
        growth=4,
        dense_layers=2,
        unet_levels=4,
    )


def test_srugan_discriminator_counts() -> None:
    with torch.device("meta"):
        plain = SRUGANDiscriminator()
        with_classes = SRUGANDiscriminator(n_classes=10)
    print(f"SRUGANDiscriminator: {count_parameters(plain):,} / {count_parameters(with_classes):,}")
    assert count_parameters(plain) == srgan_discriminator_params(96)
    assert count_parameters(with_classes) - count_parameters(plain) == 1024 * 10 + 10


# ---------------------------------------------------------------- shapes


def _check_output(out: torch.Tensor, n: int, h: int, w: int, scale: int, c: int = 3) -> None:
    assert out.shape == (n, c, h * scale, w * scale)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


GENERATORS: list = [
    *(pytest.param(lambda s: SRCNN(s, n1=8, n2=4), s, id=f"srcnn-x{s}") for s in (2, 3, 4)),
    *(pytest.param(lambda s: UNet(s, **TINY_UNET), s, id=f"unet-x{s}") for s in (2, 3, 4)),
    *(
        pytest.param(lambda s: ConvAutoEncoder(s, **TINY_AUTOENCODER), s, id=f"cae-x{s}")
        for s in (2, 3, 4)
    ),
    *(pytest.param(lambda s: SRUGAN(s, **TINY_SRUGAN), s, id=f"srugan-x{s}") for s in (2, 4)),
]


@pytest.mark.parametrize(("build", "scale"), GENERATORS)
def test_generator_shapes_on_odd_sizes(build: Callable[[int], torch.nn.Module], scale: int) -> None:
    torch.manual_seed(0)
    model = build(scale)
    assert model.scale == scale
    for h, w in ((13, 10), (7, 9)):
        _check_output(_run(model, torch.rand(2, 3, h, w)), 2, h, w, scale)


def test_default_srcnn_runs_and_the_single_channel_variant() -> None:
    _check_output(_run(SRCNN(3), torch.rand(1, 3, 7, 5)), 1, 7, 5, 3)
    _check_output(_run(SRCNN(2, channels=1), torch.rand(2, 1, 6, 9)), 2, 6, 9, 2, c=1)


@pytest.mark.parametrize("levels", [1, 2, 4])
def test_srugan_unet_depths_keep_odd_sizes(levels: int) -> None:
    model = SRUGAN(2, **{**TINY_SRUGAN, "unet_levels": levels})
    _check_output(_run(model, torch.rand(1, 3, 13, 10)), 1, 13, 10, 2)


# ---------------------------------------------------------------- training


TRAINABLE = [
    pytest.param(lambda: SRCNN(2, n1=8, n2=4), id="srcnn"),
    pytest.param(lambda: UNet(3, **TINY_UNET), id="unet"),
    pytest.param(lambda: ConvAutoEncoder(4, **TINY_AUTOENCODER), id="cae"),
    pytest.param(lambda: SRUGAN(2, **TINY_SRUGAN), id="srugan"),
]


@pytest.mark.parametrize("build", TRAINABLE)
def test_generators_learn(build: Callable[[], torch.nn.Module]) -> None:
    torch.manual_seed(0)
    model = build().train()
    x = torch.rand(2, 3, 9, 7)
    target = torch.rand(2, 3, 9 * model.scale, 7 * model.scale)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), target)
        loss.backward()
        for name, param in model.named_parameters():
            assert param.grad is not None and torch.isfinite(param.grad).all(), name
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses


# ---------------------------------------------------------------- structure


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda s: UNet(s, **TINY_UNET), id="unet"),
        pytest.param(lambda s: ConvAutoEncoder(s, **TINY_AUTOENCODER), id="cae"),
    ],
)
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_residual_baselines_start_from_the_matlab_bicubic_image(
    build: Callable[[int], torch.nn.Module], scale: int
) -> None:
    model = build(scale)
    # A zero final layer silences the learnt residual, leaving the bicubic image.
    torch.nn.init.zeros_(model.tail.weight)
    torch.nn.init.zeros_(model.tail.bias)
    img = _crop()
    out = _run(model, _to_tensor(img).float())
    np.testing.assert_allclose(_to_image(out), imresize(img, scale), rtol=0, atol=1e-5)


def test_srcnn_is_the_three_layer_network_on_the_bicubic_image() -> None:
    model = SRCNN(2).eval()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(9, 9), (1, 1), (5, 5)]
    assert [c.out_channels for c in convs] == [64, 32, 3]
    x = torch.rand(1, 3, 6, 5)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model.body(BicubicUpsample(2)(x)))


def test_autoencoder_has_no_encoder_decoder_skips() -> None:
    torch.manual_seed(0)
    model = ConvAutoEncoder(2, **TINY_AUTOENCODER).eval()
    x = torch.rand(1, 3, 8, 8)
    base = BicubicUpsample(2)(x)
    with torch.no_grad():
        # Decoder and tail read only the bottleneck.
        expected = base + model.tail(model.decoder(model.encoder(base)))
        torch.testing.assert_close(model(x), expected)
        assert model.encoder(base).shape == (1, 16, 4, 4)


def test_no_batch_norm_in_generators() -> None:
    for model in (SRCNN(2), UNet(2, **TINY_UNET), ConvAutoEncoder(2), SRUGAN(2, **TINY_SRUGAN)):
        assert not any(
            isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()
        )


def test_srugan_has_the_long_skip() -> None:
    torch.manual_seed(0)
    model = SRUGAN(2, **TINY_SRUGAN).eval()
    # A zero last trunk conv silences U-Net and dense blocks; the head's skip remains.
    torch.nn.init.zeros_(model.body[-1].weight)
    torch.nn.init.zeros_(model.body[-1].bias)
    x = torch.rand(1, 3, 6, 5)
    with torch.no_grad():
        expected = model.tail(model.upsample(model.head(x)))
        torch.testing.assert_close(model(x), expected, rtol=0, atol=0)


def test_srugan_prelus_have_one_parameter_each() -> None:
    model = SRUGAN(4, **TINY_SRUGAN)
    prelus = [m for m in model.modules() if isinstance(m, torch.nn.PReLU)]
    # head; U-Net: 3 levels x 2 + 2 down + 2 up + 2 decoder levels x 2; dense: 2 x 1 x 2; x4: 2
    assert len(prelus) == 1 + (6 + 2 + 2 + 4) + 4 + 2
    assert all(p.weight.numel() == 1 for p in prelus)


def test_dense_block_has_a_local_residual_and_dense_inputs() -> None:
    block = DenseBlock(6, growth=3, layers=3)
    assert [layer[0].in_channels for layer in block.layers] == [6, 9, 12]
    assert block.fusion.in_channels == 15 and block.fusion.kernel_size == (1, 1)
    torch.nn.init.zeros_(block.fusion.weight)
    torch.nn.init.zeros_(block.fusion.bias)
    x = torch.randn(2, 6, 5, 4)
    with torch.no_grad():
        assert torch.equal(block(x), x)


def test_attention_block_gates() -> None:
    block = AttentionBlock(8)
    assert block.channel_gate[1].out_channels == 1  # 8 // 16 rounds up to one channel
    assert AttentionBlock(64).channel_gate[1].out_channels == 4
    for module in block.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.zeros_(module.weight)
            torch.nn.init.zeros_(module.bias)
    x = torch.randn(2, 8, 5, 6)
    with torch.no_grad():
        # Both gates are sigmoid(0) = 1/2 with zero weights.
        torch.testing.assert_close(block(x), x / 4)
        torch.nn.init.constant_(block.spatial_conv.bias, -100.0)
        assert block(x).abs().max() < 1e-20  # a closed spatial gate silences every position


# ---------------------------------------------------------------- discriminator


def test_discriminator_without_classes_is_srgans() -> None:
    torch.manual_seed(0)
    model = SRUGANDiscriminator(patch_size=32, n_feats=4)
    assert model.n_classes == 0
    assert not any("class_head" in name for name, _ in model.named_parameters())
    srgan = Discriminator(patch_size=32, n_feats=4)
    srgan.load_state_dict(model.state_dict(), strict=True)
    x = torch.rand(3, 3, 32, 32)
    validity, classes = model.eval().forward_with_classes(x)
    assert classes is None
    assert validity.shape == (3, 1)
    with torch.no_grad():
        torch.testing.assert_close(validity, srgan.eval()(x))
        torch.testing.assert_close(model(x), validity)


def test_discriminator_class_head_learns() -> None:
    torch.manual_seed(0)
    model = SRUGANDiscriminator(patch_size=16, n_feats=4, n_classes=5).train()
    x, labels = torch.rand(8, 3, 16, 16), torch.randint(0, 5, (8,))
    validity, classes = model.forward_with_classes(x)
    assert validity.shape == (8, 1) and classes is not None and classes.shape == (8, 5)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(10):
        optimizer.zero_grad()
        _, classes = model.forward_with_classes(x)
        loss = torch.nn.functional.cross_entropy(classes, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses


# ---------------------------------------------------------------- bad arguments


def test_bad_scales_name_the_supported_ones() -> None:
    with pytest.raises(ValueError, match=r"SRUGAN: scale 3 .*supported scales: 2, 4"):
        SRUGAN(3)
    for cls in (SRCNN, UNet, ConvAutoEncoder):
        with pytest.raises(
            ValueError, match=rf"{cls.__name__}: scale 8 .*supported scales: 2, 3, 4"
        ):
            cls(8)


@pytest.mark.parametrize("n_classes", [1, -1, 2.5, True])
def test_discriminator_rejects_bad_class_counts(n_classes: object) -> None:
    with pytest.raises(ValueError, match=r"n_classes must be 0 \(no class head\) or >= 2"):
        SRUGANDiscriminator(n_classes=n_classes)  # type: ignore[arg-type]


@pytest.mark.parametrize("patch_size", [0, 8, 100])
def test_discriminator_rejects_bad_patch_sizes(patch_size: int) -> None:
    with pytest.raises(ValueError, match="multiple of 16"):
        SRUGANDiscriminator(patch_size=patch_size)


def test_discriminator_rejects_a_wrong_input_size() -> None:
    model = SRUGANDiscriminator(patch_size=16, n_feats=4, n_classes=3)
    with pytest.raises(ValueError, match=r"16x16.*32x32"):
        model.forward_with_classes(torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match=r"16x16.*32x32"):
        model(torch.rand(1, 3, 32, 32))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SRCNN(2, channels=2), "channels must be 1 or 3"),
        (lambda: SRCNN(2, f1=4), "positive and odd"),
        (lambda: SRCNN(2, n1=0), "n1 >= 1"),
        (lambda: UNet(2, depth=0), "depth >= 1"),
        (lambda: ConvAutoEncoder(2, n_feats=0), "n_feats >= 1"),
        (lambda: SRUGAN(2, unet_levels=0), "unet_levels >= 1"),
        (lambda: SRUGAN(2, n_dense=-1), "n_dense >= 0"),
    ],
)
def test_bad_sizes_are_rejected(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()
