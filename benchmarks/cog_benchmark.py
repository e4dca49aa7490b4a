"""What writing the probability COG costs, by compression and overview resampling.

    .venv/bin/python benchmarks/cog_benchmark.py MASK.tif

``MASK.tif`` is an inspection's ``mask.tif``. It is first assembled into a plain tiled GeoTIFF
with an internal mask (what ``cracks.inspect.segment`` hands to GDAL), then copied to a COG with
each set of options inspection could use; prints seconds and size. Inspection uses the first.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import rasterio
import rasterio.shutil
from rasterio.windows import Window

OPTIONS = [
    {"compress": "DEFLATE", "overview_resampling": "average"},  # what inspection writes
    {"compress": "DEFLATE", "overview_resampling": "average", "num_threads": "ALL_CPUS"},
    {"compress": "DEFLATE", "level": 1, "overview_resampling": "average"},
    {"compress": "ZSTD", "level": 1, "overview_resampling": "average"},
    {"compress": "DEFLATE", "overview_resampling": "nearest"},
    {"compress": "DEFLATE", "overviews": "NONE"},
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mask", type=Path)
    args = parser.parse_args()
    from cracks.models.hardware import cpu_model

    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; GDAL {rasterio.__gdal_version__}; {args.mask}")
    with tempfile.TemporaryDirectory() as scratch, \
            rasterio.Env(GDAL_CACHEMAX=128 * 1024 * 1024, GDAL_TIFF_INTERNAL_MASK=True):
        assembled, target = Path(scratch) / "assembled.tif", Path(scratch) / "cog.tif"
        with rasterio.open(args.mask) as src:
            profile = {"driver": "GTiff", "width": src.width, "height": src.height, "count": 1, "dtype": "uint8",
                       "tiled": True, "blockxsize": 256, "blockysize": 256, "crs": src.crs, "transform": src.transform}
            with rasterio.open(assembled, "w", **profile) as dst:
                for y in range(0, src.height, 1024):
                    window = Window(0, y, src.width, min(1024, src.height - y))
                    dst.write(src.read(1, window=window), 1, window=window)
                    dst.write_mask(src.dataset_mask(window=window), window=window)
        for options in OPTIONS:
            started = time.perf_counter()
            rasterio.shutil.copy(assembled, target, driver="COG", blocksize=512, **options)
            print(f"{options}: {time.perf_counter() - started:.1f} s, {target.stat().st_size / 1e6:.1f} MB", flush=True)


if __name__ == "__main__":
    main()
