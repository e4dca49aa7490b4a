"""Peak memory and time of scoring one large photo: in one piece against inspection's windows.

    .venv/bin/python benchmarks/evaluate_memory.py [--megapixels 12] [--model models/default]

Each way runs in its own process (peak RSS is per process): a generated photo of the given size
(4:3) through :func:`cracks.training.evaluate.probability_of` (windows, what ``cracks evaluate``
does) or straight through the network (one piece, what it did before), torch fp32.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = """
import json, resource, sys, time
import numpy as np
from cracks.models import artifact
from cracks.models.predict import predict_probabilities
from cracks.training.evaluate import probability_of
way, height, width, model = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
loaded = artifact.load(model)
image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
start = time.perf_counter()
if way == "windows":
    probability_of(loaded.model, image, loaded.meta.normalization)
else:
    predict_probabilities(loaded.model, image[None], loaded.meta.normalization)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--model", type=Path, default=REPO / "models" / "default")
    args = parser.parse_args()
    from cracks.models.hardware import cpu_model

    width = int(math.sqrt(args.megapixels * 1e6 * 4 / 3))
    height = int(width * 3 / 4)
    print(f"CPU {cpu_model()}; a {width}x{height} photo ({width * height / 1e6:.1f} MP), torch fp32")
    print("| way | seconds | peak RSS |\n|---|---|---|")
    for way in ("windows", "one piece"):
        out = subprocess.run([sys.executable, "-c", CHILD, way, str(height), str(width), str(args.model)],
                             capture_output=True, text=True, cwd=REPO, check=True)
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {way} | {figures['seconds']:.1f} | {figures['peak_mb']:.0f} MB |", flush=True)


if __name__ == "__main__":
    main()
