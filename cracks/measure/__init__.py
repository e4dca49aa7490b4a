"""Measuring cracks in a mask: the numeric core, apart from the inspection pipeline (as in skan).

* :mod:`.region`: one connected region in memory: centerline length, widths, orientation, type
  (:class:`~.region.Crack`), and :func:`~.region.measure_cracks` for a whole array.
* :mod:`.raster`: a whole raster strip by strip (bounded memory), equal to the in-memory path.
* :mod:`.skeleton_graph`: the skeleton's path graph (skan's decomposition, without numba).
* :mod:`.records`: measured regions into crack records (linked fragments) and spots.
"""

# Pieces of one crack separated by gaps up to about twice this are grouped into one region
# (grouped on the mask dilated by this many pixels; measured on the crack's own pixels). The one
# default for the measuring functions and InspectConfig.bridge_px.
BRIDGE_PX = 2
