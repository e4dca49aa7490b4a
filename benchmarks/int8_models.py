"""Several models' int8 exports on one 1024 px tile, as inspection runs them: MP/s, alternated.

    .venv/bin/python benchmarks/int8_models.py models/default OTHER_MODEL [--rounds 5]

Why: a new export may send a different number of layers back to float, and that shows in speed,
not in Dice. Each model goes through inspection's own backend choice (``resolve`` with ``auto``:
int8, with bf16 float layers on a CPU that runs bf16 natively) and is warmed up once; then every
round times each model once, in turn, so a slow minute of a shared machine falls on all of them.
Prints the CPU model and the median MP/s of each, with its count of int8 (FakeQuantize) nodes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

TILE = 1024


def main() -> None:
    from cracks.models import artifact
    from cracks.models.backends import int8_export, make_backend, prepare, resolve
    from cracks.models.hardware import cpu_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    tile = np.random.default_rng(0).integers(0, 255, (1, TILE, TILE, 3), dtype=np.uint8)
    runners = {}
    for path in args.models:
        model = artifact.load(path, lazy=True)
        choice = resolve(model, "openvino", "auto")
        runner = make_backend(model, choice)
        prepare(runner, (TILE, TILE))
        runner(tile)  # compile and warm up
        exported = int8_export(model)
        quantizers = exported.read_text().count('type="FakeQuantize"') if exported else 0
        runners[path] = (runner, f"{choice}, {quantizers} FakeQuantize nodes")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; one {TILE} x {TILE} tile, {args.rounds} alternated rounds")
    seconds: dict[Path, list[float]] = {path: [] for path in runners}
    for _ in range(args.rounds):
        for path, (runner, _) in runners.items():
            start = time.perf_counter()
            runner(tile)
            seconds[path].append(time.perf_counter() - start)
    for path, (_, what) in runners.items():
        print(f"{path}: {TILE * TILE / 1e6 / statistics.median(seconds[path]):.2f} MP/s ({what})")


if __name__ == "__main__":
    main()
