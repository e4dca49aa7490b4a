"""Stitching tile predictions into a raster, one band of rows at a time.

Memory holds one band of tile rows (``tile x width`` weighted sums), never the whole raster:
when a grid row is done, every raster row above the next grid row is final and is handed out;
the overlap below is carried to the next band. The carry can be saved and restored, which is
what lets an interrupted inspection resume from its last finished grid row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

from tiling.blend import blend_weights


@dataclass
class FinishedRows:
    y0: int
    probability: np.ndarray  # HxW uint8, 0-255
    valid: np.ndarray  # HxW bool


class RowStitcher:
    def __init__(self, width: int, band_height: int, overlap: int, band_y0: int = 0):
        self.width = width
        self.overlap = overlap
        self.band_y0 = band_y0
        self.weighted = np.zeros((band_height, width), np.float32)
        self.weights = np.zeros((band_height, width), np.float32)
        self.valid = np.zeros((band_height, width), bool)

    def add(self, window: Window, probability: np.ndarray, valid: np.ndarray) -> None:
        """Blend one tile's probabilities (HxW floats 0-1) into the band."""
        y = int(window.row_off) - self.band_y0
        x = int(window.col_off)
        h, w = probability.shape
        weight = blend_weights(h, w, self.overlap)
        self.weighted[y : y + h, x : x + w] += weight * probability
        self.weights[y : y + h, x : x + w] += weight
        self.valid[y : y + h, x : x + w] |= valid

    def mark_valid(self, window: Window, valid: np.ndarray) -> None:
        """Record validity for a window that was skipped (no valid pixels to segment)."""
        y = int(window.row_off) - self.band_y0
        x = int(window.col_off)
        h, w = valid.shape
        self.valid[y : y + h, x : x + w] |= valid

    def finish(self, next_y0: int) -> FinishedRows:
        """Hand out rows ``[band_y0, next_y0)`` and shift the carry to the top of the band."""
        n = next_y0 - self.band_y0
        probability = np.zeros((n, self.width), np.float32)  # in place from here: bands can be ~100 MB
        np.divide(self.weighted[:n], self.weights[:n], out=probability, where=self.weights[:n] > 0)
        probability *= 255
        np.rint(probability, out=probability)
        valid = self.valid[:n].copy()
        probability[~valid] = 0  # pixels without data carry no crack probability
        out = FinishedRows(self.band_y0, probability.astype(np.uint8), valid)
        for array in (self.weighted, self.weights, self.valid):
            array[: len(array) - n] = array[n:].copy()
            array[len(array) - n :] = 0
        self.band_y0 = next_y0
        return out

    def carry(self) -> dict[str, np.ndarray]:
        """The state that must survive an interruption: the overlap rows below the last finish."""
        rows = np.flatnonzero(self.weights.any(axis=1) | self.valid.any(axis=1))
        n = int(rows.max()) + 1 if len(rows) else 0
        return {"weighted": self.weighted[:n], "weights": self.weights[:n], "valid": self.valid[:n],
                "band_y0": np.array(self.band_y0)}

    def restore(self, carry: dict[str, np.ndarray]) -> None:
        n = len(carry["weights"])
        self.band_y0 = int(carry["band_y0"])
        self.weighted[:n], self.weights[:n], self.valid[:n] = carry["weighted"], carry["weights"], carry["valid"]
