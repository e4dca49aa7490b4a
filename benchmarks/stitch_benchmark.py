"""The row stitcher alone on a grid of random tiles: seconds of ``add`` and ``finish``, and a digest.

    .venv/bin/python benchmarks/stitch_benchmark.py [--side 10000] [--tree PATH]

Stitches a ``side`` x ``side`` raster's grid (1024 px tiles, 128 px overlap, as inspection plans
it) from one random tile rolled per window, a nodata collar on the first window of each row,
and prints the seconds spent adding tiles and finishing rows, with a sha256 of every row handed
out. ``--tree`` imports the stitcher from another checkout (a git worktree of an older commit):
the digests must agree, the seconds compare.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--side", type=int, default=10000)
    parser.add_argument("--tree", type=Path, default=REPO)
    args = parser.parse_args()
    sys.path.insert(0, str(args.tree))
    from tiling.stitch import RowStitcher
    from tiling.windows import plan_windows

    grid = plan_windows(args.side, args.side, 1024, 128)
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 256, (grid.window_height, grid.window_width), dtype=np.uint8)
    collar = np.ones(tile.shape, bool)
    collar[:, :50] = False
    everywhere = np.broadcast_to(np.True_, tile.shape)  # what read_window gives a tile without nodata
    stitcher, digest, adding, finishing = RowStitcher(grid), hashlib.sha256(), 0.0, 0.0
    for r in range(len(grid.row_starts)):
        for i, window in enumerate(grid.row(r)):
            probability = np.roll(tile, 37 * (r * 13 + i), axis=1)
            started = time.perf_counter()
            stitcher.add(window, probability, collar if i == 0 else everywhere)
            adding += time.perf_counter() - started
        started = time.perf_counter()
        rows = stitcher.finish(grid.next_row_start(r))
        finishing += time.perf_counter() - started
        digest.update(rows.probability.tobytes())
        digest.update(rows.valid.tobytes())
    print(f"{args.tree}: {args.side} x {args.side} px, {grid.window_width} px windows: add {adding:.2f} s, "
          f"finish {finishing:.2f} s; sha256 {digest.hexdigest()[:16]}")


if __name__ == "__main__":
    main()
