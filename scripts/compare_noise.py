"""Measure the noise of crack matching: one site inspected twice (other tiles, or other models),
compared with the noise limits switched off. Prints the spread of length growth and width change
between the matched cracks, the figures `cracks compare`'s noise limits must sit above.

    .venv/bin/python scripts/compare_noise.py [sample/road_section.tif] [--model models/default] [--other-model DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from cracks.compare import CompareSettings, compare
from cracks.config import InspectConfig
from cracks.inspect.pipeline import inspect_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raster", nargs="?", type=Path, default=Path("sample/road_section.tif"))
    parser.add_argument("--model", type=Path, default=Path("models/default"))
    parser.add_argument("--other-model", type=Path, default=None, help="second run with this model instead of 512 px tiles")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        first = inspect_all(InspectConfig(inputs=[args.raster], out=Path(tmp) / "a", model=args.model), progress=False)[0]
        second_config = (InspectConfig(inputs=[args.raster], out=Path(tmp) / "b", model=args.other_model)
                         if args.other_model else
                         InspectConfig(inputs=[args.raster], out=Path(tmp) / "b", model=args.model, tile=512, overlap=64))
        second = inspect_all(second_config, progress=False)[0]
        result = compare(first.out_dir, second.out_dir, CompareSettings(length_noise_px=np.inf, width_noise_px=np.inf))
    gsd = first.summary.gsd_m
    matched = result.changes[(result.changes["change"] == "unchanged")]
    growth_px = np.abs(matched["growth_m"].to_numpy()) / gsd
    width_px = np.abs(matched["width_growth_mm"].to_numpy()) / (gsd * 1000)
    counts = result.to_dict()["counts"]
    print(f"{args.raster} twice ({'other model' if args.other_model else '1024 vs 512 px tiles'}): "
          f"{len(matched)} matched cracks, {counts['new']} only in the second, {counts['gone']} only in the first; "
          f"registration {result.registration.shift_px}")
    for name, values in (("length growth (px)", growth_px), ("width change (px)", width_px)):
        print(f"{name}: median {np.median(values):.2f}, p95 {np.percentile(values, 95):.2f}, max {values.max():.2f}")


if __name__ == "__main__":
    main()
