"""Generated rasters for inspection tests, and a model-free predictor.

``dark_pixel_predictor`` calls a pixel a crack when it is dark: on the generated scenes (cracks
darkened to ~30 % on a ~150 grey texture) it recovers the rendered mask almost exactly, so the
tiling, stitching, resume and measurement code can be tested independently of model quality.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from cracks.synthetic import RenderedCrack, draw_cracks, render, texture

UTM = "EPSG:32633"
ORIGIN = (500_000.0, 5_000_000.0)


def scene(height: int, width: int, cracks: list[RenderedCrack], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mask = draw_cracks((height, width), cracks)
    return render(texture(height, width, rng, contrast=10), mask, rng, darkness=0.7), mask


def write_geotiff(path: Path, image: np.ndarray, gsd_m: float | None = 0.001, crs: str | None = UTM,
                  nodata_box: tuple[slice, slice] | None = None, alpha: bool = False, dtype: str = "uint8",
                  tiled: bool = True, origin: tuple[float, float] = ORIGIN) -> Path:
    bands = np.moveaxis(image, -1, 0).astype(np.float64)
    if dtype == "uint16":
        bands = bands * 16  # a 12-bit sensor
    bands = bands.astype(dtype)
    profile = {"driver": "GTiff", "width": image.shape[1], "height": image.shape[0], "count": 3, "dtype": dtype}
    if tiled:
        profile.update(tiled=True, blockxsize=128, blockysize=128)
    if crs and gsd_m:
        profile.update(crs=crs, transform=from_origin(*origin, gsd_m, gsd_m))
    valid = np.ones(image.shape[:2], bool)
    if nodata_box is not None:
        valid[nodata_box] = False
    if alpha:
        profile["count"] = 4
        bands = np.concatenate([bands, (valid * (255 if dtype == "uint8" else 4080))[None].astype(dtype)])
    elif nodata_box is not None:
        profile["nodata"] = 0
        bands[:, ~valid] = 0
        bands[:, valid] = np.maximum(bands[:, valid], 1)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(bands)
        if alpha:
            dst.colorinterp = [rasterio.enums.ColorInterp.red, rasterio.enums.ColorInterp.green,
                               rasterio.enums.ColorInterp.blue, rasterio.enums.ColorInterp.alpha]
    return path


def dark_pixel_predictor(tiles: list[np.ndarray]) -> list[np.ndarray]:
    return [(t.mean(axis=-1) < 90).astype(np.float32) for t in tiles]


class CountingPredictor:
    """Counts the tiles it segments; raises instead of segmenting more than ``fail_after`` tiles,
    to simulate a kill."""

    def __init__(self, inner=dark_pixel_predictor, fail_after: int | None = None):
        self.inner = inner
        self.fail_after = fail_after
        self.tiles = 0
        self.calls = 0

    def __call__(self, tiles):
        if self.fail_after is not None and self.tiles + len(tiles) > self.fail_after:
            raise KeyboardInterrupt("simulated kill")
        self.calls += 1
        self.tiles += len(tiles)
        return self.inner(tiles)
