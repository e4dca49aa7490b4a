"""Crack layers for GIS: GeoJSON (RFC 7946, WGS 84) and GeoPackage (native CRS).

GeoPackage layers: ``centerlines`` (one MultiLineString per crack, all measurements as
attributes), ``crack_polygons`` (the segmented crack area per crack) and ``site`` (the analysed
footprint). Coordinates are pixel centres mapped through the raster's transform; rasters
without a CRS are written in pixel coordinates (x = column, y = row) and flagged as such.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
import shapely.affinity
from affine import Affine
from shapely.geometry import LineString, MultiLineString

from cracks.atomic import atomic_path
from cracks.measure.region import Crack
from tiling.raster import pixel_sizes

CRACK_FIELDS = ["crack_id", "length_m", "width_mean_mm", "width_max_mm", "width_p95_mm", "length_px",
                "width_mean_px", "width_max_px", "width_p95_px", "orientation_deg", "orientation_class",
                "type", "severity", "severity_basis", "spacing_m", "n_branches", "n_parts", "gap_length_px", "network_id",
                "confidence"]
SIMPLIFY_PX = 0.5


def crack_geometry(crack: Crack, transform: Affine) -> MultiLineString:
    """The crack's centerline branches in map coordinates (pixel centres), lightly simplified."""
    lines = []
    for path in crack.paths:
        rows, cols = path[:, 0], path[:, 1]
        xs, ys = transform @ (cols + 0.5, rows + 0.5)
        if len(xs) >= 2:
            lines.append(LineString(np.column_stack([xs, ys])))
    tolerance = SIMPLIFY_PX * min(pixel_sizes(transform))  # any rotation: a = 0 at 90 degrees
    return MultiLineString([line.simplify(tolerance) for line in lines])


def centerlines_frame(cracks: list[Crack], transform: Affine, crs) -> gpd.GeoDataFrame:
    records = [{f: getattr(c, f) for f in CRACK_FIELDS} for c in cracks]
    geometry = [crack_geometry(c, transform) for c in cracks]
    frame = gpd.GeoDataFrame(records, geometry=geometry, crs=crs, columns=CRACK_FIELDS)
    return frame.astype({"crack_id": "int32", "n_branches": "int32", "n_parts": "int32", "network_id": "int32"})


def to_map(geometry_px: shapely.Geometry, transform: Affine) -> shapely.Geometry:
    """Pixel-corner (col, row) coordinates to map coordinates through the raster transform."""
    a, b, c, d, e, f = transform.a, transform.b, transform.c, transform.d, transform.e, transform.f
    return shapely.affinity.affine_transform(geometry_px, [a, b, d, e, c, f])


def polygons_frame(cracks: list[Crack], transform: Affine, crs) -> gpd.GeoDataFrame:
    """Crack areas: each crack's region outline, traced during measurement."""
    rows = [{"crack_id": c.crack_id, "severity": c.severity, "area_px": c.area_px, "geometry": to_map(c.polygon_px, transform)}
            for c in cracks if c.polygon_px is not None and not c.polygon_px.is_empty]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs, columns=["crack_id", "severity", "area_px", "geometry"])


METRES_PER_DEGREE = 111_320.0


def geojson_decimals(gsd_m: float | None, fraction_px: float = 0.02) -> int:
    """Decimals of a degree that round coordinates by at most ``fraction_px`` of a pixel.

    A fixed 7 decimals (about 1 cm) collapses the short centerlines of a 1 mm orthophoto into
    points and bends every line by up to ten pixels.
    """
    if not gsd_m:
        return 7
    return int(min(15, max(7, math.ceil(-math.log10(gsd_m * fraction_px / METRES_PER_DEGREE)))))


def _to_file(frame: gpd.GeoDataFrame, target: Path, **options) -> None:
    """``frame.to_file`` with pyogrio, quiet about what the site summary already says once: a
    raster without a CRS gives pixel-coordinate layers (pyogrio would warn once per layer)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="'crs' was not provided", category=UserWarning)
        frame.to_file(target, engine="pyogrio", **options)


def write_geojson(frame: gpd.GeoDataFrame, target: Path, georeferenced: bool, *, name: str | None = None,
                  gsd_m: float | None = None) -> Path:
    """RFC 7946: WGS 84 longitude/latitude, precise to a small fraction of a pixel; the feature
    collection is called ``name`` (the site), not after the temporary file it is written to."""
    out = frame.to_crs(4326) if georeferenced and frame.crs is not None else frame
    with atomic_path(target) as tmp:
        tmp.unlink()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            options = {"RFC7946": "YES", "COORDINATE_PRECISION": geojson_decimals(gsd_m)} if georeferenced else {}
            _to_file(out, tmp, driver="GeoJSON", layer=name or target.stem, layer_options=options)
    return target


def write_geopackage(layers: dict[str, gpd.GeoDataFrame], target: Path,
                     severity_colours: dict[str, str] | None = None) -> Path:
    """All layers into one GeoPackage, built in a temporary folder and moved into place; with
    ``severity_colours``, QGIS default styles for the crack layers go in too (reports.styles)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=".gpkg.", dir=target.parent))
    try:
        tmp = tmp_dir / target.name
        for name, frame in layers.items():
            _to_file(frame, tmp, layer=name, driver="GPKG")
        if severity_colours:
            from reports.styles import add_layer_styles

            add_layer_styles(tmp, severity_colours)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return target
