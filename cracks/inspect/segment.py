"""Segmenting a raster tile by tile into a Cloud-Optimized GeoTIFF of crack probability.

Rows of tiles come from :mod:`.rows` (or from workers, in a flow), are stitched row by row, and
saved as they finish (:mod:`.resume`): a run that is killed and started again with the same
input, model and tiling continues from the last finished grid row; finished tiles are never
recomputed. The model runs through :mod:`.predictor`.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from tqdm import tqdm

from cracks.atomic import atomic_path
from cracks.inspect.bands import OVERVIEW_BLOCK, create_bands, probability_vrt, write_band, write_overviews
from cracks.inspect.resume import STATE, _load_state, _save_npz, mask_is_current
from cracks.inspect.rows import TilePrediction, prefetched_rows
from cracks.memory import return_freed_memory
from cracks.timing import StageTimes
from tiling.preview import Preview
from tiling.raster import RasterInfo
from tiling.stitch import RowStitcher
from tiling.windows import WindowGrid

log = logging.getLogger(__name__)


def _copy_cog(source: Path, target: Path) -> None:
    """Copy the probability raster as a Cloud-Optimized GeoTIFF (its mask an internal one), atomically.

    ``source`` brings its overviews (:func:`.bands.write_overviews`); GDAL only compresses them."""
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), atomic_path(target) as tmp:
        rasterio.shutil.copy(source, tmp, driver="COG", compress="DEFLATE", blocksize=OVERVIEW_BLOCK,
                             overviews="FORCE_USE_EXISTING")


class MaskWriter:
    """The COG copy of the segmented probabilities, made on a thread.

    Nothing after segmentation needs the COG itself, only the probabilities, which the work
    folder's bands already hold (:mod:`.bands`): so measuring reads those (``source``) on one
    core while the other makes the overviews (a masked mean per level, :mod:`tiling.overviews`)
    and copies them with the bands into the COG: 0.65 CPU-s at 100 MP, against 0.95 with GDAL
    making the overviews (``benchmarks/cog_benchmark.py``). :meth:`wait` joins the two before anything is published.
    """

    def __init__(self, info: RasterInfo, key: str, target: Path, work: Path, times: StageTimes) -> None:
        self.source, self.target, self.work = probability_vrt(info, work, key), target, work
        self._error: BaseException | None = None
        self._done = False

        def copy() -> None:
            try:
                with times.measure("cog"):
                    _copy_cog(probability_vrt(info, work, key, write_overviews(work)), target)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                self._error = exc

        # not a daemon: a run stopped meanwhile (Ctrl-C) still ends with a whole COG, never a partial file
        self._thread = threading.Thread(target=copy, name="cog-copy")
        self._thread.start()

    def wait(self) -> Path:
        """The COG, once written; the work folder goes with it (a failed copy keeps it, for a resume)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        if not self._done:
            shutil.rmtree(self.work, ignore_errors=True)
            self._done = True
        return self.target


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
    in_background: bool = False,
) -> Path | MaskWriter:
    """Write ``target`` (COG, uint8 probability) for ``info``; resume from ``work`` if possible.

    ``rows`` maps the grid rows still to do to their predictions, in order; by default they
    are computed here with ``predictor``. Flows pass a function that runs them on workers.
    ``times`` collects seconds per stage (read, model, stitch, cog). ``preview`` is filled from the
    tiles read here (not from ``rows``' workers, nor for rows done before a resume).
    ``in_background``: return as soon as every band is segmented, the COG being copied on
    a thread (a :class:`MaskWriter`, whose ``wait()`` gives the COG); else return the COG.
    """
    times = times or StageTimes()
    if mask_is_current(target, key):
        log.info("%s: probability mask is current, not recomputed", target)
        shutil.rmtree(work, ignore_errors=True)  # what a run stopped after its COG copy left behind
        return target
    work.mkdir(parents=True, exist_ok=True)
    stitcher = RowStitcher(grid)
    state = _load_state(work, key, (grid.height, grid.width))
    start = 0
    if state is not None:
        start = int(state["rows_done"])
        stitcher.restore(state)
        total = len(grid.row_starts)
        message = f"resuming at grid row {start + 1} of {total}" if start < total else "all tiles done, assembling the mask"
        log.info("%s: %s", info.path.name, message)
        print(f"{info.path.name}: {message} (from {work})", flush=True)
    else:
        create_bands(info, work, key)
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
            write_band(work, finished.y0, finished.probability, finished.valid)  # on disk before the state counts it
        _save_npz(work / STATE, key=np.array(key), rows_done=np.array(r + 1), **stitcher.carry())
        times.add("stitch", time.perf_counter() - stitch_started)
        bar.update(1)
    bar.close()
    return_freed_memory()  # the pipeline's tile arrays, before GDAL's COG copy allocates its own
    writer = MaskWriter(info, key, target, work, times)
    return writer if in_background else writer.wait()
