"""How long a pixel is on the ground, whatever the raster's CRS says its units are.

Lengths and widths are reported in ground metres, so the pixel size must be one. A CRS's units
are ground metres only where its projection's scale is close to one:

* UTM and national grids: within 0.1 % (scale 0.9996 on a UTM central meridian). Surveyors
  measure in such grids, so their pixel size is used as it is.
* **Web Mercator** (EPSG:3857, what many drone platforms and web tools export): one map metre is
  ``cos(latitude)`` ground metres, 0.64 m at 50 degrees. Taken as metres it lengthens every
  crack by half. The ground size is used instead, and the inspection says so.
* **Geographic** CRSs (degrees): a degree of longitude shrinks with latitude, so square-degree
  pixels are narrower on the ground than they are tall (0.64 : 1 at 50 degrees): lengths would
  depend on the crack's direction. Such rasters are refused with the command that makes their
  pixels square; rasters whose pixels are square on the ground are measured in ground metres.

The ground sizes are geodesic distances (pyproj, on the CRS's own ellipsoid) of steps along a row
and along a column at the raster's centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from affine import Affine

# Ground pixels more oblong than this would make lengths depend on direction: refused.
MAX_ANISOTROPY = 0.02
# A projection that scales the ground by more than this is not measured in its own units.
MAX_MAP_SCALE_ERROR = 0.01


@dataclass(frozen=True)
class GroundPixel:
    along_row_m: float  # ground length of one step to the next column
    along_column_m: float  # ground length of one step to the next row
    lon: float  # the raster's centre, where they were measured
    lat: float

    @property
    def size_m(self) -> float:
        return math.sqrt(self.along_row_m * self.along_column_m)

    @property
    def anisotropy(self) -> float:
        """0 for square pixels on the ground; 0.36 for square-degree pixels at 50 degrees."""
        return 1 - min(self.along_row_m, self.along_column_m) / max(self.along_row_m, self.along_column_m)

    def utm_epsg(self) -> int:
        """The UTM zone of the centre: the CRS to reproject an unmeasurable raster into."""
        zone = min(60, int((self.lon + 180) // 6) + 1)
        return (32600 if self.lat >= 0 else 32700) + zone


def coordinates_are_ground_metres(crs, map_scale: float) -> bool:
    """Whether lengths in ``crs`` (a pyproj or rasterio CRS) are ground metres: projected, in
    metres, and not stretched: ``map_scale`` is the one :func:`tiling.raster.open_raster` found for
    the site's raster (1 for UTM and national grids, cos(latitude) for Web Mercator)."""
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return bool(crs.is_projected) and abs(unit - 1) < 1e-9 and map_scale == 1.0


def ground_pixel(crs_wkt: str, transform: Affine, width: int, height: int) -> GroundPixel | None:
    """Ground sizes of a pixel at the raster's centre, or None for a CRS without a datum (a local
    engineering system: its own units are all there is)."""
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError, ProjError

    try:
        crs = CRS.from_wkt(crs_wkt)
        geodetic = crs.geodetic_crs
        if geodetic is None:
            return None
        to_lonlat = Transformer.from_crs(crs, geodetic, always_xy=True)
        geod = geodetic.get_geod()
    except (CRSError, ProjError):
        return None
    # steps of many pixels: differences of coordinates a millimetre apart lose digits
    step = max(1.0, min(width, height) / 4)
    col, row = width / 2, height / 2
    xs, ys = zip(transform @ (col, row), transform @ (col + step, row), transform @ (col, row + step))
    lons, lats = to_lonlat.transform(xs, ys)
    if not all(map(math.isfinite, [*lons, *lats])):
        return None
    _, _, along_row = geod.inv(lons[0], lats[0], lons[1], lats[1])
    _, _, along_column = geod.inv(lons[0], lats[0], lons[2], lats[2])
    return GroundPixel(along_row / step, along_column / step, lons[0], lats[0])
