"""Running ``cracks inspect`` in fresh, instrumented processes: what the timeline benchmarks share.

A benchmark gives a child script (Python source run with ``-c``) that patches what it measures,
runs the console script's entry point on ``sys.argv[1]`` into ``sys.argv[2]``, and prints one
JSON line last. :data:`OTHER_TREE` at its top makes ``sys.argv[3]``, when not empty, the
checkout whose code runs (a git worktree of an older commit, for alternated comparisons).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SITE = Path("/tmp/bench/ortho_100mp.tif")  # what inspect_benchmark.py generates

OTHER_TREE = r"""
import sys
if sys.argv[3]:  # another checkout's code instead of the installed one
    sys.meta_path = [finder for finder in sys.meta_path if "editable" not in repr(finder)]
    sys.path.insert(0, sys.argv[3])
"""


def inspection_runs(description: str, child: str, *, runs: int = 3) -> Iterator[tuple[int, dict]]:
    """Parse ``[ORTHOPHOTO] [--runs N] [--tree PATH]``, print the CPU, then run ``child`` once
    per run in a fresh process: ``(run, its JSON)``; a failed run is printed and skipped."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("orthophoto", nargs="?", type=Path, default=DEFAULT_SITE)
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--tree", type=Path, default=None, help="run this checkout's code instead")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from cracks.models.hardware import cpu_model

    print(f"CPU: {cpu_model()}; {args.orthophoto}; code from {args.tree or REPO}")
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as out:
            done = subprocess.run([sys.executable, "-c", child, str(args.orthophoto), out,
                                   str(args.tree.resolve()) if args.tree else ""], capture_output=True, text=True, cwd=out)
        if done.returncode != 0:
            print(f"run {run} failed: {done.stderr.strip().splitlines()[-1]}")
            continue
        yield run, json.loads(done.stdout.strip().splitlines()[-1])
