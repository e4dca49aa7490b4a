"""The row stitcher gives, band by band, exactly the weighted average of the whole grid.

Where one window alone covers a pixel at full weight the stitcher copies its prediction instead
of blending it (:func:`tiling.blend.sole_spans`); these tests hold it to the plain formula, the
weighted sum over the summed weights computed over the whole raster at once, to the byte.
"""

from __future__ import annotations

import numpy as np
import pytest

from tiling.blend import axis_weights, blend_weights, sole_spans
from tiling.stitch import RowStitcher
from tiling.windows import plan_windows


def whole_raster_blend(grid, tiles, valids) -> tuple[np.ndarray, np.ndarray]:
    """Every tile weighted into one float32 raster, then normalized: what the stitcher must equal."""
    weighted = np.zeros((grid.height, grid.width), np.float32)
    valid = np.zeros((grid.height, grid.width), bool)
    for (window, tile), ok in zip(tiles, valids):
        rows, cols = window.toslices()
        weighted[rows, cols] += blend_weights(*tile.shape, grid.overlap) * tile
        valid[rows, cols] |= ok
    rows = axis_weights(grid.height, grid.row_starts, grid.window_height, grid.overlap)
    cols = axis_weights(grid.width, grid.col_starts, grid.window_width, grid.overlap)
    probability = np.rint(weighted / cols / rows[:, None]).astype(np.uint8)
    return np.where(valid, probability, 0).astype(np.uint8), valid


@pytest.mark.parametrize("width,height,tile,overlap", [
    (3001, 2500, 1024, 128),  # the defaults, edge windows overlapping more than the least overlap
    (700, 2300, 512, 64),  # one column of windows
    (1500, 300, 512, 128),  # one row, thinner than a tile
    (2000, 1800, 512, 0),  # no overlap: every pixel is one window's own
])
def test_stitched_bands_equal_the_whole_raster_blend(width, height, tile, overlap):
    grid = plan_windows(width, height, tile, overlap)
    rng = np.random.default_rng(width)
    tiles, valids = [], []
    for r in range(len(grid.row_starts)):
        for window in grid.row(r):
            tiles.append((window, rng.integers(0, 256, (grid.window_height, grid.window_width), dtype=np.uint8)))
            ok = np.ones((grid.window_height, grid.window_width), bool)
            ok[:, : rng.integers(0, 200)] = False  # a ragged nodata collar on some windows
            valids.append(ok if r % 2 else np.broadcast_to(np.True_, ok.shape))  # read_window's all-valid view
    expected, expected_valid = whole_raster_blend(grid, tiles, valids)

    stitcher = RowStitcher(grid)
    assert stitcher.col_spans or grid.window_width == width  # the copying path is taken
    bands, done = [], iter(zip(tiles, valids))
    for r in range(len(grid.row_starts)):
        for _ in grid.row(r):
            (window, tile), ok = next(done)
            stitcher.add(window, tile, ok)
        bands.append(stitcher.finish(grid.next_row_start(r)))
    assert [band.y0 for band in bands] == [0, *grid.row_starts[1:]]
    np.testing.assert_array_equal(np.concatenate([band.probability for band in bands]), expected)
    np.testing.assert_array_equal(np.concatenate([band.valid for band in bands]), expected_valid)


def test_sole_spans_are_the_interiors_no_other_window_reaches():
    spans = sole_spans(3001, [0, 864, 1728, 1977], 1024, 128)
    # a window's own ramp is 1 from 128 px in, up to where its neighbour begins; after where the one before ends
    assert spans[0] == (128, 864) and spans[864] == (1024, 1728)
    assert spans[1728] == (864 + 1024, 1977)
    assert spans[1977] == (1728 + 1024, 3001 - 128)  # the last window, shifted to end at the edge, overlaps more
