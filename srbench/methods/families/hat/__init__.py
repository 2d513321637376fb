"""HAT (Chen et al., "Activating More Pixels in Image Super-Resolution Transformer", CVPR 2023):
the Hybrid Attention Transformer's released checkpoints, loaded through spandrel (``HAT``).

The authors publish every file in one Google Drive folder (no per-file links, no hashes); the
test options of their repository (``options/test/*.yml``) name the files and their networks,
which load from ``params_ema``. Tags: ``hat`` (DF2K, the paper's main model), ``hat-s``,
``hat-imagenet`` (HAT after ImageNet pre-training), ``hat-l`` (12 groups, ImageNet pre-training)
and the real-world GAN models ``real-gan`` and ``real-gan-sharper``.
"""

from __future__ import annotations

from srbench.methods.families.releases import by_scale, declare_release
from srbench.methods.papers import PaperScore
from srbench.methods.plugins import register_method
from srbench.methods.zoo import Release, ZooFamily, ZooMethod

PAPER = "Chen et al., Activating More Pixels in Image Super-Resolution Transformer, CVPR 2023"
#: The authors' Google Drive folder of every HAT checkpoint (README, "How To Test").
FOLDER = "https://drive.google.com/drive/folders/1HpmReFfoUqUbnAOQ7rvOeNU3uf_m69w0?usp=sharing"
#: The authors' README table: x4 without ImageNet pre-training, PSNR only (the paper's Table 6
#: also has SSIM, x2 and x3, which could not be read from a source here).
README_X4 = "Chen et al. 2023 (HAT), authors' README benchmark table (x4, PSNR only)"
BY_HAND = "the authors share a Google Drive folder, not a file link: download the file by name."
NO_HASH = "No hash is published; download the file by name from the authors' shared folder."


def _files(
    tag: str, stem: str, pattern: str, scales: tuple[int, ...] = (2, 3, 4)
) -> dict[int, str]:
    files = {s: (pattern.format(s=s), FOLDER) for s in scales}
    return declare_release("hat", tag, stem, files, by_hand=BY_HAND)


def _x4_psnr(*psnr: float) -> tuple[PaperScore, ...]:
    return by_scale(README_X4, {4: [(p, None) for p in psnr]})


FAMILY = ZooFamily(
    name="hat",
    spandrel="HAT",
    summary="HAT: Hybrid Attention Transformer (CVPR 2023); tags hat, hat-s, hat-imagenet, "
    "hat-l, real-gan, real-gan-sharper.",
    paper=PAPER,
    licence="Apache-2.0 (the authors' repository; no separate licence for the weights)",
    releases={
        "hat": Release(
            _files("hat", "hat", "HAT_SRx{s}.pth"),
            _x4_psnr(33.04, 29.23, 28.00, 27.97, 32.48),
            "HAT (6 groups x 6 blocks, 180 channels) trained on DF2K; x4 fine-tuned from x2. "
            "Only the README's x4 PSNR is listed: the paper's x2/x3 rows and SSIM (Table 6) "
            "were not verified. " + NO_HASH,
        ),
        "hat-s": Release(
            _files("hat-s", "hat-s", "HAT-S_SRx{s}.pth"),
            _x4_psnr(32.92, 29.15, 27.97, 27.87, 32.35),
            "HAT-S (144 channels, compress and squeeze factors 24) trained on DF2K. Only the "
            "README's x4 PSNR is listed: x2/x3 rows and SSIM were not verified. " + NO_HASH,
        ),
        "hat-imagenet": Release(
            _files("hat-imagenet", "hat-imagenet", "HAT_SRx{s}_ImageNet-pretrain.pth"),
            (),
            "HAT pre-trained on ImageNet, fine-tuned on DF2K (the paper's HAT-dagger rows of "
            "Table 6, not verified, so none are listed). " + NO_HASH,
        ),
        "hat-l": Release(
            _files("hat-l", "hat-l", "HAT-L_SRx{s}_ImageNet-pretrain.pth"),
            (),
            "HAT-L (12 groups) pre-trained on ImageNet, fine-tuned on DF2K (the paper's Table "
            "6 rows, not verified, so none are listed). " + NO_HASH,
        ),
        "real-gan": Release(
            _files("real-gan", "hat-real-gan", "Real_HAT_GAN_SRx4.pth", (4,)),
            (),
            "Real-world SR GAN model (Real-ESRGAN degradations; the better-fidelity one): a "
            "real-world model has no bicubic-protocol table. " + NO_HASH,
        ),
        "real-gan-sharper": Release(
            _files(
                "real-gan-sharper", "hat-real-gan-sharper", "Real_HAT_GAN_SRx4_sharper.pth", (4,)
            ),
            (),
            "Real-world SR GAN model trained on USM-sharpened ground truth (sharper): a "
            "real-world model has no bicubic-protocol table. " + NO_HASH,
        ),
    },
    default_tag="hat",
)


@register_method
class HAT(ZooMethod):
    """HAT: the Hybrid Attention Transformer's released checkpoints, by tag."""

    family = FAMILY
