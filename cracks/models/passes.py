"""The passes a run puts around the network, as one value that travels from settings to tiles.

Inspection can run two passes around the network on every tile: the mirror average (``--tta``,
:mod:`cracks.models.tta`) and the half-scale check (on by default, :mod:`cracks.models.scale_check`).
Each can skip a tile whose plain probabilities cannot reach a decision at the run's threshold,
and a skipped tile keeps probabilities that a run at a lower threshold must not reuse. So which
passes ran, and from which probability on, is part of a segmentation's resume key and of the
change reports' comparison of epochs. :class:`Passes` holds the four facts together: the job's
settings make it (:meth:`Passes.at_threshold`), the backend choice carries it and writes it into
the resume key, flow workers read it back (:meth:`Passes.parse`), and :meth:`Passes.around` wraps
a backend or a plain prediction function in it, so the command, the flows and the scoring scripts
cannot run different passes by passing one of four loose settings differently.

This module is plain arithmetic and strings (no OpenCV, no torch), so the command line's start-up
can import it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

Predict = Callable[[np.ndarray], np.ndarray]  # NxHxWx3 uint8 -> NxHxW probabilities

U8_MARGIN = 2 / 255  # inspection keeps probabilities as rounded uint8 (cracks.inspect.rows.to_u8)
TTA_SUFFIX = " + tta"
HALF_SCALE_SUFFIX = " + half-scale check"


def mirror_cut(threshold: float) -> float:
    """The plain probability a tile must reach somewhere for its mirror pass to matter at ``threshold``.

    The mirrored probability is below 1, so the average of a plain ``p`` with it is below
    ``(p + 1) / 2``: where every plain probability of a tile is below ``2 * threshold - 1`` (0.40 at
    the shipped 0.70), the average stays under the threshold whatever the mirror says, and the
    tile's decisions are those of full mirror averaging. The margin keeps that true for the rounded
    uint8 probabilities inspection thresholds; the value is rounded down to three decimals so that
    it reads the same in a resume key. At thresholds up to 0.5 every tile needs its mirror (0.0).
    """
    return max(0.0, math.floor((2 * threshold - 1 - U8_MARGIN) * 1000) / 1000)


def check_cut(threshold: float) -> float:
    """The plain probability a tile must reach somewhere for its half-scale pass to matter at
    ``threshold``: the check only lowers probabilities, so a tile whose every pixel is below the
    threshold keeps its decisions without it (the margin covers inspection's uint8 rounding)."""
    return max(0.0, round(threshold - U8_MARGIN, 3))


def tiles_reaching(direct: np.ndarray, cut: float) -> np.ndarray:
    """Per tile of an NxHxW batch of plain probabilities: does any pixel reach ``cut`` (0.0: every tile)?"""
    if cut <= 0.0:
        return np.ones(len(direct), bool)
    return direct.reshape(len(direct), -1).max(axis=1) >= cut


class SkippingPass:
    """A backend wrapper whose second pass runs only on the tiles whose plain probabilities reach
    ``run_from`` somewhere. It counts the tiles it saw and those it ran on, and logs both per site
    when the backend is released. Subclasses say what the pass does (:meth:`second_pass`) and what
    the log calls it (``name``)."""

    name = "second pass"

    def __init__(self, backend: Predict, *, run_from: float = 0.0):
        self.backend = backend
        self.run_from = run_from
        self.tiles = 0
        self.ran = 0

    def __call__(self, batch_uint8: np.ndarray) -> np.ndarray:
        direct = self.backend(batch_uint8).astype(np.float32)  # a copy: backends may reuse their output buffer
        needed = tiles_reaching(direct, self.run_from)
        self.tiles += len(needed)
        self.ran += int(needed.sum())
        return self.second_pass(batch_uint8, direct, needed)

    def second_pass(self, batch_uint8: np.ndarray, direct: np.ndarray, needed: np.ndarray) -> np.ndarray:
        """``direct`` (the batch's plain float32 probabilities) after the pass on the ``needed`` tiles."""
        raise NotImplementedError

    def prepare(self, tile_shape: tuple[int, int]) -> None:
        from cracks.models.backends import prepare

        prepare(self.backend, tile_shape)

    def release(self) -> None:
        from cracks.models.backends import release

        if self.tiles:
            log.info("%s on %d of %d tiles (the others stayed below %.3f)", self.name, self.ran, self.tiles,
                     self.run_from)
        self.tiles = self.ran = 0
        release(self.backend)


@dataclass(frozen=True)
class Passes:
    """Which passes run around the network, and from which plain probability each runs on a tile
    (0.0: on every tile, as scoring sweeps over thresholds need)."""

    tta: bool = False  # probabilities averaged with the mirror image's
    mirror_from: float = 0.0  # with tta: tiles whose plain probabilities stay below this skip the mirror
    half_scale: bool = False  # probabilities checked against the tile's half-scale view
    check_from: float = 0.0  # with half_scale: tiles whose probabilities stay below this skip the check

    def __post_init__(self) -> None:
        if self.mirror_from and not self.tta:
            raise ValueError(f"mirror_from={self.mirror_from} without tta: no mirror pass to skip")
        if self.check_from and not self.half_scale:
            raise ValueError(f"check_from={self.check_from} without half_scale: no check to skip")

    @classmethod
    def at_threshold(cls, threshold: float, *, tta: bool = False, half_scale: bool = False) -> Passes:
        """The passes asked for, each skipping exactly the tiles where it cannot change a decision
        at ``threshold`` (:func:`mirror_cut`, :func:`check_cut`): what inspection runs."""
        return cls(tta, mirror_cut(threshold) if tta else 0.0, half_scale, check_cut(threshold) if half_scale else 0.0)

    def __str__(self) -> str:
        """``""``, ``" + tta"``, ``" + tta from 0.392"``, ``" + half-scale check from 0.692"`` or both,
        in that order: the tail of a backend choice's text (``openvino int8 + tta from 0.392``)."""
        text = ""
        if self.tta:
            text += TTA_SUFFIX + (f" from {self.mirror_from:.3f}" if self.mirror_from else "")
        if self.half_scale:
            text += HALF_SCALE_SUFFIX + (f" from {self.check_from:.3f}" if self.check_from else "")
        return text

    @classmethod
    def parse(cls, text: str) -> Passes:
        """The passes :meth:`__str__` wrote."""
        text, half_scale, check = text.partition(HALF_SCALE_SUFFIX)
        rest, tta, mirror = text.partition(TTA_SUFFIX)
        if rest:
            raise ValueError(f"{rest!r} names no pass (passes read like {TTA_SUFFIX!r}, {HALF_SCALE_SUFFIX!r})")
        return cls(bool(tta), float(mirror.removeprefix(" from ")) if mirror else 0.0,
                   bool(half_scale), float(check.removeprefix(" from ")) if check else 0.0)

    def around(self, predict: Predict) -> Predict:
        """``predict`` (a backend or a plain prediction function) wrapped in these passes. The
        half-scale check is outermost, so with both passes the half-scale view is mirror-averaged
        too. The wrappers count the tiles each pass ran on and log it when released."""
        if self.tta:
            from cracks.models.tta import FlipAveraged

            predict = FlipAveraged(predict, mirror_from=self.mirror_from)
        if self.half_scale:
            from cracks.models.scale_check import HalfScaleChecked

            predict = HalfScaleChecked(predict, check_from=self.check_from)
        return predict
