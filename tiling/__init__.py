"""Tiling large rasters: windows with overlap, reading, blending and stitching without seams."""

from tiling.blend import axis_weights, blend_weights
from tiling.raster import RasterInfo, open_raster, read_window
from tiling.stitch import RowStitcher
from tiling.windows import WindowGrid, plan_windows

__all__ = ["RasterInfo", "RowStitcher", "WindowGrid", "axis_weights", "blend_weights", "open_raster", "plan_windows", "read_window"]
