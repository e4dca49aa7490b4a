"""Inspecting orthophotos: one orchestration from raster to GIS layers and report.

* :mod:`.pipeline`: :func:`~.pipeline.inspect_site` (plan, segment, measure, summarize,
  publish; how rows and stages run is a parameter) and :func:`~.pipeline.inspect_all`.
* :mod:`.predictor`: tiles through a model backend (chosen once; one loaded model per worker).
* :mod:`.rows`: reading grid rows of tiles, context for thin rasters, the threaded row pipeline.
* :mod:`.resume`: the run key, finished bands and the stitcher's carry, saved atomically.
* :mod:`.segment`: stitching rows into the probability COG, resuming where a run stopped.
* :mod:`.summary`: :class:`~.summary.SiteSummary`, what ``summary.json`` holds.
* :mod:`.survey`: a folder of orthophotos, inspected cheaply on a schedule.

Imported by name (``from cracks.inspect.pipeline import inspect_site``): this package's own
``__init__`` stays empty of imports so that each piece costs only what it uses.
"""
