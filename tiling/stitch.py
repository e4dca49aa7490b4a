"""Stitching tile predictions into a raster, one band of rows at a time.

Memory holds one band of tile rows (``tile x width`` weighted sums), never the whole raster:
when a grid row is done, every raster row above the next grid row is final and is handed out;
the overlap below is carried to the next band. The carry can be saved and restored, which is
what lets an interrupted inspection resume from its last finished grid row.

The sum of the blend weights at a pixel is not accumulated: the weights are separable
(``ramp(y) * ramp(x)``) and the windows form a full grid, so that sum is the product of a row
profile and a column profile (:func:`tiling.blend.axis_weights`), two 1-D arrays. That saves a
float32 band the size of the probabilities (90 MB on a 20,000 px wide orthophoto).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

from tiling.blend import axis_weights, blend_weights
from tiling.windows import WindowGrid

FINISH_CHUNK_ROWS = 256  # rows normalized at a time: float temporaries stay a few MB wide


@dataclass
class FinishedRows:
    y0: int
    probability: np.ndarray  # HxW uint8, 0-255
    valid: np.ndarray  # HxW bool


class RowStitcher:
    def __init__(self, grid: WindowGrid, band_y0: int = 0):
        self.width = grid.width
        self.overlap = grid.overlap
        self.band_y0 = band_y0
        self.row_weights = axis_weights(grid.height, grid.row_starts, grid.window_height, grid.overlap)
        self.col_weights = axis_weights(grid.width, grid.col_starts, grid.window_width, grid.overlap)
        self.weighted = np.zeros((grid.window_height, grid.width), np.float32)  # weighted sums, 0-255 scale
        self.valid = np.zeros((grid.window_height, grid.width), bool)
        self.filled = 0  # rows of the band that hold anything (what a carry must keep)
        self._scratch = np.empty((min(FINISH_CHUNK_ROWS, grid.window_height), grid.width), np.float32)

    def add(self, window: Window, probability: np.ndarray, valid: np.ndarray) -> None:
        """Blend one tile's probabilities (HxW uint8, probability x 255) into the band."""
        y = int(window.row_off) - self.band_y0
        x = int(window.col_off)
        h, w = probability.shape
        self.weighted[y : y + h, x : x + w] += blend_weights(h, w, self.overlap) * probability
        self.mark_valid(window, valid)

    def mark_valid(self, window: Window, valid: np.ndarray) -> None:
        """Record validity for a window (also one skipped for having no valid pixels to segment)."""
        y = int(window.row_off) - self.band_y0
        x = int(window.col_off)
        h, w = valid.shape
        self.valid[y : y + h, x : x + w] |= valid
        self.filled = max(self.filled, y + h)

    def finish(self, next_y0: int) -> FinishedRows:
        """Hand out rows ``[band_y0, next_y0)`` and shift the carry to the top of the band."""
        n = next_y0 - self.band_y0
        probability = np.zeros((n, self.width), np.uint8)
        for a in range(0, n, FINISH_CHUNK_ROWS):
            b = min(n, a + FINISH_CHUNK_ROWS)
            chunk = np.divide(self.weighted[a:b], self.col_weights, out=self._scratch[: b - a])
            chunk /= self.row_weights[self.band_y0 + a : self.band_y0 + b, None]
            np.rint(chunk, out=chunk)
            # pixels without data carry no crack probability: they stay 0
            np.copyto(probability[a:b], chunk, casting="unsafe", where=self.valid[a:b])
        out = FinishedRows(self.band_y0, probability, self.valid[:n].copy())
        for array in (self.weighted, self.valid):
            array[: len(array) - n] = array[n:].copy()
            array[len(array) - n :] = 0
        self.band_y0 = next_y0
        self.filled = max(0, self.filled - n)
        return out

    def carry(self) -> dict[str, np.ndarray]:
        """The state that must survive an interruption: the overlap rows below the last finish."""
        return {"weighted": self.weighted[: self.filled], "valid": self.valid[: self.filled],
                "band_y0": np.array(self.band_y0)}

    def restore(self, carry: dict[str, np.ndarray]) -> None:
        n = len(carry["weighted"])
        self.band_y0 = int(carry["band_y0"])
        self.weighted[:n], self.valid[:n] = carry["weighted"], carry["valid"]
        self.filled = n
