"""A small picture of the whole raster, sampled from the tiles that segmentation reads anyway.

The report's overview map shows the orthophoto at about 1400 px. Read decimated from a raster
without overviews (most orthophotos straight out of photogrammetry), GDAL decodes every block
once more: 5.4 s of a 400 MP site's 301 s, after the model. The tiles pass through memory for
the model in any case; taking every ``step``-th pixel of each on the way costs nothing measurable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

MAX_SIDE_PX = 1400  # the overview map's resolution: sharp on an A4 page


def preview_grid(width: int, height: int, *, max_side: int = MAX_SIDE_PX) -> tuple[int, tuple[int, int]]:
    """``(step, (rows, columns))``: every ``step``-th pixel, at most ``max_side`` a side."""
    step = max(1, math.ceil(max(width, height) / max_side))
    return step, (max(1, height // step), max(1, width // step))


@dataclass
class Preview:
    """Every ``step``-th pixel of the raster (the centre one of each ``step`` x ``step`` cell),
    as RGB with pixels without data black; ``filled`` marks the cells a tile has given."""

    step: int
    image: np.ndarray  # (height // step) x (width // step) x 3 uint8
    filled: np.ndarray  # (height // step) x (width // step) bool

    @classmethod
    def of_raster(cls, width: int, height: int, *, max_side: int = MAX_SIDE_PX) -> Preview:
        step, shape = preview_grid(width, height, max_side=max_side)
        return cls(step, np.zeros((*shape, 3), np.uint8), np.zeros(shape, bool))

    @property
    def complete(self) -> bool:
        return bool(self.filled.all())

    def add(self, window: Window, rgb: np.ndarray, valid: np.ndarray) -> None:
        """Take the cells whose centre pixel lies in this tile (overlapping tiles give the same values)."""
        rows = _centres_in(int(window.row_off), rgb.shape[0], self.step, self.image.shape[0])
        cols = _centres_in(int(window.col_off), rgb.shape[1], self.step, self.image.shape[1])
        if not (len(rows) and len(cols)):
            return
        pick = np.ix_(rows * self.step + self.step // 2 - int(window.row_off),
                      cols * self.step + self.step // 2 - int(window.col_off))
        cells = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        self.image[cells] = np.where(np.asarray(valid)[pick][..., None], rgb[pick], 0)
        self.filled[cells] = True


def _centres_in(start: int, size: int, step: int, cells: int) -> np.ndarray:
    """The cells ``i`` (of ``cells``) whose centre pixel ``i * step + step // 2`` is in ``[start, start + size)``."""
    first = max(0, -(-(start - step // 2) // step))
    stop = min(cells, (start + size - 1 - step // 2) // step + 1)
    return np.arange(first, max(first, stop))
