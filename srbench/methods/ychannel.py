"""Networks that super-resolve the luma only (SRCNN, VDSR, FSRCNN, ESPCN and their ports).

A subclass of :class:`YChannelMethod` supplies the network call on Y alone; the base does what
those papers' MATLAB code does around it: ``rgb2ycbcr`` on floats, bicubic upscaling of Cb and Cr
(and of Y, for networks that refine an interpolated image) without rounding, and the way back to
RGB. Getting any of these steps slightly wrong (``uint8`` rounding, another YCbCr matrix) costs
tenths of a dB and is invisible in the output.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import numpy as np

from srbench.color import rgb2ycbcr, ycbcr2rgb
from srbench.errors import MethodOutputError
from srbench.methods.base import SRMethod
from srbench.resize import bicubic_upscale

__all__ = ["YChannelMethod"]


class YChannelMethod(SRMethod):
    """A method whose network sees only the Y channel; the colour is bicubic.

    ``upscale`` does, on one RGB ``uint8`` image:

    1. ``ycc = rgb2ycbcr(lr)`` (:func:`srbench.color.rgb2ycbcr`, MATLAB's, float64, unrounded);
    2. ``up = bicubic_upscale(ycc, scale)`` (:func:`srbench.resize.bicubic_upscale`: MATLAB's
       ``imresize`` on the double image, never rounded to ``uint8``);
    3. ``y = upscale_y(Y, scale)`` with ``Y`` the interpolated luma ``up[..., 0] / 255`` when
       :attr:`interpolated_input` is true (VDSR, SRCNN), else the LR luma ``ycc[..., 0] / 255``
       (FSRCNN, ESPCN: the network upscales);
    4. ``y`` is clipped to [0, 1] (MATLAB's ``uint8(y * 255)`` in those papers' test code),
       replaces the luma of ``up``, and ``ycbcr2rgb`` gives RGB, clipped to 0..255 and returned
       as float64 (the runner rounds it to ``uint8`` as it does every float output).

    **Y is on [0, 1]** (``Y / 255``, so in [16/255, 235/255] for in-gamut images), the scale
    the released PyTorch ports of these networks are trained on; a network trained on 0..255
    multiplies by 255 inside ``upscale_y``.
    """

    #: True: the network gets the bicubic-upscaled luma (same size as its output); False: the
    #: LR luma, and the network upscales by ``scale`` itself.
    interpolated_input: ClassVar[bool] = True

    @abc.abstractmethod
    def upscale_y(self, y: np.ndarray, scale: int) -> np.ndarray:
        """The network on one luma channel.

        Args:
            y: ``(h, w)`` float64 on [0, 1]: the bicubic-upscaled luma (``h, w`` already the
                output size) if :attr:`interpolated_input`, else the LR luma.
            scale: The upscaling factor.

        Returns:
            The super-resolved luma, ``(H, W)`` = ``scale`` times the LR size, on [0, 1]
            (any float or ``torch``-converted numpy dtype; values outside are clipped).
        """

    def upscale(self, lr: np.ndarray, scale: int) -> np.ndarray:
        """RGB ``uint8`` in, float64 RGB on 0..255 out: the network on Y, bicubic Cb and Cr."""
        ycc = rgb2ycbcr(lr)
        up = bicubic_upscale(ycc, scale)
        source = up if self.interpolated_input else ycc
        y = np.asarray(self.upscale_y(source[..., 0] / 255.0, scale), dtype=np.float64)
        if y.shape != up.shape[:2]:
            raise MethodOutputError(
                f"upscale_y returned shape {y.shape}; expected {up.shape[:2]} (x{scale} of the "
                f"LR {lr.shape[:2]}), a 2-D luma array."
            )
        up[..., 0] = np.clip(y, 0.0, 1.0) * 255.0
        return np.clip(ycbcr2rgb(up), 0.0, 255.0)
