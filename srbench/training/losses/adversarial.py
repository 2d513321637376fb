"""Adversarial losses on discriminator logits: the standard GAN and ESRGAN's relativistic one."""

from __future__ import annotations

from srbench.training.losses.common import F, Tensor, choice, nn, torch

#: Adversarial loss formulations :class:`AdversarialLoss` knows.
ADVERSARIAL_KINDS: tuple[str, ...] = ("standard", "relativistic")


class AdversarialLoss(nn.Module):
    """GAN losses on discriminator logits, for the generator and the discriminator steps.

    ``"standard"`` is the GAN of Goodfellow et al. (2014) in its non-saturating form, as SRGAN
    uses it; with ``sigma`` the logistic function and means over every logit::

        generator:      L_G = -mean log sigma(D(G(x)))
        discriminator:  L_D = -mean log sigma(D(y)) - mean log(1 - sigma(D(G(x))))

    i.e. binary cross-entropy with logits against 1 (real) and 0 (fake).

    ``"relativistic"`` is ESRGAN's relativistic average GAN (RaGAN, Jolicoeur-Martineau 2018):
    the discriminator judges whether a real image is more realistic than the average fake,
    ``D_Ra(a, b) = sigma(C(a) - mean C(b))``, and both networks use both logits::

        generator:      L_G = -(mean log(1 - D_Ra(y, G(x))) + mean log D_Ra(G(x), y)) / 2
        discriminator:  L_D = -(mean log D_Ra(y, G(x)) + mean log(1 - D_Ra(G(x), y))) / 2

    as ESRGAN's code writes them (the halves included). The generator step's ``real_logits``
    carry no gradient to the discriminator (pass them detached).

    Args:
        kind: One of :data:`ADVERSARIAL_KINDS`.
    """

    def __init__(self, kind: str = "standard") -> None:
        super().__init__()
        self.kind = choice("adversarial loss kind", kind, ADVERSARIAL_KINDS)

    @property
    def needs_real(self) -> bool:
        """Whether the generator step needs ``D(y)`` as well as ``D(G(x))``."""
        return self.kind == "relativistic"

    def generator(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        """The generator's loss ``L_G`` from ``D(G(x))`` (and ``D(y)`` when relativistic).

        Raises:
            ValueError: A relativistic loss without ``real_logits``.
        """
        if not self.needs_real:
            return _bce(fake_logits, 1.0)
        if real_logits is None:
            raise ValueError(
                "The relativistic adversarial loss compares D(G(x)) with D(y): pass real_logits."
            )
        return self._relativistic(real_logits, fake_logits, real_target=0.0)

    def discriminator(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """The discriminator's loss ``L_D`` from ``D(y)`` and ``D(G(x))``.

        Pass the logits of detached ``G(x)`` so this step does not reach the generator.
        """
        if self.needs_real:
            return self._relativistic(real_logits, fake_logits, real_target=1.0)
        return _bce(real_logits, 1.0) + _bce(fake_logits, 0.0)

    def accuracy(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """The share of images the discriminator tells apart: real ones judged real and
        generated ones judged fake (each half of the score; 0.5 is chance). The standard kind
        judges each logit by its sign; the relativistic one each image against the other
        side's mean, as its loss does.

        Example:
            >>> loss = AdversarialLoss()
            >>> float(loss.accuracy(torch.tensor([2.0, -1.0]), torch.tensor([-3.0, -1.0])))
            0.75
        """
        if self.needs_real:
            real_logits, fake_logits = (
                real_logits - fake_logits.mean(),
                fake_logits - real_logits.mean(),
            )
        real_right = (real_logits > 0).float().mean()
        fake_right = (fake_logits < 0).float().mean()
        return (real_right + fake_right) / 2

    @staticmethod
    def _relativistic(real: Tensor, fake: Tensor, real_target: float) -> Tensor:
        """Real judged against the mean fake and fake against the mean real, halved."""
        real_vs_fake = _bce(real - fake.mean(), real_target)
        fake_vs_real = _bce(fake - real.mean(), 1.0 - real_target)
        return (real_vs_fake + fake_vs_real) / 2

    def forward(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        """Same as :meth:`generator`."""
        return self.generator(fake_logits, real_logits)


def _bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))
