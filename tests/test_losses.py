"""Training losses: VGG layer naming, content, texture, adversarial and the weighted sum, on
random VGG weights (one test on the real ones, skipped with the reason when they are absent)."""

from __future__ import annotations

import numpy as np
import pytest

from srbench.errors import MissingWeightsError, SpecError
from srbench.weights import files as weights

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from srbench.training.losses import (  # noqa: E402
    VGG19_LAYERS,
    VGG_LAYERS,
    AdversarialLoss,
    ContentLoss,
    GeneratorLoss,
    PixelLoss,
    TextureLoss,
    VGGFeatures,
    build_adversarial,
    build_generator_loss,
    gram_matrix,
    parse_loss_config,
    tile_grams,
)

F = torch.nn.functional
LAYERS = ("conv1_1", "relu1_1", "relu2_1", "relu3_1", "conv5_4", "relu5_4")
FULL_CONFIG = {
    "l1": 1.0,
    "mse": 0.5,
    "vgg": {"weight": 0.006, "layer": "relu5_4", "criterion": "mse"},
    "texture": {"weight": 2.0, "layers": ["relu1_1", "relu2_1"], "patch": 8},
    "adversarial": {"weight": 1.0e-3, "kind": "standard"},
}


def _images(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def extractor() -> VGGFeatures:
    return VGGFeatures(LAYERS, random_weights=True)


@pytest.fixture(scope="module")
def pair() -> tuple[torch.Tensor, torch.Tensor]:
    hr = _images(2, 3, 32, 32, seed=1)
    sr = (hr + 0.1 * _images(2, 3, 32, 32, seed=2)).clamp(0, 1)
    return sr, hr


@pytest.fixture
def no_weight_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(name: str) -> None:
        raise AssertionError(f"weights.locate({name!r}) was called")

    monkeypatch.setattr(weights, "locate", refuse)


# --------------------------------------------------------------------------------------------
# VGGFeatures


def test_layer_names_index_torchvision_vgg19_features():
    with torch.device("meta"):
        features = torchvision.models.vgg19(weights=None).features
    assert len(VGG19_LAYERS) == len(features) == 37
    conv, relu = VGG19_LAYERS.index("conv5_4"), VGG19_LAYERS.index("relu5_4")
    assert (conv, relu) == (34, 35)
    assert isinstance(features[conv], torch.nn.Conv2d)
    assert isinstance(features[relu], torch.nn.ReLU) and relu == conv + 1
    kinds = {"conv": torch.nn.Conv2d, "relu": torch.nn.ReLU, "pool": torch.nn.MaxPool2d}
    for name, module in zip(VGG19_LAYERS, features, strict=True):
        assert isinstance(module, kinds[name[:4]]), name
    assert VGG19_LAYERS.index("relu3_1") == 11 and VGG19_LAYERS.index("pool4") == 27


def test_unknown_layer_is_an_error_listing_valid_names():
    with pytest.raises(SpecError, match="relu5_5") as info:
        VGGFeatures(["relu1_1", "relu5_5"], random_weights=True)
    assert "conv5_4" in str(info.value) and "relu5_4" in str(info.value)
    with pytest.raises(SpecError, match="at least one"):
        VGGFeatures([], random_weights=True)


def test_extractor_is_truncated_frozen_and_stays_in_eval(extractor):
    small = VGGFeatures(["relu2_1"], random_weights=True)
    assert len(small.features) == VGG19_LAYERS.index("relu2_1") + 1
    assert len(extractor.features) == VGG19_LAYERS.index("relu5_4") + 1
    assert all(not p.requires_grad for p in extractor.parameters())
    parent = torch.nn.Sequential(small).train()
    assert parent.training and not small.training
    assert not any(m.training for m in small.modules())


def test_random_weights_depend_on_the_seed_only():
    state = torch.random.get_rng_state()
    a, b = (VGGFeatures(["conv1_2"], random_weights=True, seed=3) for _ in range(2))
    c = VGGFeatures(["conv1_2"], random_weights=True, seed=4)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's stream is untouched
    assert torch.equal(a.features[2].weight, b.features[2].weight)
    assert not torch.equal(a.features[2].weight, c.features[2].weight)


def test_conv_features_are_pre_activation_and_relu_ones_after(extractor, pair):
    x = pair[1]
    out = extractor(x)
    assert set(out) == set(LAYERS)
    assert out["conv5_4"].min() < 0 and out["conv1_1"].min() < 0
    assert out["relu5_4"].min() >= 0
    # An in-place ReLU would have overwritten the captured conv output with its activation.
    torch.testing.assert_close(out["relu5_4"], out["conv5_4"].clamp(min=0))
    torch.testing.assert_close(out["relu1_1"], out["conv1_1"].clamp(min=0))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    conv = extractor.features[0]
    expected = F.conv2d((x - mean) / std, conv.weight, conv.bias, padding=1)
    torch.testing.assert_close(out["conv1_1"], expected)


@pytest.mark.slow
def test_real_vgg19_weights_match_torchvision():
    status = weights.status(["vgg19"])[0]
    if not status.present:
        pytest.skip(f"{status.filename} not in the torch hub cache {weights.hub_dir()}")
    ours = VGGFeatures(["relu5_4"])
    reference = torchvision.models.vgg19(weights=None)
    reference.load_state_dict(torch.load(status.path, map_location="cpu", weights_only=True))
    x = _images(1, 3, 64, 64, seed=5)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = reference.features[:36].eval()((x - mean) / std)
        torch.testing.assert_close(ours(x)["relu5_4"], expected)


def test_missing_vgg_weights_name_the_file_and_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError) as info:
        build_generator_loss({"l1": 1.0, "vgg": 0.006})
    message = str(info.value)
    assert "vgg19-dcbb9e9d.pth" in message
    assert str(tmp_path / "hub" / "checkpoints") in message
    assert "srbench weights --fetch vgg19" in message


