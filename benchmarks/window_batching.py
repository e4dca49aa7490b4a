"""The sample site's four model windows through OpenVINO int8: one at a time, batched, or two streams.

    .venv/bin/python benchmarks/window_batching.py [models/default]

Inspection runs its windows one at a time in OpenVINO's latency mode; this prints the best of
three passes over four 832 x 960 windows (the sample site's grid) for batches of 1, 2 and 4 and
for throughput mode with two streams (each stream holds its own activations: more memory).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    import openvino as ov

    from cracks.models import artifact
    from cracks.models.backends import int8_export
    from cracks.models.hardware import cpu_model
    from cracks.models.openvino_ir import with_pre_and_post_processing

    model = artifact.load(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "models" / "default", lazy=True)
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; OpenVINO {ov.__version__}")
    core = ov.Core()
    core.set_property({"CACHE_DIR": tempfile.mkdtemp(prefix="window-batching-")})
    network = with_pre_and_post_processing(core.read_model(str(int8_export(model))), model.meta.normalization)
    windows = np.random.default_rng(0).integers(0, 255, (4, 960, 832, 3), dtype=np.uint8)
    for batch, hint, streams in ((1, "LATENCY", None), (2, "LATENCY", None), (4, "LATENCY", None), (1, "THROUGHPUT", 2)):
        shaped = network.clone()
        shaped.reshape([batch, 960, 832, 3])
        config = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": hint} | ({"NUM_STREAMS": streams} if streams else {})
        compiled = core.compile_model(shaped, "CPU", config)
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            if streams:
                queue = ov.AsyncInferQueue(compiled, streams)
                for i in range(0, 4, batch):
                    queue.start_async({0: windows[i : i + batch]})
                queue.wait_all()
            else:
                for i in range(0, 4, batch):
                    compiled({0: windows[i : i + batch]})
            best = min(best, time.perf_counter() - started)
        print(f"batch {batch}, {hint.lower()}{f', {streams} streams' if streams else ''}: four windows {best:.2f} s", flush=True)


if __name__ == "__main__":
    main()
