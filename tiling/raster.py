"""Opening and reading inspection rasters window by window, with validation up front.

Accepted: GeoTIFF (RGB, RGBA, single-band grey or palette; uint8 or uint16; nodata or alpha;
tiled or striped; with or without CRS; north-up, rotated or sheared) and plain JPEG/PNG photos.
uint16 imagery is scaled to 8 bits by its 99.8th percentile, estimated from a decimated read, so
12-bit sensors are not left dark. Palette rasters are expanded through their colour map. A 4th
band counts as transparency only when it is tagged alpha; an untagged 4th band (NIR, elevation)
is ignored and the first three bands are read as RGB.

Pixels without data (nodata value, alpha 0, GDAL mask) never reach the model as black: the
straight or ragged edge of a black collar looks exactly like a crack to a CNN. They are filled
from the nearest valid pixels, blurred (:func:`fill_invalid`), and masked again afterwards.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import ColorInterp, MaskFlags
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.windows import Window

from cracks.errors import InputError
from tiling.ground import MAX_ANISOTROPY, MAX_MAP_SCALE_ERROR, ground_pixel

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

    palette: tuple[tuple[int, int, int], ...] | None = None  # colour map of a palette raster (256 entries)
    # ground metres per CRS metre where the CRS's units are not ground metres (Web Mercator: cos(lat));
    # 1.0 where they are (tiling.ground)
    map_scale: float = 1.0
    # a photo's EXIF orientation (1: upright; 6: viewers turn it 90 degrees clockwise); GDAL reads
    # the stored pixel grid, so outputs are in that grid whatever this says
    exif_orientation: int = 1
    gcps: int = 0  # ground control points georeferencing a raster that has no geotransform (not used: warp it)
    # whether any pixel can lack data (a nodata value, alpha or a GDAL mask); False: reads skip the mask
    masked: bool = True

    @property
    def rgb_bands(self) -> list[int]:
        return [1, 2, 3] if self.count >= 3 else [1, 1, 1]

    @property
    def units(self) -> str:
        return "m" if self.pixel_size_m else "px"


WHITE_PERCENTILE = 99.8  # uint16 imagery: the value shown as white (8-bit 255)


def pixel_sizes(transform: Affine) -> tuple[float, float]:
    """Ground length of one pixel step along a column and along a row, in CRS units.

    Taken from the affine's column and row vectors, so a rotated or sheared raster (a = e = 0
    at 90 degrees) has the same pixel size as its north-up twin.
    """
    return math.hypot(transform.a, transform.d), math.hypot(transform.b, transform.e)


def _pixel_size_m(src, gsd_mm: float | None) -> tuple[float | None, float]:
    """``(ground metres per pixel, map scale)``; the scale is ground metres per CRS metre where the
    CRS's own units are not ground metres (Web Mercator), else 1 (:mod:`tiling.ground`)."""
    if src.crs is None or src.transform == Affine.identity():
        return (gsd_mm / 1000 if gsd_mm else None), 1.0
    x_size, y_size = pixel_sizes(src.transform)
    if not (x_size > 0 and y_size > 0):
        raise InputError(src.name, "degenerate geotransform (a pixel has no ground size)")
    ground = ground_pixel(src.crs.to_wkt(), src.transform, src.width, src.height)
    if ground is not None and ground.anisotropy > MAX_ANISOTROPY:
        side = f"{min(ground.along_row_m, ground.along_column_m):.4g}"
        raise InputError(src.name, f"pixels are {ground.along_row_m * 1000:.3g} x {ground.along_column_m * 1000:.3g} mm "
                                   f"on the ground ({src.crs.to_string()} at {ground.lat:.1f} deg latitude), so lengths "
                                   f"would depend on direction; make them square, e.g. gdalwarp -t_srs "
                                   f"EPSG:{ground.utm_epsg()} -tr {side} {side} -r bilinear INPUT OUTPUT")
    if src.crs.is_geographic:
        if ground is None:
            raise InputError(src.name, f"cannot tell the ground size of a pixel in {src.crs.to_string()}")
        return ground.size_m, 1.0
    factor = src.crs.linear_units_factor[1] if src.crs.linear_units_factor else 1.0
    grid = math.sqrt(x_size * y_size) * factor
    if ground is None or abs(ground.size_m / grid - 1) <= MAX_MAP_SCALE_ERROR:
        return grid, 1.0  # a mapping grid (UTM, national grids): its units are what surveyors measure in
    return ground.size_m, ground.size_m / grid


