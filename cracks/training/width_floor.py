"""A model's width floor: how narrow a crack can come out of its masks, in pixels.

A segmentation network draws a hairline crack a few pixels wide whatever its real width (the
shipped model: mean widths of its records never much under 3 px, while the drawn cracks go down
to 1.5-2.3 px). At a ground sample distance ``g`` every crack narrower than ``floor * g`` is
therefore measured about that wide, and width classes below it cannot be told apart
(:meth:`cracks.standards.Standard.width_caveat`). The floor belongs to the model, not to the
code: a model trained on other masks draws other widths. So it is measured where a model is made
(``cracks train``, ``scripts/adopt_snapshot.py``; ``scripts/width_floor.py --record`` for an
existing one) and stored in its ``model.json`` as ``width_floor_px``.

The figure is the 1st percentile of the mean widths of the records the model's masks give on its
validation images (pixel units, records of at least 20 px, widths made sub-pixel by the
probabilities, as inspection measures them), every domain pooled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from torch import nn

    from cracks.data.layouts import Pair

MIN_RECORD_PX = 20  # shorter records are mostly a crack's end or a speck: their widths say little
PERCENTILE = 1
MIN_RECORDS = 50  # with fewer, the 1st percentile is one or two records: no floor is claimed


@dataclass(frozen=True)
class WidthFloor:
    """``px``: the floor, or None when fewer than :data:`MIN_RECORDS` records were measured."""

    px: float | None
    records: int


def record_widths(probability: np.ndarray, threshold: float) -> list[float]:
    """Mean widths (px) of the records of at least :data:`MIN_RECORD_PX` in one probability map."""
    from cracks.measure.region import measure_cracks

    binary = probability >= (threshold * 255 if probability.dtype == np.uint8 else threshold)
    return [c.width_mean_px for c in measure_cracks(binary, probability=probability, min_length_px=MIN_RECORD_PX)]


def width_floor(widths: Sequence[float]) -> WidthFloor:
    """The floor of these record widths, rounded to 0.1 px."""
    if len(widths) < MIN_RECORDS:
        return WidthFloor(None, len(widths))
    return WidthFloor(round(float(np.percentile(widths, PERCENTILE)), 1), len(widths))


def measure_width_floor(probabilities: Iterable[np.ndarray], threshold: float) -> WidthFloor:
    """The floor over a model's probability maps (e.g. its validation images), at its threshold."""
    return width_floor([w for probability in probabilities for w in record_widths(probability, threshold)])


def model_width_floor(model: nn.Module, pairs: Iterable[Pair], normalization: dict[str, list[float]],
                      threshold: float) -> WidthFloor:
    """The floor of a network on these image pairs (their masks are not used), at ``threshold``."""
    from cracks.training.evaluate import iter_predictions

    return measure_width_floor((p for _, _, p in iter_predictions(model, list(pairs), normalization)), threshold)