# --------------------------------------------------------------------------------------------
# Pixel and content losses


def test_pixel_losses(pair):
    sr, hr = pair
    assert PixelLoss("l1")(sr, hr).item() == pytest.approx((sr - hr).abs().mean().item())
    assert PixelLoss("mse")(sr, hr).item() == pytest.approx(((sr - hr) ** 2).mean().item())
    with pytest.raises(SpecError, match="Accepted: l1, mse"):
        PixelLoss("l2")
    with pytest.raises(ValueError, match="one shape"):
        PixelLoss()(sr, hr[..., :16])


@pytest.mark.parametrize("criterion", ["mse", "l1"])
def test_content_loss_value_and_gradients(extractor, pair, criterion):
    sr, hr = pair
    loss = ContentLoss(extractor, "relu5_4", criterion)
    assert loss(hr, hr).item() == 0.0
    sr = sr.clone().requires_grad_(True)
    value = loss(sr, hr)
    assert value.item() > 0
    with torch.no_grad():
        diff = extractor(sr)["relu5_4"] - extractor(hr)["relu5_4"]
    expected = (diff**2).mean() if criterion == "mse" else diff.abs().mean()
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)
    value.backward()
    assert sr.grad is not None and sr.grad.abs().sum() > 0
    assert all(p.grad is None for p in extractor.parameters())


def test_content_loss_needs_a_layer_the_extractor_computes(extractor):
    with pytest.raises(SpecError, match="does not compute"):
        ContentLoss(extractor, "relu4_4")
    with pytest.raises(SpecError, match="Accepted: l1, mse"):
        ContentLoss(extractor, "relu5_4", "huber")


# --------------------------------------------------------------------------------------------
# Texture loss


def test_gram_matrix_matches_einsum():
    features = _images(2, 5, 6, 7, seed=3) - 0.5
    expected = np.einsum("ncp,ndp->ncd", *(features.reshape(2, 5, 42).double().numpy(),) * 2)
    np.testing.assert_allclose(gram_matrix(features).numpy(), expected / (5 * 42), rtol=1e-5)


def test_gram_matrix_is_float32_under_autocast():
    features = 300.0 * _images(1, 8, 16, 16, seed=8)  # products sum past float16's 65504
    with torch.autocast("cpu", dtype=torch.bfloat16):
        gram = gram_matrix(features)
    assert gram.dtype == torch.float32
    torch.testing.assert_close(gram, gram_matrix(features))


def test_tile_grams_cover_the_map_tile_by_tile():
    features = _images(1, 4, 10, 8, seed=4)
    grams = tile_grams(features, 4)
    # Rows 0-3, 4-7 and the 2-row remainder, by columns 0-3 and 4-7: six tiles.
    tiles = [
        features[..., top:bottom, left : left + 4]
        for top, bottom in [(0, 4), (4, 8), (8, 10)]
        for left in (0, 4)
    ]
    assert grams.shape == (6, 4, 4)
    torch.testing.assert_close(grams, torch.cat([gram_matrix(t) for t in tiles]))
    small = features[..., :3, :3]
    torch.testing.assert_close(tile_grams(small, 16), gram_matrix(small))


