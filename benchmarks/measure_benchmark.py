"""The stages after the model, on a site inspected already: mask scan, measurement, records, publishing.

    .venv/bin/python benchmarks/measure_benchmark.py INPUT.tif OUT [--repeat 3]

``OUT`` is the ``--out`` folder of a finished ``cracks inspect INPUT.tif`` (its ``mask.tif`` is
measured again; nothing there is overwritten but the outputs the stages write anyway). Prints the
seconds of the mask scan alone, of ``measure_site`` (scan, measurement, records, spacing) and of
``publish_site`` (GIS layers, summary, PDF; the report reads the orthophoto again, as a resumed
run does), the counts they found, and the skeleton graph of a generated 2000 px map-cracking
skeleton (300 random straight cracks): the numeric core that measuring calls for every crack.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def skeleton_seconds(side: int = 2000, lines: int = 300, seed: int = 1) -> tuple[float, int]:
    from skimage.draw import line
    from skimage.morphology import skeletonize

    from cracks.measure.skeleton_graph import skeleton_graph

    image = np.zeros((side, side), bool)
    rng = np.random.default_rng(seed)
    for r0, c0, r1, c1 in rng.integers(0, side, (lines, 4)):
        image[line(r0, c0, r1, c1)] = True
    skeleton = skeletonize(image)
    started = time.perf_counter()
    graph = skeleton_graph(skeleton)
    return time.perf_counter() - started, graph.n_paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)  # the site's own warnings were printed when it was inspected
    from cracks.config import InspectConfig
    from cracks.inspect import pipeline
    from cracks.measure.raster import scan_mask
    from cracks.models.hardware import cpu_model
    from cracks.timing import StageTimes

    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; {args.input} measured from {args.out}")
    config = InspectConfig(inputs=[args.input], out=args.out)
    model = pipeline.load_model(config)
    plan = pipeline.plan_site(args.input, config, model, "benchmark")
    if not plan.mask_path.is_file():
        raise SystemExit(f"{plan.mask_path}: no mask; run `cracks inspect {args.input} --out {args.out}` first")
    threshold_u8 = round(plan.threshold * 255)
    for i in range(args.repeat):
        with pipeline.raster_env(), tempfile.TemporaryDirectory() as scratch:
            started = time.perf_counter()
            scan = scan_mask(plan.mask_path, threshold_u8, labels_path=Path(scratch) / "labels.tif")
            scanned = time.perf_counter() - started
        started = time.perf_counter()
        measurement = pipeline.measure_site(plan, config)
        measured = time.perf_counter() - started
        summary = pipeline.summarize_site(plan, measurement, model, config, 0.0)
        plan.times = StageTimes()
        started = time.perf_counter()
        pipeline.publish_site(plan, measurement, summary)
        published = time.perf_counter() - started
        print(f"run {i + 1}: scan {scanned:.2f} s ({len(scan.regions)} regions); measure_site {measured:.2f} s "
              f"({len(measurement.cracks)} cracks, {sum(c.length_px for c in measurement.cracks):,.0f} px); "
              f"publish {published:.2f} s (vectors {plan.times.to_dict().get('vectors', 0):.2f}, "
              f"pdf {plan.times.to_dict().get('pdf', 0):.2f})", flush=True)
    seconds, paths = skeleton_seconds()
    print(f"skeleton graph of a generated 2000 px map-cracking skeleton: {seconds:.2f} s ({paths} paths)")


if __name__ == "__main__":
    main()