def open_raster(path: str | Path, gsd_mm: float | None = None) -> RasterInfo:
    """Validate an input raster and describe it; raise :class:`CracksError` naming the problem."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file")
    if path.is_dir():
        raise InputError(path, "is a folder, not a raster")
    if os.path.getsize(path) == 0:
        raise InputError(path, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(path)
    except RasterioIOError as exc:
        raise InputError(path, f"not a raster GDAL can read ({str(exc).splitlines()[0]})") from exc
    with src:
        if src.count not in (1, 3, 4):
            raise InputError(path, f"unsupported band count {src.count} (expected 1 grey, 3 RGB or 4 RGBA bands)")
        dtype = src.dtypes[0]
        if dtype not in SUPPORTED_DTYPES:
            raise InputError(path, f"unsupported data type {dtype} (expected uint8 or uint16)")
        if src.width == 0 or src.height == 0:
            raise InputError(path, "zero-size raster")
        try:  # a truncated file fails where its data ends: read the last rows
            src.read(1, window=Window(0, src.height - 1, src.width, 1))
            scale = 1.0
            if dtype == "uint16":
                factor = max(1, int(max(src.width, src.height) / 1024))
                sample = src.read(src_index_list(src.count), out_shape=(min(3, src.count), src.height // factor or 1, src.width // factor or 1))
                high = float(np.percentile(sample, WHITE_PERCENTILE)) if sample.size else 65535.0
                scale = 255.0 / max(high, 1.0)
        except RasterioIOError as exc:
            raise InputError(path, f"truncated or corrupt raster ({str(exc).splitlines()[0]})") from exc
        georeferenced = src.crs is not None and src.transform != Affine.identity()
        pixel_size_m, map_scale = _pixel_size_m(src, gsd_mm)
        epsg = src.crs.to_epsg() if src.crs else None
        palette = None
        if src.count == 1 and src.colorinterp[0] == ColorInterp.palette:
            try:
                colours = src.colormap(1)
            except ValueError as exc:
                raise InputError(path, "palette raster without a colour map") from exc
            palette = tuple(tuple(int(v) for v in colours.get(i, (0, 0, 0, 0))[:3]) for i in range(256))
        return RasterInfo(
            path=path, width=src.width, height=src.height, count=src.count, dtype=dtype,
            crs_wkt=src.crs.to_wkt() if src.crs else None, epsg=epsg, transform=src.transform,
            nodata=src.nodata, has_alpha=any(c == ColorInterp.alpha for c in src.colorinterp),
            georeferenced=georeferenced, pixel_size_m=pixel_size_m, scale=scale, palette=palette,
            map_scale=map_scale, exif_orientation=_exif_orientation(src), gcps=len(src.gcps[0]),
            masked=has_mask(src),
        )


def has_mask(src) -> bool:
    """Whether an open dataset has pixels without data (a mask, a nodata value or alpha)."""
    return not all(flags == [MaskFlags.all_valid] for flags in src.mask_flag_enums)


def all_valid(shape: tuple[int, int]) -> np.ndarray:
    """The validity of pixels that all have data: one True broadcast to ``shape`` (a read-only
    view that takes no memory; :func:`is_all_valid` knows it without looking at its pixels)."""
    return np.broadcast_to(np.True_, shape)


def is_all_valid(valid: np.ndarray) -> bool:
    """Whether ``valid`` is (a slice of) an :func:`all_valid` view: no pixel needs looking at."""
    return valid.ndim == 2 and valid.strides == (0, 0) and bool(valid.flat[0])


def _exif_orientation(src) -> int:
    value = src.tags().get("EXIF_Orientation", "1")
    return int(value) if value.strip().isdigit() else 1


def src_index_list(count: int) -> list[int]:
    return [1, 2, 3] if count >= 3 else [1]


def read_window(src, info: RasterInfo, window: Window) -> tuple[np.ndarray, np.ndarray]:
    """``(HxWx3 uint8 RGB, HxW bool valid)`` for one window of an open dataset.

    Invalid pixels are filled from their valid neighbours (:func:`fill_invalid`). GDAL writes
    the pixels interleaved (HxWx3) itself: reading bands and transposing them in numpy cost 0.86
    instead of 0.63 s of CPU for the windows of a 100 MP orthophoto, and asking for the mask of a
    raster that has none (every band's mask all-valid) 0.17 s more.
    """
    if info.palette is not None:
        rgb = np.asarray(info.palette, dtype=np.uint8)[src.read(1, window=window)]
    elif info.scale != 1.0:
        data = np.clip(src.read(info.rgb_bands, window=window).astype(np.float32) * info.scale, 0, 255)
        rgb = np.ascontiguousarray(np.moveaxis(data.astype(np.uint8), 0, -1))
    else:
        rgb = np.empty((int(window.height), int(window.width), 3), np.uint8)
        src.read(info.rgb_bands, window=window, out=np.moveaxis(rgb, -1, 0))
    if not info.masked:
        return rgb, all_valid(rgb.shape[:2])
    valid = src.dataset_mask(window=window) > 0
    if valid.all():  # the common case: a read-only view of one value instead of a megabyte per tile
        return rgb, all_valid(valid.shape)
    return fill_invalid(rgb, valid), valid


FILL_MEAN_SIGMA_PX = 24.0  # scale of the local surface colour carried into the gap


def fill_invalid(rgb: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Replace pixels without data by a synthetic continuation of the surface around them.

    Local mean colour (normalized convolution of the valid pixels, nearest value further out)
    plus grain with the valid pixels' own spread: the model sees more road at a collar's edge,
    not a black step or the streaks of a nearest-pixel fill. The grain is seeded by the tile's
    content, so a resumed run fills identically. Filled pixels are masked out after stitching.
    """
    if not valid.any():
        return rgb
    weight = valid.astype(np.float32)
    sums = cv2.GaussianBlur(rgb.astype(np.float32) * weight[..., None], (0, 0), FILL_MEAN_SIGMA_PX)
    norms = cv2.GaussianBlur(weight, (0, 0), FILL_MEAN_SIGMA_PX)
    reached = norms > 1e-3
    mean = np.where(reached[..., None], sums / np.maximum(norms, 1e-3)[..., None], 0)
    if not reached.all():  # far from any data: the nearest reached mean colour
        from scipy import ndimage  # deferred: half a second of start-up, needed deep inside collars only

        _, (rows, cols) = ndimage.distance_transform_edt(~reached, return_indices=True)
        mean = mean[rows, cols]
    spread = (rgb.astype(np.float32) - mean)[valid].std(axis=0)
    rng = np.random.default_rng(int(rgb[valid][:4096].sum()) + int(valid.sum()))
    grain = cv2.GaussianBlur(rng.standard_normal(rgb.shape[:2]).astype(np.float32), (0, 0), 0.7)
    grain = grain[..., None] * (spread / max(float(grain.std()), 1e-6))  # grey grain, each band's spread
    out = rgb.copy()
    out[~valid] = np.clip(mean + grain, 0, 255).astype(np.uint8)[~valid]
    return out
