"""Test-time augmentation: the network's probabilities averaged over a tile and its mirror image.

A crack looks like a crack in the mirror; much of what the network marks wrongly does not survive
the mirror (its context flips). Measured with the shipped model (torch fp32, ``scripts/model_card.py
--tta``): crack pixels on crack-free concrete walls 117 -> 11 per MP; synthetic hard negatives
13 % (drone tiles) to 100 % (photo seams and nodata collars on walls) fewer; Dice on every
validation domain 0.002-0.004 higher. It costs a second pass of the network and gained nothing on
the sample site, so inspection offers it as ``--tta`` rather than by default.

The second pass is only run where it can change a decision (:func:`cracks.models.passes.mirror_cut`):
on a tile whose plain probabilities all lie far below the threshold, no mirror can lift the
average over it. Most tiles of crack-free concrete are such tiles (on the crack-free walls, 94 % with the shipped model),
so ``--tta`` costs little where it is meant for: walls and decks with sparse cracking.
"""

from __future__ import annotations

import numpy as np

from cracks.models.passes import Predict, SkippingPass


def flip_averaged(predict: Predict, batch_uint8: np.ndarray, *, mirror_from: float = 0.0) -> np.ndarray:
    """Mean of ``predict`` on the batch and on its left-right mirror (mirrored back), float32.

    With ``mirror_from`` (see :func:`cracks.models.passes.mirror_cut`), tiles whose plain
    probabilities all lie below it keep them as they are: their mirror pass is not run."""
    return FlipAveraged(predict, mirror_from=mirror_from)(batch_uint8)


def averaged_with_mirror(predict: Predict, batch_uint8: np.ndarray, direct: np.ndarray, needed: np.ndarray) -> np.ndarray:
    """``direct`` (the batch's plain float32 probabilities, averaged in place) with the mirror pass
    of the ``needed`` tiles."""
    if needed.all():
        direct += predict(np.ascontiguousarray(batch_uint8[:, :, ::-1]))[:, :, ::-1]
        direct *= 0.5
    elif needed.any():
        mirrored = predict(np.ascontiguousarray(batch_uint8[needed][:, :, ::-1]))[:, :, ::-1]
        direct[needed] = (direct[needed] + mirrored) * 0.5
    return direct


class FlipAveraged(SkippingPass):
    """A backend (``cracks.models.backends``) that averages its tiles with their mirror images
    (:func:`averaged_with_mirror`) where that can change a decision, and counts the tiles whose
    mirror pass it ran (logged per site, when the backend is released)."""

    name = "mirror pass"

    def __init__(self, backend: Predict, *, mirror_from: float = 0.0):
        super().__init__(backend, run_from=mirror_from)

    @property
    def mirror_from(self) -> float:
        return self.run_from

    @property
    def mirrored(self) -> int:
        return self.ran

    def second_pass(self, batch_uint8: np.ndarray, direct: np.ndarray, needed: np.ndarray) -> np.ndarray:
        return averaged_with_mirror(self.backend, batch_uint8, direct, needed)  # a mirrored tile has the same shape
