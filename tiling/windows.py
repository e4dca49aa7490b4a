"""Window planning: a grid of overlapping tiles that covers the raster exactly.

Tiles keep their full size everywhere: the last row and column are shifted back to end at the
raster edge instead of hanging over it, so the model never sees padding inside the raster.
Rasters smaller than one tile get a single window of their own size.
"""

from __future__ import annotations

from dataclasses import dataclass

from rasterio.windows import Window


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    stride = tile - overlap
    if stride <= 0:
        raise ValueError(f"overlap {overlap} must be smaller than the tile size {tile}")
    starts = list(range(0, length - tile + 1, stride))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return starts


@dataclass(frozen=True)
class WindowGrid:
    width: int
    height: int
    tile: int
    overlap: int
    row_starts: tuple[int, ...]
    col_starts: tuple[int, ...]

    @property
    def n_windows(self) -> int:
        return len(self.row_starts) * len(self.col_starts)

    def tile_height(self) -> int:
        return min(self.tile, self.height)

    def tile_width(self) -> int:
        return min(self.tile, self.width)

    def row(self, index: int) -> list[Window]:
        """The windows of one grid row, left to right."""
        y = self.row_starts[index]
        return [Window(x, y, self.tile_width(), self.tile_height()) for x in self.col_starts]

    def next_row_start(self, index: int) -> int:
        """First raster row not covered by grid rows ``0..index`` alone (the height after the last)."""
        return self.row_starts[index + 1] if index + 1 < len(self.row_starts) else self.height


def plan_windows(width: int, height: int, tile: int = 512, overlap: int = 64) -> WindowGrid:
    if tile < 32:
        raise ValueError(f"tile size {tile} is too small (at least 32)")
    if overlap < 0:
        raise ValueError(f"overlap {overlap} must not be negative")
    return WindowGrid(width, height, tile, overlap,
                      tuple(tile_starts(height, tile, overlap)), tuple(tile_starts(width, tile, overlap)))
