"""Measure the noise of crack matching: one site inspected twice (other tiles, other models, or
coarser pixels), compared with the noise limits switched off. Prints the spread of length growth
and width change between the matched cracks, the figures `cracks compare`'s noise limits must
sit above.

    .venv/bin/python scripts/compare_noise.py [sample/road_section.tif] [--model models/default]
        [--other-model DIR | --coarser F | --rotated]

``--coarser F``: the second epoch is the orthophoto averaged down to F times its pixel size (a
survey of the same day flown higher): width changes in mm and in each epoch's own pixels.
``--rotated``: the second epoch is the same pixels turned a quarter (the geotransform turned with
them, so every pixel keeps its place on the map): the model sees every crack anew, as in a
flight along another heading, with nothing on the ground changed.
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
    parser.add_argument("--coarser", type=float, default=None, help="second run on the raster averaged to F times its pixel size")
    parser.add_argument("--rotated", action="store_true", help="second run on the raster turned a quarter, same map positions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        first = inspect_all(InspectConfig(inputs=[args.raster], out=Path(tmp) / "a", model=args.model), progress=False)[0]
        if args.other_model:
            second_config = InspectConfig(inputs=[args.raster], out=Path(tmp) / "b", model=args.other_model)
        elif args.coarser:
            coarse = averaged(args.raster, args.coarser, Path(tmp) / args.raster.name)
            second_config = InspectConfig(inputs=[coarse], out=Path(tmp) / "b", model=args.model)
        elif args.rotated:
            turned = quarter_turned(args.raster, Path(tmp) / args.raster.name)
            second_config = InspectConfig(inputs=[turned], out=Path(tmp) / "b", model=args.model)
        else:
            second_config = InspectConfig(inputs=[args.raster], out=Path(tmp) / "b", model=args.model, tile=512, overlap=64)
        second = inspect_all(second_config, progress=False)[0]
        how = ("other model" if args.other_model else f"{args.coarser:g}x coarser pixels" if args.coarser
               else "a quarter turned" if args.rotated else "1024 vs 512 px tiles")
        pairs = [(first, second, "first -> second")] + ([(second, first, "second -> first")] if args.coarser else [])
        for old, new, direction in pairs:
            report(old, new, f"{args.raster} twice ({how}), {direction}")


def report(old, new, title: str) -> None:
    """Noise of the matched cracks with the limits off, and the changes the default limits report."""
    result = compare(old.out_dir, new.out_dir, CompareSettings(length_noise_px=np.inf, width_noise_px=np.inf))
    gsd = max(old.summary.gsd_m, new.summary.gsd_m)
    matched = result.changes[(result.changes["change"] == "unchanged")]
    counts = result.to_dict()["counts"]
    print(f"{title}: {len(matched)} matched cracks, {counts['new']} only in the second, {counts['gone']} only in "
          f"the first; registration {result.registration.shift_px} px")
    growth = np.abs(matched["growth_m"].to_numpy()) / gsd
    print(f"  length growth (px): median {np.median(growth):.2f}, p95 {np.percentile(growth, 95):.2f}, max {growth.max():.2f}")
    for name, values in (("width change, |coarser px|", np.abs(matched["width_growth_mm"].to_numpy()) / (gsd * 1000)),
                         ("width change, coarser px", matched["width_growth_mm"].to_numpy() / (gsd * 1000)),
                         ("width change, each epoch's own px", matched["width_growth_px"].to_numpy())):
        print(f"  {name}: min {values.min():+.2f}, median {np.median(values):+.2f}, p95 {np.percentile(values, 95):+.2f}, "
              f"max {values.max():+.2f}")
    print(f"  with the default limits: {compare(old.out_dir, new.out_dir).to_dict()['counts']}")


def averaged(raster: Path, factor: float, out: Path) -> Path:
    """``raster`` averaged down to ``factor`` times its pixel size, same footprint, as a GeoTIFF."""
    import rasterio
    from rasterio.enums import Resampling

    with rasterio.open(raster) as src:
        height, width = round(src.height / factor), round(src.width / factor)
        data = src.read(out_shape=(src.count, height, width), resampling=Resampling.average)
        profile = {**src.profile, "height": height, "width": width,
                   "transform": src.transform * src.transform.scale(src.width / width, src.height / height)}
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(data)
    return out



def quarter_turned(raster: Path, out: Path) -> Path:
    """``raster``'s pixels turned a quarter clockwise, georeferenced so each keeps its map position."""
    import numpy as np
    import rasterio
    from affine import Affine

    with rasterio.open(raster) as src:
        data, t, height = src.read(), src.transform, src.height
        profile = {**src.profile, "height": src.width, "width": src.height,
                   # new pixel (row r, col c) is old (row height - 1 - c, col r)
                   "transform": t * Affine(0, 1, 0, -1, 0, height)}
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(np.rot90(data, k=-1, axes=(1, 2)))
    return out


if __name__ == "__main__":
    main()
