"""A second look at half scale: a crack is only a crack where the network also sees one nearby at
half the resolution.

At half scale every pixel of the network's view covers twice the ground, so it judges a line by
more of its surroundings: the stain, the painted tining, the kerb that looked like a crack at full
resolution looks like what it is. A real crack stays a crack at half scale, if only in its widest
parts. So the checked probability of a pixel is the lower of its own and the highest half-scale
probability within :data:`REACH_PX` of it (a morphological dilation of the half-scale map): a
crack seen at half scale anywhere within that reach keeps its full-scale pixels, thin parts
included; a line never seen there is capped below the threshold.

Measured with the shipped model (``scripts/model_card.py --half-scale``, ``benchmarks/half_scale.py``;
README, "The half-scale check"): on the held-back hard negatives painted on crack-free walls,
tining 231 -> 0 px/MP and most other kinds to nothing; false pixels on drone road tiles 9-20 %
fewer; 2 px Dice within 0.005 on every validation domain (thin drone cracks lose most; on a
mosaic of the real drone photos about one short true crack per false record removed). It costs
a quarter-size pass of the network per tile, and nothing on tiles whose probabilities all stay
below the threshold (the check can only lower a probability: :func:`cracks.models.passes.check_cut`).
"""

from __future__ import annotations

import cv2
import numpy as np

from cracks.models.passes import Predict, SkippingPass

REACH_PX = 48  # full-scale pixels: a half-scale crack this close confirms a full-scale one (measured: 32 cut thin drone cracks)
MIN_SIDE_PX = 32  # the half-scale view is never smaller than one stride of the encoder


def half_scale_probabilities(predict: Predict, batch_uint8: np.ndarray, *, reach_px: int = REACH_PX) -> np.ndarray:
    """NxHxW float32: the highest probability ``predict`` gives each tile's half-scale view within
    ``reach_px`` of each pixel, back at the tile's size.

    The dilation runs at half scale (half the reach, a quarter of the pixels) before the map is
    brought back up bilinearly."""
    n, h, w = batch_uint8.shape[:3]
    size = (max(MIN_SIDE_PX, round(w / 2)), max(MIN_SIDE_PX, round(h / 2)))  # cv2 sizes are (width, height)
    small = np.stack([cv2.resize(tile, size, interpolation=cv2.INTER_AREA) for tile in batch_uint8])
    half = predict(small).astype(np.float32)
    reach = max(1, round(reach_px * size[0] / w))
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * reach + 1, 2 * reach + 1))
    return np.stack([cv2.resize(cv2.dilate(tile, kernel), (w, h), interpolation=cv2.INTER_LINEAR) for tile in half])


def checked_at_half_scale(predict: Predict, batch_uint8: np.ndarray, direct: np.ndarray, needed: np.ndarray, *,
                          reach_px: int = REACH_PX) -> np.ndarray:
    """``direct`` (the batch's float32 probabilities, lowered in place) checked against the half-scale
    view of the ``needed`` tiles."""
    if needed.any():
        direct[needed] = np.minimum(direct[needed], half_scale_probabilities(predict, batch_uint8[needed], reach_px=reach_px))
    return direct


def half_scale_checked(predict: Predict, batch_uint8: np.ndarray, *, check_from: float = 0.0,
                       reach_px: int = REACH_PX) -> np.ndarray:
    """``predict``'s probabilities of the batch, checked at half scale where they reach ``check_from``."""
    return HalfScaleChecked(predict, check_from=check_from, reach_px=reach_px)(batch_uint8)


class HalfScaleChecked(SkippingPass):
    """A backend (``cracks.models.backends``) that checks its tiles at half scale
    (:func:`checked_at_half_scale`) where that can change a decision, and counts the tiles it
    looked at twice (logged per site, when the backend is released)."""

    name = "half-scale check"

    def __init__(self, backend: Predict, *, check_from: float = 0.0, reach_px: int = REACH_PX):
        super().__init__(backend, run_from=check_from)
        self.reach_px = reach_px

    @property
    def check_from(self) -> float:
        return self.run_from

    @property
    def checked(self) -> int:
        return self.ran

    def second_pass(self, batch_uint8: np.ndarray, direct: np.ndarray, needed: np.ndarray) -> np.ndarray:
        return checked_at_half_scale(self.backend, batch_uint8, direct, needed, reach_px=self.reach_px)

    def prepare(self, tile_shape: tuple[int, int]) -> None:
        super().prepare(tile_shape)
        h, w = tile_shape
        super().prepare((max(MIN_SIDE_PX, round(h / 2)), max(MIN_SIDE_PX, round(w / 2))))  # the half-scale view
