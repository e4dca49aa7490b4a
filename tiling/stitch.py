"""Stitching tile predictions into a raster, one band of rows at a time.

Memory holds one band of tile rows (``tile x width`` weighted sums), never the whole raster:
when a grid row is done, every raster row above the next grid row is final and is handed out;
the overlap below is carried to the next band. The carry can be saved and restored, which is
what lets an interrupted inspection resume from its last finished grid row.

The sum of the blend weights at a pixel is not accumulated: the weights are separable
(``ramp(y) * ramp(x)``) and the windows form a full grid, so that sum is the product of a row
profile and a column profile (:func:`tiling.blend.axis_weights`), two 1-D arrays. That saves a
float32 band the size of the probabilities (90 MB on a 20,000 px wide orthophoto).

Most of a window is covered by that window alone at full weight (its interior, away from the
overlaps): there the stitched value is the window's own prediction, so it is copied into a
uint8 band as it comes instead of being weighted, summed and divided (:func:`tiling.blend.sole_spans`;
the same bytes). Only the seams, the overlaps and the raster's ramped edges, are blended: on a
100 MP grid of 960 px windows (``benchmarks/stitch_benchmark.py``) add and finish went 0.50-0.58
-> 0.34-0.40 s, with the fill for tiles without nodata.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

from tiling.blend import axis_weights, blend_weights, sole_spans
from tiling.raster import is_all_valid
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
        self.window_shape = (grid.window_height, grid.window_width)
        self.band_y0 = band_y0
        self.row_weights = axis_weights(grid.height, grid.row_starts, grid.window_height, grid.overlap)
        self.col_weights = axis_weights(grid.width, grid.col_starts, grid.window_width, grid.overlap)
        self.row_spans = sole_spans(grid.height, grid.row_starts, grid.window_height, grid.overlap)
        self.col_spans = sole_spans(grid.width, grid.col_starts, grid.window_width, grid.overlap)
        self.sole_rows = _covered(grid.height, self.row_spans.values())
        self.seam_columns = [(a, b) for a, b, sole in _runs(_covered(grid.width, self.col_spans.values())) if not sole]
        self.weighted = np.zeros((grid.window_height, grid.width), np.float32)  # weighted sums, 0-255 scale (seams)
        self.copied = np.zeros((grid.window_height, grid.width), np.uint8)  # predictions where one window alone counts
        self.valid = np.zeros((grid.window_height, grid.width), bool)
        self.filled = 0  # rows of the band that hold anything (what a carry must keep)
        self._scratch = np.empty((min(FINISH_CHUNK_ROWS, grid.window_height), grid.width), np.float32)

    def add(self, window: Window, probability: np.ndarray, valid: np.ndarray) -> None:
        """Blend one tile's probabilities (HxW uint8, probability x 255) into the band."""
        y = int(window.row_off) - self.band_y0
        x = int(window.col_off)
        h, w = probability.shape
        weights, weighted = blend_weights(h, w, self.overlap), self.weighted[y : y + h, x : x + w]
        rows, cols = self.row_spans.get(int(window.row_off)), self.col_spans.get(x)
        if rows is None or cols is None or (h, w) != self.window_shape:
            weighted += weights * probability
        else:
            (top, bottom), (left, right) = (r - int(window.row_off) for r in rows), (c - x for c in cols)
            for seam in np.s_[:top, :], np.s_[bottom:, :], np.s_[top:bottom, :left], np.s_[top:bottom, right:]:
                weighted[seam] += weights[seam] * probability[seam]
            sole = np.s_[top:bottom, left:right]  # pixels without data carry no crack probability: 0
            target = self.copied[y : y + h, x : x + w][sole]
            if is_all_valid(valid):
                np.copyto(target, probability[sole])
            else:
                np.multiply(probability[sole], valid[sole], out=target)
        self.mark_valid(window, valid)

    def mark_valid(self, window: Window, valid: np.ndarray) -> None:
        """Record validity for a window (also one skipped for having no valid pixels to segment)."""
        y = int(window.row_off) - self.band_y0
        x = int(window.col_off)
        h, w = valid.shape
        if is_all_valid(valid):  # the common case (read_window's one-value view): a fill, not an OR
            self.valid[y : y + h, x : x + w] = True
        else:
            self.valid[y : y + h, x : x + w] |= valid
        self.filled = max(self.filled, y + h)

    def finish(self, next_y0: int) -> FinishedRows:
        """Hand out rows ``[band_y0, next_y0)`` and shift the carry to the top of the band."""
        n = next_y0 - self.band_y0
        probability = self.copied[:n].copy()  # the copied pixels are final; the seams are normalized into it
        for a, b, sole in _runs(self.sole_rows[self.band_y0 : next_y0]):
            self._normalize(probability, a, b, self.seam_columns if sole else [(0, self.width)])
        out = FinishedRows(self.band_y0, probability, self.valid[:n].copy())
        for array in (self.weighted, self.valid, self.copied):
            array[: len(array) - n] = array[n:].copy()
            array[len(array) - n :] = 0
        self.band_y0 = next_y0
        self.filled = max(0, self.filled - n)
        return out

    def _normalize(self, probability: np.ndarray, a: int, b: int, columns: list[tuple[int, int]]) -> None:
        """Band rows ``a..b`` of ``columns``: weighted sums over summed weights, rounded; pixels
        without data carry no crack probability (they keep the 0 they hold)."""
        for c0, c1 in columns:
            for r0 in range(a, b, FINISH_CHUNK_ROWS):
                r1 = min(b, r0 + FINISH_CHUNK_ROWS)
                chunk = np.divide(self.weighted[r0:r1, c0:c1], self.col_weights[c0:c1], out=self._scratch[: r1 - r0, : c1 - c0])
                chunk /= self.row_weights[self.band_y0 + r0 : self.band_y0 + r1, None]
                np.rint(chunk, out=chunk)
                np.copyto(probability[r0:r1, c0:c1], chunk, casting="unsafe", where=self.valid[r0:r1, c0:c1])

    def carry(self) -> dict[str, np.ndarray]:
        """The state that must survive an interruption: the overlap rows below the last finish."""
        return {"weighted": self.weighted[: self.filled], "valid": self.valid[: self.filled],
                "band_y0": np.array(self.band_y0)}

    def restore(self, carry: dict[str, np.ndarray]) -> None:
        n = len(carry["weighted"])
        self.band_y0 = int(carry["band_y0"])
        self.weighted[:n], self.valid[:n] = carry["weighted"], carry["valid"]
        self.filled = n


def _covered(length: int, spans) -> np.ndarray:
    """``length`` flags, True inside any of the ``[a, b)`` spans."""
    flags = np.zeros(length, bool)
    for a, b in spans:
        flags[a:b] = True
    return flags


def _runs(flags: np.ndarray) -> list[tuple[int, int, bool]]:
    """``(start, stop, value)`` of each run of equal flags."""
    edges = np.flatnonzero(np.diff(flags.astype(np.int8))) + 1
    bounds = [0, *edges.tolist(), len(flags)]
    return [(a, b, bool(flags[a])) for a, b in zip(bounds, bounds[1:]) if b > a]
