"""The row pipeline: the same predictions as row by row, one row of pixels held, and the network
never sharing the CPU with reading."""

from __future__ import annotations

import gc
import threading
import time
import weakref

import numpy as np

from cracks.inspect import rows
from cracks.synthetic import RenderedCrack
from tests.rasters import dark_pixel_predictor, scene, write_geotiff
from tiling.raster import open_raster
from tiling.windows import plan_windows


def test_prefetched_rows_match_row_by_row_hold_a_row_and_never_read_beside_the_network(tmp_path, monkeypatch):
    crack = RenderedCrack(points=np.array([[20.0, 30.0], [300.0, 800.0]]), width=3.0)
    image, _ = scene(400, 900, [crack])
    # a nodata block that covers whole tiles: those are skipped, never sent to the model
    path = write_geotiff(tmp_path / "site.tif", image, nodata_box=(slice(0, 200), slice(0, 300)))
    info = open_raster(path)
    grid = plan_windows(info.width, info.height, tile=128, overlap=32)
    per_row = len(grid.col_starts)
    assert per_row >= 8

    alive: list[weakref.ref] = []  # the pixels of every tile read so far
    read_window = rows.read_window
    reading = 0  # reads in progress
    lock = threading.Lock()

    def tracked_read(src, info, window):
        nonlocal reading
        with lock:
            reading += 1
        time.sleep(0.002)  # a read long enough to be caught in the act
        try:
            rgb, valid = read_window(src, info, window)
        finally:
            with lock:
                reading -= 1
        alive.append(weakref.ref(rgb))
        return rgb, valid

    most_held, reads_beside_the_network = 0, 0

    def predictor(tiles):
        nonlocal most_held, reads_beside_the_network
        gc.collect()
        most_held = max(most_held, sum(ref() is not None for ref in alive))
        reads_beside_the_network += reading
        probabilities = dark_pixel_predictor(tiles)
        time.sleep(0.002)
        reads_beside_the_network += reading
        return probabilities

    monkeypatch.setattr(rows, "read_window", tracked_read)
    indices = list(range(len(grid.row_starts)))
    pipelined = list(rows.prefetched_rows(info, grid, predictor, indices))
    assert most_held <= per_row  # the row being segmented; the next one is read after it
    assert reads_beside_the_network == 0

    skipped = 0
    for r, got in zip(indices, pipelined, strict=True):
        expected = rows.segment_row(info, grid, r, dark_pixel_predictor)
        assert [t.window for t in got] == [t.window for t in expected]
        for a, b in zip(got, expected):
            if b.probability is None:
                skipped += 1
                assert a.probability is None and not a.valid.any()
            else:
                assert a.probability.dtype == np.uint8 and np.array_equal(a.probability, b.probability)
                assert np.array_equal(a.valid, b.valid)
    assert skipped > 0


def test_rows_are_read_beside_a_network_on_a_gpu(tmp_path, monkeypatch):
    """A GPU leaves the cores free: there the next row is read while the network runs."""
    image, _ = scene(300, 900, [])
    info = open_raster(write_geotiff(tmp_path / "site.tif", image))
    grid = plan_windows(info.width, info.height, tile=128, overlap=32)
    read_window = rows.read_window
    started = threading.Event()

    def slow_read(src, info, window):
        started.set()
        time.sleep(0.002)
        return read_window(src, info, window)

    class OnGpu:
        model = type("Model", (), {"on_cuda": True})()
        reads_beside = 0

        def __call__(self, tiles):
            started.clear()
            time.sleep(0.02)
            self.reads_beside += started.is_set()
            return dark_pixel_predictor(tiles)

    monkeypatch.setattr(rows, "read_window", slow_read)
    predictor = OnGpu()
    assert rows.on_gpu(predictor) and not rows.on_gpu(dark_pixel_predictor)
    list(rows.prefetched_rows(info, grid, predictor, list(range(len(grid.row_starts)))))
    assert predictor.reads_beside > 0

