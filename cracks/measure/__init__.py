"""Measuring cracks in a mask: the numeric core, apart from the inspection pipeline (as in skan).

* :mod:`.region`: one connected region in memory: centerline length, widths, orientation, type
  (:class:`~.region.Crack`), and :func:`~.region.measure_cracks` for a whole array.
* :mod:`.raster`: a whole raster strip by strip (bounded memory), equal to the in-memory path.
* :mod:`.skeleton_graph`: the skeleton's path graph (skan's decomposition, without numba).
* :mod:`.records`: measured regions into crack records (linked fragments) and spots.
"""

from __future__ import annotations

from dataclasses import dataclass

# Pieces of one crack separated by gaps up to about twice this are grouped into one region
# (grouped on the mask dilated by this many pixels; measured on the crack's own pixels). The one
# default for the measuring functions and InspectConfig.bridge_px.
BRIDGE_PX = 2
DEFAULT_SEVERITY_MM = (0.1, 0.3, 1.0)  # hairline | fine | medium | wide, project classes for concrete


@dataclass(frozen=True)
class MeasureSettings:
    """How regions are measured, in pixels: built once from a job's settings (the inspection turns
    its millimetres into this site's pixels) and passed whole to every measuring function."""

    prune_px: float = 5.0  # spurs shorter than this (or than the crack's width at their junction) are noise
    min_length_px: float = 10.0  # shorter regions are not measured (0: measure all; records sort them)
    road_axis_deg: float | None = None  # for orientation classes; None: the raster's longer side
    severity_mm: tuple[float, float, float] = DEFAULT_SEVERITY_MM
    bridge_px: int = BRIDGE_PX
