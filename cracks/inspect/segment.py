"""Segmenting a raster tile by tile into a Cloud-Optimized GeoTIFF of crack probability.

Rows of tiles come from :mod:`.rows` (or from workers, in a flow), are stitched row by row, and
saved as they finish (:mod:`.resume`): a run that is killed and started again with the same
input, model and tiling continues from the last finished grid row; finished tiles are never
recomputed. The model runs through :mod:`.predictor`.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.windows import Window
from tqdm import tqdm

from cracks.atomic import atomic_path
from cracks.inspect.resume import STATE, _load_state, _save_npz, mask_is_current
from cracks.inspect.rows import TilePrediction, prefetched_rows
from cracks.memory import return_freed_memory
from cracks.timing import StageTimes
from tiling.preview import Preview
from tiling.raster import RasterInfo
from tiling.stitch import RowStitcher
from tiling.windows import WindowGrid

log = logging.getLogger(__name__)


def _write_cog(info: RasterInfo, grid: WindowGrid, work: Path, target: Path, key: str) -> None:
    """Assemble the finished bands into a tiled GeoTIFF, then copy it as a COG (atomically)."""
    profile = {
        "driver": "GTiff", "width": info.width, "height": info.height, "count": 1, "dtype": "uint8",
        "tiled": True, "blockxsize": 256, "blockysize": 256,
    }
    if info.georeferenced:
        profile.update(crs=rasterio.CRS.from_wkt(info.crs_wkt), transform=info.transform)
    assembled = work / "assembled.tif"
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        with rasterio.open(assembled, "w", **profile) as dst:
            for band_file in sorted(work.glob("band_*.npz")):
                with np.load(band_file) as band:
                    y0, probability, valid = int(band["y0"]), band["probability"], band["valid"]
                window = Window(0, y0, info.width, probability.shape[0])
                dst.write(probability, 1, window=window)
                dst.write_mask((valid * 255).astype(np.uint8), window=window)
            dst.update_tags(crack_probability="uint8 0-255 = probability 0-1; masked where the input has no data",
                            cracks_run_key=key, source=info.path.name)
        with atomic_path(target) as tmp:
            rasterio.shutil.copy(assembled, tmp, driver="COG", compress="DEFLATE", blocksize=512,
                                 overview_resampling="average")
    assembled.unlink()


def segment_raster(
    info: RasterInfo,
    grid: WindowGrid,
    key: str,
    predictor: Callable[[list[np.ndarray]], list[np.ndarray]],
    target: Path,
    work: Path,
    *,
    rows: Callable[[list[int]], Iterator[list[TilePrediction]]] | None = None,
    progress: bool = True,
    times: StageTimes | None = None,
    preview: Preview | None = None,
) -> Path:
    """Write ``target`` (COG, uint8 probability) for ``info``; resume from ``work`` if possible.

    ``rows`` maps the grid rows still to do to their predictions, in order; by default they
    are computed here with ``predictor``. Flows pass a function that runs them on workers.
    ``times`` collects seconds per stage (read, model, stitch, cog). ``preview`` is filled from the
    tiles read here (not from ``rows``' workers, nor for rows done before a resume).
    """
    times = times or StageTimes()
    if mask_is_current(target, key):
        log.info("%s: probability mask is current, not recomputed", target)
        return target
    work.mkdir(parents=True, exist_ok=True)
    stitcher = RowStitcher(grid)
    state = _load_state(work, key)
    start = 0
    if state is not None:
        start = int(state["rows_done"])
        stitcher.restore(state)
        total = len(grid.row_starts)
        message = f"resuming at grid row {start + 1} of {total}" if start < total else "all tiles done, assembling the mask"
        log.info("%s: %s", info.path.name, message)
        print(f"{info.path.name}: {message} (from {work})", flush=True)
    else:
        for stale in work.glob("band_*.npz"):
            stale.unlink()
    todo = list(range(start, len(grid.row_starts)))
    if rows is None:
        def rows(indices: list[int]) -> Iterator[list[TilePrediction]]:
            return prefetched_rows(info, grid, predictor, indices, times, preview)

    bar = tqdm(total=len(grid.row_starts), initial=start, desc=f"segment {info.path.name}", unit="row",
               disable=not progress, leave=False)
    for r, predictions in zip(todo, rows(todo)):
        stitch_started = time.perf_counter()
        for tile in predictions:
            if tile.probability is None:
                stitcher.mark_valid(tile.window, tile.valid)
            else:
                stitcher.add(tile.window, tile.probability, tile.valid)
        finished = stitcher.finish(grid.next_row_start(r))
        if finished.probability.size:
            _save_npz(work / f"band_{finished.y0:09d}.npz", y0=np.array(finished.y0),
                      probability=finished.probability, valid=finished.valid)
        _save_npz(work / STATE, key=np.array(key), rows_done=np.array(r + 1), **stitcher.carry())
        times.add("stitch", time.perf_counter() - stitch_started)
        bar.update(1)
    bar.close()
    return_freed_memory()  # the pipeline's tile arrays, before the COG assembly allocates its own
    with times.measure("cog"):
        _write_cog(info, grid, work, target, key)
    shutil.rmtree(work, ignore_errors=True)
    return target
