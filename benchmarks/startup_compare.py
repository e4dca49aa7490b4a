"""Is this tree faster on a site than another commit? Alternated runs: min and median, peak RSS.

    .venv/bin/python benchmarks/startup_compare.py BASE_COMMIT [--runs 10] [--site sample/road_section.tif]

On a machine whose speed drifts by more than the change being measured, only runs alternated
in one series compare: each round runs ``cracks inspect SITE`` once from a checkout of
``BASE_COMMIT`` (a temporary git worktree, the same virtual environment) and once from this
tree, each in a fresh process with its own OpenVINO compiled-network cache (so neither prunes
the other's), and prints every wall time and peak RSS, then the minimum and median of each.
Any site works: the sample for start-up, a generated orthophoto of the inspection benchmark
(``--site /tmp/bench/ortho_100mp.tif``) for throughput and memory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUN = ("import sys; from cracks import cli; sys.argv = ['cracks', 'inspect', sys.argv[1], '--out', sys.argv[2]]; "
       "(getattr(cli, 'main', None) or cli.app)()")  # the console script's entry point (main, or app before it)


def inspect_once(source: Path, site: Path, cache: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one ``cracks inspect`` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(source), "CRACKS_CACHE_DIR": str(cache)}
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        # cwd outside both trees: PYTHONPATH decides which code runs
        process = subprocess.Popen([sys.executable, "-c", RUN, str(site), out], cwd=tempfile.gettempdir(), env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        stderr = process.stderr.read()
        process.stderr.close()
        _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage: its peak RSS
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        if process.returncode:
            raise SystemExit(f"{source}: cracks inspect failed: {stderr.decode().strip().splitlines()[-1]}")
        return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the commit to compare with")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--site", type=Path, default=REPO / "sample" / "road_section.tif")
    args = parser.parse_args()
    from cracks.models.hardware import cpu_model

    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; {args.site.resolve()}, {args.runs} alternated rounds")
    with tempfile.TemporaryDirectory() as scratch:
        base_tree = Path(scratch) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base_tree), args.base], cwd=REPO, check=True,
                       capture_output=True)
        try:
            trees = {args.base: base_tree, "this tree": REPO}
            times: dict[str, list[float]] = {name: [] for name in trees}
            peaks: dict[str, list[float]] = {name: [] for name in trees}
            for name, tree in trees.items():  # a first run each fills its compiled-network cache
                inspect_once(tree, args.site.resolve(), Path(scratch) / f"cache-{tree.name}")
            for i in range(args.runs):
                for name, tree in trees.items():
                    seconds, peak = inspect_once(tree, args.site.resolve(), Path(scratch) / f"cache-{tree.name}")
                    times[name].append(seconds)
                    peaks[name].append(peak)
                print(f"round {i + 1}: " + ", ".join(f"{name} {times[name][-1]:.2f} s {peaks[name][-1]:.0f} MB"
                                                     for name in trees), flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=REPO, capture_output=True)
    for name, values in times.items():
        print(f"{name}: min {min(values):.2f} s, median {statistics.median(values):.2f} s, "
              f"peak RSS up to {max(peaks[name]):.0f} MB")


if __name__ == "__main__":
    main()
