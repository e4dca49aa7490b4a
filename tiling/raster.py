"""Opening and reading inspection rasters window by window, with validation up front.

Accepted: GeoTIFF (RGB, RGBA, or single-band grey; uint8 or uint16; nodata or alpha; tiled or
striped; with or without CRS) and plain JPEG/PNG photos. uint16 imagery is scaled to 8 bits by
its 99.8th percentile, estimated from a decimated read, so 12-bit sensors are not left dark.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.windows import Window

from cracks.errors import CracksError

SUPPORTED_DTYPES = ("uint8", "uint16")


@dataclass(frozen=True)
class RasterInfo:
    path: Path
    width: int
    height: int
    count: int
    dtype: str
    crs_wkt: str | None
    epsg: int | None
    transform: Affine
    nodata: float | None
    has_alpha: bool
    georeferenced: bool
    pixel_size_m: float | None  # None: pixel units only
    scale: float  # multiply raw values by this to get 0-255

    @property
    def rgb_bands(self) -> list[int]:
        return [1, 2, 3] if self.count >= 3 else [1, 1, 1]

    @property
    def units(self) -> str:
        return "m" if self.pixel_size_m else "px"


def _pixel_size_m(src, gsd_mm: float | None) -> float | None:
    if src.crs is None or src.transform == Affine.identity():
        return gsd_mm / 1000 if gsd_mm else None
    a, e = abs(src.transform.a), abs(src.transform.e)
    size = math.sqrt(a * e)
    if src.crs.is_geographic:  # degrees: convert at the raster's centre latitude
        lat = (src.transform * (src.width / 2, src.height / 2))[1]
        return size * 111_320 * math.sqrt(abs(math.cos(math.radians(lat))))
    factor = src.crs.linear_units_factor[1] if src.crs.linear_units_factor else 1.0
    return size * factor


def open_raster(path: str | Path, gsd_mm: float | None = None) -> RasterInfo:
    """Validate an input raster and describe it; raise :class:`CracksError` naming the problem."""
    path = Path(path)
    if not path.exists():
        raise CracksError(path, "no such file")
    if path.is_dir():
        raise CracksError(path, "is a folder, not a raster")
    if os.path.getsize(path) == 0:
        raise CracksError(path, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(path)
    except RasterioIOError as exc:
        raise CracksError(path, f"not a raster GDAL can read ({str(exc).splitlines()[0]})") from exc
    with src:
        if src.count not in (1, 3, 4):
            raise CracksError(path, f"unsupported band count {src.count} (expected 1 grey, 3 RGB or 4 RGBA bands)")
        dtype = src.dtypes[0]
        if dtype not in SUPPORTED_DTYPES:
            raise CracksError(path, f"unsupported data type {dtype} (expected uint8 or uint16)")
        if src.width == 0 or src.height == 0:
            raise CracksError(path, "zero-size raster")
        try:  # a truncated file fails where its data ends: read the last rows
            src.read(1, window=Window(0, src.height - 1, src.width, 1))
            scale = 1.0
            if dtype == "uint16":
                factor = max(1, int(max(src.width, src.height) / 1024))
                sample = src.read(src_index_list(src.count), out_shape=(min(3, src.count), src.height // factor or 1, src.width // factor or 1))
                high = float(np.percentile(sample, 99.8)) if sample.size else 65535.0
                scale = 255.0 / max(high, 1.0)
        except RasterioIOError as exc:
            raise CracksError(path, f"truncated or corrupt raster ({str(exc).splitlines()[0]})") from exc
        georeferenced = src.crs is not None and src.transform != Affine.identity()
        epsg = src.crs.to_epsg() if src.crs else None
        return RasterInfo(
            path=path, width=src.width, height=src.height, count=src.count, dtype=dtype,
            crs_wkt=src.crs.to_wkt() if src.crs else None, epsg=epsg, transform=src.transform,
            nodata=src.nodata, has_alpha=src.count == 4 or any(c.name == "alpha" for c in src.colorinterp),
            georeferenced=georeferenced, pixel_size_m=_pixel_size_m(src, gsd_mm), scale=scale,
        )


def src_index_list(count: int) -> list[int]:
    return [1, 2, 3] if count >= 3 else [1]


def read_window(src, info: RasterInfo, window: Window) -> tuple[np.ndarray, np.ndarray]:
    """``(HxWx3 uint8 RGB, HxW bool valid)`` for one window of an open dataset."""
    data = src.read(info.rgb_bands, window=window)
    if info.scale != 1.0:
        data = np.clip(data.astype(np.float32) * info.scale, 0, 255)
    rgb = np.ascontiguousarray(np.moveaxis(data.astype(np.uint8), 0, -1))
    valid = src.dataset_mask(window=window) > 0
    if valid.all():  # the common case: a read-only view of one value instead of a megabyte per tile
        valid = np.broadcast_to(np.True_, valid.shape)
    return rgb, valid