def _within_tile_shuffle(features: torch.Tensor, patch: int) -> torch.Tensor:
    """``features`` with the positions of every ``patch`` x ``patch`` tile permuted in place."""
    n, c, h, w = features.shape
    tiles = features.reshape(n, c, h // patch, patch, w // patch, patch)
    tiles = tiles.permute(0, 1, 2, 4, 3, 5).reshape(n, c, h // patch, w // patch, patch * patch)
    order = torch.randperm(patch * patch, generator=torch.Generator().manual_seed(0))
    shuffled = tiles[..., order].reshape(n, c, h // patch, w // patch, patch, patch)
    return shuffled.permute(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)


def test_texture_loss_is_local_to_tiles(extractor):
    loss = TextureLoss(extractor, ["relu1_1"], patch=4)
    real = {"relu1_1": _images(2, 6, 8, 8, seed=6)}
    assert loss.from_features(real, real).item() == 0.0
    # A Gram matrix ignores where in its tile a feature vector is...
    shuffled = {"relu1_1": _within_tile_shuffle(real["relu1_1"], 4)}
    assert not torch.equal(shuffled["relu1_1"], real["relu1_1"])
    assert loss.from_features(shuffled, real).item() == pytest.approx(0.0, abs=1e-12)
    # ...but not which tile it is in: swapping two tiles of sr only changes the loss, while
    # swapping the same tiles in both sr and hr does not.
    fake = {"relu1_1": real["relu1_1"] + 0.3 * _images(2, 6, 8, 8, seed=7)}
    swap = lambda t: torch.cat([t[..., 4:], t[..., :4]], dim=-1)  # noqa: E731
    base = loss.from_features(fake, real).item()
    both = loss.from_features(
        {"relu1_1": swap(fake["relu1_1"])}, {"relu1_1": swap(real["relu1_1"])}
    )
    assert both.item() == pytest.approx(base, rel=1e-6)
    assert loss.from_features(fake, {"relu1_1": swap(real["relu1_1"])}).item() != pytest.approx(
        base, rel=1e-3
    )
    # One whole-map tile is blind to the swap.
    whole = TextureLoss(extractor, ["relu1_1"], patch=8)
    assert whole.from_features(real, {"relu1_1": swap(real["relu1_1"])}).item() == pytest.approx(
        0.0, abs=1e-12
    )


def test_texture_loss_on_images_and_maps_smaller_than_the_patch(extractor, pair):
    sr, hr = pair  # 32 x 32: relu3_1 is 8 x 8, smaller than the 16-pixel tile
    loss = TextureLoss(extractor, ["relu1_1", "relu2_1", "relu3_1"], patch=16)
    assert loss(hr, hr).item() == 0.0
    sr = sr.clone().requires_grad_(True)
    value = loss(sr, hr)
    assert torch.isfinite(value) and value.item() > 0
    value.backward()
    assert sr.grad.abs().sum() > 0
    fake, real = extractor(sr.detach()), extractor(hr)
    per_layer = [
        F.mse_loss(tile_grams(fake[name], 16), tile_grams(real[name], 16)) for name in loss.layers
    ]
    assert value.item() == pytest.approx(float(sum(per_layer) / 3), rel=1e-5)
    with pytest.raises(SpecError, match="positive integer"):
        TextureLoss(extractor, ["relu1_1"], patch=0)


# --------------------------------------------------------------------------------------------
# Adversarial


def test_standard_adversarial_loss_formulas():
    adversarial = AdversarialLoss("standard")
    fake = torch.tensor([-2.0, 0.5, 3.0])
    real = torch.tensor([1.0, -0.5, 2.0, 0.0])
    expected_g = -torch.log(torch.sigmoid(fake)).mean()
    torch.testing.assert_close(adversarial.generator(fake), expected_g)
    torch.testing.assert_close(adversarial.generator(fake, real), expected_g)
    torch.testing.assert_close(adversarial(fake), expected_g)
    expected_d = -torch.log(torch.sigmoid(real)).mean() - torch.log(1 - torch.sigmoid(fake)).mean()
    torch.testing.assert_close(adversarial.discriminator(real, fake), expected_d)
    assert adversarial.discriminator(real + 1, fake) < adversarial.discriminator(real, fake)
    assert adversarial.generator(fake + 1) < adversarial.generator(fake)


def test_relativistic_average_loss_formulas():
    """ESRGAN eqs. 1-2 with D_Ra(a, b) = sigmoid(C(a) - mean C(b)), halved as in its code."""
    adversarial = AdversarialLoss("relativistic")
    fake = torch.tensor([-2.0, 0.5, 3.0])
    real = torch.tensor([1.0, -0.5, 2.0, 0.0])
    real_vs_fake = torch.sigmoid(real - fake.mean())
    fake_vs_real = torch.sigmoid(fake - real.mean())
    expected_d = -(torch.log(real_vs_fake).mean() + torch.log(1 - fake_vs_real).mean()) / 2
    expected_g = -(torch.log(1 - real_vs_fake).mean() + torch.log(fake_vs_real).mean()) / 2
    torch.testing.assert_close(adversarial.discriminator(real, fake), expected_d)
    torch.testing.assert_close(adversarial.generator(fake, real), expected_g)
    assert adversarial.needs_real and not AdversarialLoss("standard").needs_real
    # shifting every logit by one constant changes nothing: only the difference counts
    torch.testing.assert_close(adversarial.generator(fake + 5, real + 5), expected_g)
    assert adversarial.generator(fake + 1, real) < expected_g
    with pytest.raises(ValueError, match="pass real_logits"):
        adversarial.generator(fake)


def test_the_relativistic_kind_from_a_config(no_weight_lookup):
    loss = build_generator_loss(
        {"l1": 1.0e-2, "adversarial": {"weight": 5.0e-3, "kind": "relativistic"}}
    )
    fake, real = torch.tensor([0.3, -0.2]), torch.tensor([1.0, 2.0])
    sr, hr = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    total, parts = loss(sr, hr, fake_logits=fake, real_logits=real)
    expected = 5.0e-3 * AdversarialLoss("relativistic").generator(fake, real)
    assert parts["adversarial"] == pytest.approx(expected.item())
    assert build_adversarial({"adversarial": {"weight": 1.0, "kind": "relativistic"}}).needs_real


def test_vgg16_layers_and_the_perceptual_unet_loss(no_weight_lookup, pair):
    with torch.device("meta"):
        features = torchvision.models.vgg16(weights=None).features
    names = VGG_LAYERS["vgg16"]
    assert len(names) == len(features) == 31 and names.index("relu3_3") == 15
    assert isinstance(features[names.index("conv3_3")], torch.nn.Conv2d)
    loss = build_generator_loss(
        {"vgg": {"weight": 1.0, "layer": "relu3_3", "network": "vgg16"}}, random_vgg=True
    )
    extractor = loss.terms["vgg"].extractor
    assert extractor.network == "vgg16" and len(extractor.features) == 16
    sr, hr = pair
    total, _ = loss(sr, hr)
    expected = F.mse_loss(extractor(sr)["relu3_3"], extractor(hr)["relu3_3"])
    torch.testing.assert_close(total, expected)
    with pytest.raises(SpecError, match="Unknown VGG16 layer 'relu5_4'"):
        build_generator_loss({"vgg": {"weight": 1.0, "layer": "relu5_4", "network": "vgg16"}})
    with pytest.raises(SpecError, match="Unknown VGG network 'vgg11'"):
        build_generator_loss({"vgg": {"weight": 1.0, "layer": "relu1_1", "network": "vgg11"}})


def test_vgg16_weights_are_looked_for_by_name(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError, match=r"vgg16-397923af\.pth"):
        VGGFeatures(["relu3_3"], network="vgg16")


def test_unknown_adversarial_kind():
    with pytest.raises(SpecError, match="Accepted: standard, relativistic"):
        AdversarialLoss("wasserstein")


# --------------------------------------------------------------------------------------------
# GeneratorLoss and its config


def test_generator_loss_is_the_weighted_sum_with_one_vgg_pass(pair):
    sr, hr = pair
    loss = build_generator_loss(FULL_CONFIG, random_vgg=True)
    assert loss.needs_discriminator
    assert isinstance(loss.adversarial, AdversarialLoss)
    extractor = loss.terms["vgg"].extractor
    assert loss.terms["texture"].extractor is extractor
    assert extractor.layers == ("relu1_1", "relu2_1", "relu5_4")
    calls = []
    hook = extractor.register_forward_hook(lambda *args: calls.append(1))
    fake_logits = torch.tensor([[0.3], [-1.2]])
    sr = sr.clone().requires_grad_(True)
    try:
        total, parts = loss(sr, hr, fake_logits=fake_logits)
    finally:
        hook.remove()
    assert len(calls) == 2  # once for sr, once for hr
    assert list(parts) == list(FULL_CONFIG)
    expected = {
        "l1": 1.0 * PixelLoss("l1")(sr, hr),
        "mse": 0.5 * PixelLoss("mse")(sr, hr),
        "vgg": 0.006 * ContentLoss(extractor, "relu5_4")(sr, hr),
        "texture": 2.0 * TextureLoss(extractor, ["relu1_1", "relu2_1"], 8)(sr, hr),
        "adversarial": 1e-3 * AdversarialLoss().generator(fake_logits),
    }
    for name, value in expected.items():
        assert parts[name] == pytest.approx(value.item(), rel=1e-5), name
        assert value.item() > 0
    assert total.item() == pytest.approx(sum(v.item() for v in expected.values()), rel=1e-5)
    total.backward()
    assert sr.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss.parameters())


def test_adversarial_term_needs_logits(pair, no_weight_lookup):
    sr, hr = pair
    loss = build_generator_loss({"l1": 1.0, "adversarial": 1.0e-3})
    with pytest.raises(ValueError, match="no fake_logits"):
        loss(sr, hr)
    off = build_generator_loss({"l1": 1.0, "adversarial": 0.0})
    assert not off.needs_discriminator and off.adversarial is None
    total, parts = off(sr, hr, fake_logits=torch.zeros(2, 1))
    assert list(parts) == ["l1"]
    assert total.item() == pytest.approx(parts["l1"])


def test_vgg_is_not_built_without_a_vgg_term(pair, no_weight_lookup):
    loss = build_generator_loss({"l1": 1.0, "vgg": 0, "texture": {"weight": 0.0}})
    assert not any(isinstance(m, VGGFeatures) for m in loss.modules())
    total, parts = loss(*pair)
    assert list(parts) == ["l1"]


def test_build_adversarial(no_weight_lookup):
    adversarial = build_adversarial(FULL_CONFIG)
    assert isinstance(adversarial, AdversarialLoss) and adversarial.kind == "standard"
    assert build_adversarial({"l1": 1.0}) is None
    assert build_adversarial({"l1": 1.0, "adversarial": 0}) is None


@pytest.mark.parametrize(
    ("config", "fragments"),
    [
        ({"l1": 1.0, "perceptual": 1.0}, ["'perceptual'", "l1, mse, vgg, texture, adversarial"]),
        ({"vgg": {"weight": 1.0, "layers": ["relu5_4"]}}, ["'layers'", "weight, layer, criterion"]),
        ({"l1": -1.0}, ["'l1'", "-1.0", ">= 0"]),
        ({"adversarial": "1e-3"}, ["must be a number", "1.0e-3"]),
        ({"l1": True}, ["must be a number"]),
        ({"vgg": {"layer": "relu5_4"}}, ["no weight", "weight: NUMBER"]),
        ({"vgg": {"weight": 1.0, "layer": "relu6_1"}}, ["'relu6_1'", "relu5_4"]),
        ({"vgg": {"weight": 1.0, "criterion": "huber"}}, ["'huber'", "l1, mse"]),
        ({"texture": {"weight": 1.0, "patch": 0}}, ["texture patch", "positive integer"]),
        ({"adversarial": {"weight": 1.0, "kind": "wgan"}}, ["'wgan'", "standard"]),
        ({"l1": 0, "mse": 0.0}, ["no term with a positive weight"]),
        ({}, ["non-empty mapping"]),
    ],
)
def test_config_errors_say_what_is_wrong(config, fragments, no_weight_lookup):
    with pytest.raises(SpecError) as info:
        build_generator_loss(config)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_parse_fills_defaults():
    specs = parse_loss_config({"l1": 1, "vgg": 0.006, "texture": 1.0, "adversarial": 5.0e-3})
    assert specs["l1"] == {"weight": 1.0}
    assert specs["vgg"] == {
        "weight": 0.006,
        "layer": "relu5_4",
        "criterion": "mse",
        "network": "vgg19",
    }
    assert specs["texture"]["layers"] == ("relu1_1", "relu2_1", "relu3_1")
    assert specs["texture"]["patch"] == 16
    assert specs["adversarial"] == {"weight": 5.0e-3, "kind": "standard"}


def test_generator_loss_from_modules(extractor, pair):
    sr, hr = pair
    loss = GeneratorLoss(
        {"pix": (2.0, PixelLoss("l1")), "conv": (0.5, ContentLoss(extractor, "conv5_4", "l1"))}
    )
    total, parts = loss(sr, hr)
    expected = 2.0 * PixelLoss("l1")(sr, hr) + 0.5 * ContentLoss(extractor, "conv5_4", "l1")(sr, hr)
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    assert set(parts) == {"pix", "conv"}
    with pytest.raises(SpecError, match=">= 0"):
        GeneratorLoss({"pix": (-1.0, PixelLoss())})
