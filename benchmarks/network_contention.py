"""What work beside the network costs it: the int8 network on real windows, alone and beside a busy thread.

    .venv/bin/python benchmarks/network_contention.py [ORTHOPHOTO] [--windows 40] [--nice 0 19]

Reads ``--windows`` windows of the orthophoto's grid (default: a generated 100 MP benchmark
raster, ``/tmp/bench/ortho_100mp.tif``, from ``inspect_benchmark.py``), then runs the network
as inspection runs it, once alone and once beside a thread that works with numpy half of the time
(5 ms on, 5 ms off), at each ``--nice`` level for that thread. Prints the network's seconds, the
busy thread's CPU seconds, and what each of those cost the network: 0.5 s per CPU-second is a
fair share of two cores; 1.0 s means the work stalled the network outright. Why inspection reads
and stitches between rows rather than beside the network (:func:`cracks.inspect.rows.prefetched_rows`).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path

import numpy as np
import rasterio

REPO = Path(__file__).resolve().parent.parent


def busy(stop: threading.Event, nice: int, cpu: list[float]) -> None:
    if nice:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    a, b = np.zeros(4_000_000, np.float32), np.empty(4_000_000, np.float32)
    used = 0.0
    while not stop.is_set():
        started, clock = time.thread_time(), time.perf_counter()
        while time.perf_counter() - clock < 0.005:
            np.multiply(a, 1.0001, out=b)
            np.add(b, a, out=a)
        used += time.thread_time() - started
        time.sleep(0.005)
    cpu.append(used)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("orthophoto", nargs="?", type=Path, default=Path("/tmp/bench/ortho_100mp.tif"))
    parser.add_argument("--windows", type=int, default=40)
    parser.add_argument("--nice", type=int, nargs="+", default=[0, 19])
    parser.add_argument("--model", type=Path, default=REPO / "models" / "default")
    args = parser.parse_args()

    from cracks.config import InspectConfig
    from cracks.inspect.predictor import Predictor
    from cracks.models import artifact
    from cracks.models.hardware import cpu_model
    from tiling.raster import open_raster, read_window
    from tiling.windows import plan_windows

    info = open_raster(args.orthophoto)
    grid = plan_windows(info.width, info.height, InspectConfig.tile, InspectConfig.overlap)
    windows = [w for row in range(len(grid.row_starts)) for w in grid.row(row)][: args.windows]
    with rasterio.open(args.orthophoto) as src:
        tiles = [read_window(src, info, window)[0] for window in windows]
    predictor = Predictor(artifact.load(args.model, lazy=True))
    predictor(tiles[:1])  # compiled
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; {predictor.choice}; {len(tiles)} windows of "
          f"{grid.window_width} x {grid.window_height} px")

    def network_seconds() -> float:
        started = time.perf_counter()
        for tile in tiles:
            predictor([tile])
        return time.perf_counter() - started

    for nice in args.nice:
        alone = network_seconds()
        stop, cpu = threading.Event(), []
        thread = threading.Thread(target=busy, args=(stop, nice, cpu))
        thread.start()
        beside = network_seconds()
        stop.set()
        thread.join()
        print(f"nice {nice:>2}: network alone {alone:.2f} s, beside the busy thread {beside:.2f} s; the thread "
              f"used {cpu[0]:.2f} CPU-s, each of which cost the network {(beside - alone) / cpu[0]:.2f} s "
              f"(a fair share: 0.50)")


if __name__ == "__main__":
    main()
