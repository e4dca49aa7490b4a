"""Whole images already in memory, segmented window by window and blended as inspection does.

The network's activations grow with the pixels it sees at once (a 12 MP drone photo through the
Unet-Lite0 in one piece: 5.1 GB peak), so a photo larger than a tile is cut into the same grid of
windows as an orthophoto (:func:`tiling.windows.plan_windows`) and blended with the same
weights: bounded memory, and the same probabilities `cracks inspect` gives for that photo.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tiling.blend import axis_weights, blend_weights
from tiling.windows import plan_windows

# NxHxWx3 uint8 -> NxHxW float probabilities
BatchPredictor = Callable[[np.ndarray], np.ndarray]


def predict_in_windows(image: np.ndarray, predict: BatchPredictor, *, tile: int, overlap: int) -> np.ndarray:
    """HxW float32 probabilities of one HxWx3 image, one window at a time."""
    height, width = image.shape[:2]
    grid = plan_windows(width, height, tile, overlap)
    if grid.n_windows == 1:
        return np.asarray(predict(image[None])[0], np.float32)
    h, w = grid.window_height, grid.window_width
    weights = blend_weights(h, w, overlap)
    total = np.zeros((height, width), np.float32)
    for y in grid.row_starts:
        for x in grid.col_starts:
            total[y : y + h, x : x + w] += predict(image[None, y : y + h, x : x + w])[0] * weights
    # blend weights are separable: the summed weight at (y, x) is the product of the axis sums
    total /= np.outer(axis_weights(height, grid.row_starts, h, overlap), axis_weights(width, grid.col_starts, w, overlap))
    return total
