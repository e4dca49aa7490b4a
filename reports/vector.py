"""Crack layers for GIS: GeoJSON (RFC 7946, WGS 84) and GeoPackage (native CRS).

GeoPackage layers: ``centerlines`` (one MultiLineString per crack, all measurements as
attributes), ``crack_polygons`` (the segmented crack area per crack) and ``site`` (the analysed
footprint). Coordinates are pixel centres mapped through the raster's transform; rasters
without a CRS are written in pixel coordinates (x = column, y = row) and flagged as such.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio.features
import shapely
from affine import Affine
from shapely.geometry import LineString, MultiLineString, shape

from cracks.atomic import atomic_path
from cracks.measure import Crack

CRACK_FIELDS = ["crack_id", "length_m", "width_mean_mm", "width_max_mm", "width_p95_mm", "length_px",
                "width_mean_px", "width_max_px", "width_p95_px", "orientation_deg", "orientation_class",
                "type", "severity", "n_branches"]
SIMPLIFY_PX = 0.5


def crack_geometry(crack: Crack, transform: Affine) -> MultiLineString:
    """The crack's centerline branches in map coordinates (pixel centres), lightly simplified."""
    lines = []
    for path in crack.paths:
        rows, cols = path[:, 0], path[:, 1]
        xs, ys = transform * (cols + 0.5, rows + 0.5)
        if len(xs) >= 2:
            lines.append(LineString(np.column_stack([xs, ys])))
    tolerance = SIMPLIFY_PX * abs(transform.a)
    return MultiLineString([line.simplify(tolerance) for line in lines])


def centerlines_frame(cracks: list[Crack], transform: Affine, crs) -> gpd.GeoDataFrame:
    records = [{f: getattr(c, f) for f in CRACK_FIELDS} for c in cracks]
    geometry = [crack_geometry(c, transform) for c in cracks]
    frame = gpd.GeoDataFrame(records, geometry=geometry, crs=crs, columns=CRACK_FIELDS)
    return frame.astype({"crack_id": "int32", "n_branches": "int32"})


def polygons_frame(labels: np.ndarray, cracks: list[Crack], transform: Affine, crs) -> gpd.GeoDataFrame:
    """Crack areas, polygonized per crack region (rasterio.features.shapes)."""
    rows = []
    for crack in cracks:
        region = crack.region
        crop = (labels[region] == crack.label).astype(np.uint8)
        crop_transform = transform * Affine.translation(region[1].start, region[0].start)
        polys = [shape(geom) for geom, value in rasterio.features.shapes(crop, mask=crop > 0, transform=crop_transform) if value]
        if polys:
            rows.append({"crack_id": crack.crack_id, "severity": crack.severity,
                         "area_px": crack.area_px, "geometry": shapely.make_valid(shapely.union_all(polys))})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs, columns=["crack_id", "severity", "area_px", "geometry"])


def footprint(valid: np.ndarray, transform: Affine, max_side: int = 2048) -> shapely.Geometry:
    """The analysed area as a polygon, traced on a decimated copy of the valid-data mask."""
    step = max(1, int(np.ceil(max(valid.shape) / max_side)))
    small = valid[::step, ::step].astype(np.uint8)
    small_transform = transform * Affine.scale(step)
    polys = [shape(g) for g, v in rasterio.features.shapes(small, mask=small > 0, transform=small_transform) if v]
    return shapely.make_valid(shapely.union_all(polys)) if polys else shapely.Polygon()


def write_geojson(frame: gpd.GeoDataFrame, target: Path, georeferenced: bool) -> Path:
    """RFC 7946: WGS 84 longitude/latitude, 7 decimals (about 1 cm)."""
    out = frame.to_crs(4326) if georeferenced and frame.crs is not None else frame
    with atomic_path(target) as tmp:
        tmp.unlink()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            options = {"RFC7946": "YES", "COORDINATE_PRECISION": 7} if georeferenced else {}
            out.to_file(tmp, driver="GeoJSON", engine="pyogrio", layer_options=options)
    return target


def write_geopackage(layers: dict[str, gpd.GeoDataFrame], target: Path) -> Path:
    """All layers into one GeoPackage, built in a temporary folder and moved into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=".gpkg.", dir=target.parent))
    try:
        tmp = tmp_dir / target.name
        for name, frame in layers.items():
            frame.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return target
