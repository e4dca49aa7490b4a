"""Grid rows of tiles: read them, give thin ones context, predict; the threaded row pipeline."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import rasterio
from rasterio.windows import Window

from cracks.models.backends import prepare
from cracks.timing import StageTimes
from tiling.preview import Preview
from tiling.raster import RasterInfo, read_window
from tiling.windows import WindowGrid

TileRead = tuple[Window, np.ndarray, np.ndarray]  # (window, HxWx3 uint8 RGB, HxW bool valid)
Predict = Callable[[list[np.ndarray]], list[np.ndarray]]


@dataclass
class TilePrediction:
    window: Window
    probability: np.ndarray | None  # HxW uint8, probability x 255; None: no valid pixels, skipped
    valid: np.ndarray


def to_u8(probability: np.ndarray) -> np.ndarray:
    """Probabilities 0-1 as uint8 0-255, the resolution the mask keeps in the end.

    Two rows of predictions wait in the row pipeline: on a 20,000 px wide orthophoto 184 MB as
    float32, 46 MB as uint8, and blending uint8 into the stitcher's float32 band is 9x faster
    than blending float16 (numpy converts float16 element by element, which is also why the
    backends hand out float32).
    """
    scaled = np.multiply(probability, 255, dtype=np.float32)
    return np.rint(scaled, out=scaled).astype(np.uint8)


def read_row(info: RasterInfo, grid: WindowGrid, row: int) -> list[TileRead]:
    """The windows of one grid row as ``(window, rgb, valid)``."""
    with rasterio.open(info.path) as src:
        return [(w, *read_window(src, info, w)) for w in grid.row(row)]


MIN_CONTEXT_PX = 256  # a model sees at least this much around every pixel (thin rasters are wrapped out)
CONTEXT_SEAM_PX = 4  # next to each side of a wrapped tile, its own edge mirrored (with_context)


def predict_row(reads: Iterable[TileRead], predictor: Predict, times: StageTimes | None = None) -> list[TilePrediction]:
    """Segment the windows of one grid row, in order; all-nodata windows are skipped.

    ``reads`` may be a generator: each tile goes to the model as soon as a batch is full (the
    predictor's ``batch_size``, one tile without it) and its pixels are dropped once predicted.
    """
    times = times or StageTimes()
    batch = getattr(predictor, "batch_size", 1)
    results: list[TilePrediction] = []
    waiting: list[TileRead] = []  # the valid tiles of the next model call

    def run_model() -> None:
        with times.measure("model"):
            probabilities = with_context(predictor, [rgb for _, rgb, _ in waiting])
        for (window, _, valid), probability in zip(waiting, probabilities):
            results.append(TilePrediction(window, to_u8(probability), valid))
        waiting.clear()

    for window, rgb, valid in reads:
        if valid.any():
            waiting.append((window, rgb, valid))
            if len(waiting) >= batch:
                run_model()
        else:
            results.append(TilePrediction(window, None, valid))
    if waiting:
        run_model()
    results.sort(key=lambda tile: tile.window.col_off)  # a skipped tile may come before a pending batch
    return results


def segment_row(info: RasterInfo, grid: WindowGrid, row: int, predictor: Predict) -> list[TilePrediction]:
    """Read and segment the windows of one grid row."""
    return predict_row(read_row(info, grid, row), predictor)


def on_gpu(predictor: Predict) -> bool:
    """Whether the predictor's network runs on a GPU (a :class:`~cracks.inspect.predictor.Predictor`
    of a model on CUDA); custom predictors count as CPU ones."""
    return bool(getattr(getattr(predictor, "model", None), "on_cuda", False))


def prefetched_rows(info: RasterInfo, grid: WindowGrid, predictor: Predict, indices: list[int],
                    times: StageTimes | None = None, preview: Preview | None = None) -> Iterator[list[TilePrediction]]:
    """Segment rows in order, taking turns with the network: while the caller stitches and saves
    one row, a thread reads the next; then the network segments it alone.

    Why not read and stitch while the network runs, as this did: on the CPU the network's two
    threads meet at every layer, so any other work on either core stalls both. Measured on a
    2-core Xeon (``benchmarks/network_contention.py``): each CPU-second of work beside the int8
    network cost it 0.95-1.02 s of wall clock, not the 0.5 s a fair share would; reading and
    stitching beside it held it 2 s back on a 100 MP orthophoto. Between rows, the reading and
    the stitching share the two cores instead, and the network then has them both.

    One reader, through one dataset: the stitching is what the network waits for between rows,
    and a second reader took part of its core and decoded again the blocks of the overlap that
    the other reader's dataset had cached (gaps between rows 0.87-1.05 s per 100 MP with two
    readers, 0.75-0.76 s with one: ``benchmarks/row_timeline.py``). On a GPU the network leaves
    the cores alone: there the next row is read while it runs.

    A row of pixels is held while it is segmented (23 tiles, 63 MB, on a 20,000 px wide
    orthophoto); its predictions are handed out as the row is done. ``preview``, if given,
    samples every tile read (the report's overview map, :mod:`tiling.preview`).
    """
    times = times or StageTimes()
    with rasterio.open(info.path) as src, ThreadPoolExecutor(max_workers=1, thread_name_prefix="read") as reader:

        def read(windows: list[Window]) -> list[TileRead]:  # only the reader thread touches ``src`` (and ``preview``)
            tiles = []
            for window in windows:
                with times.measure("read"):
                    rgb, valid = read_window(src, info, window)
                    if preview is not None:
                        preview.add(window, rgb, valid)
                tiles.append((window, rgb, valid))
            return tiles

        reading = reader.submit(read, grid.row(indices[0]) if indices else [])
        if indices and min(grid.window_height, grid.window_width) >= MIN_CONTEXT_PX:  # (thinner: grown first)
            prepare(predictor, (grid.window_height, grid.window_width))  # compiled while the first row is read
        beside = on_gpu(predictor)  # a network on a GPU leaves the cores free: read beside it
        for k in range(len(indices)):
            row = reading.result()
            upcoming = grid.row(indices[k + 1]) if k + 1 < len(indices) else []
            if beside:
                reading = reader.submit(read, upcoming)
            predictions = predict_row(row, predictor, times)  # on the CPU, the network alone
            del row
            if not beside:
                reading = reader.submit(read, upcoming)
            yield predictions  # stitched by the caller while the next row is read


def with_context(predictor: Predict, tiles: list[np.ndarray]) -> list[np.ndarray]:
    """Run ``predictor`` on tiles repeated out to at least ``MIN_CONTEXT_PX`` a side, then crop.

    A raster a few dozen pixels high (a strip along a crack, a thin orthophoto) would otherwise
    reach the network as a sliver: too little context to find anything. Repeated (wrapped), each
    copy's edge meets the next like a seam between two photos, which the field model has learned
    to ignore; mirroring made symmetric patterns it reads worse (a 64 px strip of the sample site
    against the same rows of the whole site, shipped model: Dice 0.665 wrapped, 0.568 mirrored;
    an earlier model 0.61 and 0.57, 0.51 wrapped out to 512 px).

    But a wrapped copy puts the crack that touches the opposite edge right beside this one, and
    the model continued it into the first rows: ghost cracks (``scripts/thin_context.py``: nine
    200 px strips of the sample, 699 predicted pixels in their 12 edge rows that the whole site has
    nowhere near, nearly all in the columns of a crack at the opposite edge). So the
    ``CONTEXT_SEAM_PX`` next to each side are the tile's own edge mirrored, the wrapped copy beyond
    them: 46 such pixels, Dice of the 200 px strips 0.912 as wrapped, of the 64 px strip 0.668
    (wrapped 0.665; a 8 px seam 41 and 0.633, 24 px 82 and 0.544; the smaller of a wrapped and
    a mirrored pass in the outer 6 px 10 and 0.645, at twice the model's time).
    """
    h, w = tiles[0].shape[:2]
    pad_y, pad_x = max(0, MIN_CONTEXT_PX - h), max(0, MIN_CONTEXT_PX - w)
    if not (pad_y or pad_x):
        return predictor(tiles)
    top, left = pad_y // 2, pad_x // 2
    grown = []
    for tile in tiles:
        g = np.pad(tile, ((top, pad_y - top), (left, pad_x - left), (0, 0)), mode="wrap")
        if pad_y:  # the rows just outside each edge: the tile's own, mirrored
            k = min(CONTEXT_SEAM_PX, h, top, pad_y - top)
            g[top - k : top] = g[top : top + k][::-1]
            g[top + h : top + h + k] = g[top + h - k : top + h][::-1]
        if pad_x:
            k = min(CONTEXT_SEAM_PX, w, left, pad_x - left)
            g[:, left - k : left] = g[:, left : left + k][:, ::-1]
            g[:, left + w : left + w + k] = g[:, left + w - k : left + w][:, ::-1]
        grown.append(g)
    return [p[top : top + h, left : left + w] for p in predictor(grown)]
