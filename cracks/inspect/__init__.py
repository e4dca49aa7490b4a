"""Inspecting orthophotos: one orchestration from raster to GIS layers and report.

* :mod:`.pipeline`: :func:`~.pipeline.inspect_site` (plan, segment, measure, summarize,
  publish; how rows and stages run is a parameter) and :func:`~.pipeline.inspect_all`.
* :mod:`.segment`: the predictor, the threaded row pipeline, resume state and the COG.
* :mod:`.survey`: a folder of orthophotos, inspected cheaply on a schedule.

Imported by name (``from cracks.inspect.pipeline import inspect_site``): this package's own
``__init__`` stays empty of imports so that each piece costs only what it uses.
"""
