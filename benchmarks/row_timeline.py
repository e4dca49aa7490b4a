"""Where an inspection's seconds go around the network: before it, between its rows, after it.

    .venv/bin/python benchmarks/row_timeline.py [ORTHOPHOTO] [--runs 3] [--tree PATH]

Runs ``cracks`` (its console script's entry point) on the orthophoto (default: the 100 MP raster
``inspect_benchmark.py`` generates, ``/tmp/bench/ortho_100mp.tif``) in a fresh process per run,
with a clock around each grid row's network calls (``predict_row``), and prints when the first
row reaches the network, the network's seconds, the gaps between rows (reading the next row and
stitching the last), the seconds after the last row (measuring, the COG, records, reports), and
the stitcher's own seconds by step (add, finish, bands written, state saved). The CPU model
comes first: compare only figures of one machine and hour. ``--tree`` runs another checkout's
code (a git worktree of an older commit), for alternated comparisons.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.inspection_runs import OTHER_TREE, inspection_runs  # noqa: E402

CHILD = r"""
import collections, json, sys, time
import cracks.inspect.rows as rows
import cracks.inspect.segment as segment
from tiling.stitch import RowStitcher
marks, steps = [], collections.Counter()
def timed(owner, name, key, log=None):
    original = getattr(owner, name)
    def run(*args, **kwargs):
        started = time.perf_counter()
        result = original(*args, **kwargs)
        (log.append((started, time.perf_counter())) if log is not None else None)
        steps[key] += time.perf_counter() - started
        return result
    setattr(owner, name, run)
timed(rows, "predict_row", "network", marks)
for owner, name in ((RowStitcher, "add"), (RowStitcher, "finish"), (segment, "write_band"), (segment, "_save_npz")):
    timed(owner, name, name)
from cracks import cli
site, out = sys.argv[1], sys.argv[2]
sys.argv = ["cracks", "inspect", site, "--out", out]
started = time.perf_counter()
try:
    cli.main()
except SystemExit:
    pass
end = time.perf_counter()
gaps = [b[0] - a[1] for a, b in zip(marks, marks[1:])]
print(json.dumps({"first_row": marks[0][0] - started, "network": steps["network"], "gaps": sum(gaps),
                  "gap_list": gaps, "after": end - marks[-1][1],
                  "total": end - started, "stitch": {k: steps[k] for k in ("add", "finish", "write_band", "_save_npz")}}))
"""


def main() -> None:
    for run, t in inspection_runs(__doc__, OTHER_TREE + CHILD):
        stitch = ", ".join(f"{k.strip('_')} {v:.2f}" for k, v in t["stitch"].items())
        print(f"run {run}: first row at {t['first_row']:.2f} s; network {t['network']:.2f} s; gaps {t['gaps']:.2f} s "
              f"({'/'.join(f'{1000 * g:.0f}' for g in t['gap_list'])} ms); after the last row {t['after']:.2f} s; "
              f"total {t['total']:.2f} s; stitcher: {stitch} s")


if __name__ == "__main__":
    main()
