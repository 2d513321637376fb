"""The pretrained backbones that metrics and training losses share: torchvision's AlexNet, VGG16
and VGG19 (LPIPS, perceptual losses), the FID Inception of pytorch-fid, and LPIPS' linear heads
(shipped inside the ``lpips`` wheel). The trained families declare their own releases.

Each declaration is also a module constant, so metrics name their backbones' hashes in their
versions (``1+inception.6726825d``) without a registry lookup at import time.
"""

from __future__ import annotations

from srbench.weights.files import WeightFile, declare

__all__ = ["ALEXNET", "FID_INCEPTION", "LPIPS_ALEX", "LPIPS_VGG", "VGG16", "VGG19"]

_TORCHVISION = "https://download.pytorch.org/models/"

ALEXNET = WeightFile(
    name="alexnet",
    filename="alexnet-owt-7be5be79.pth",
    url=_TORCHVISION + "alexnet-owt-7be5be79.pth",
    sha256=None,
    sha256_prefix="7be5be79",
    used_by="lpips (alex backbone)",
)
VGG16 = WeightFile(
    name="vgg16",
    filename="vgg16-397923af.pth",
    url=_TORCHVISION + "vgg16-397923af.pth",
    sha256=None,
    sha256_prefix="397923af",
    used_by="lpips-vgg (vgg16 backbone)",
)
VGG19 = WeightFile(
    name="vgg19",
    filename="vgg19-dcbb9e9d.pth",
    url=_TORCHVISION + "vgg19-dcbb9e9d.pth",
    sha256=None,
    sha256_prefix="dcbb9e9d",
    used_by="VGG content losses (training)",
)
FID_INCEPTION = WeightFile(
    name="fid-inception",
    filename="pt_inception-2015-12-05-6726825d.pth",
    url="https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    "pt_inception-2015-12-05-6726825d.pth",
    sha256=None,
    sha256_prefix="6726825d",
    used_by="fid, kid (pytorch-fid InceptionV3)",
)
_LPIPS_RAW = "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/"
LPIPS_ALEX = WeightFile(
    name="lpips-alex-v0.1",
    filename="alex.pth",
    url=_LPIPS_RAW + "alex.pth",
    sha256="df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0",
    sha256_prefix="df73285e",
    used_by="lpips (linear heads)",
    packaged="lpips:weights/v0.1/alex.pth",
)
LPIPS_VGG = WeightFile(
    name="lpips-vgg-v0.1",
    filename="vgg.pth",
    url=_LPIPS_RAW + "vgg.pth",
    sha256="a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868",
    sha256_prefix="a78928a0",
    used_by="lpips-vgg (linear heads)",
    packaged="lpips:weights/v0.1/vgg.pth",
)

declare(ALEXNET, VGG16, VGG19, FID_INCEPTION, LPIPS_ALEX, LPIPS_VGG)
