"""What writing the probability COG costs: its overviews made by halving (what inspection does)
against GDAL's own, and other compressions.

    .venv/bin/python benchmarks/cog_benchmark.py MASK.tif [--repeat 3]

``MASK.tif`` is an inspection's ``mask.tif``. Its pixels and mask are first written into a work
folder as segmentation leaves them (``bands.tif`` and ``probability.vrt``,
:mod:`cracks.inspect.bands`); then the COG is copied from there each way, and the CPU seconds
(best of ``--repeat``) and size are printed. The first line is what inspection does: the
overviews halved with OpenCV (:func:`cracks.inspect.bands.write_overviews`), then GDAL copying
them with the bands.
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

OPTIONS = [  # with GDAL making the overviews from the bands
    {"compress": "DEFLATE", "overview_resampling": "average"},  # what inspection wrote before it halved them itself
    {"compress": "ZSTD", "level": 1, "overview_resampling": "average"},
    {"compress": "DEFLATE", "overview_resampling": "nearest"},
    {"compress": "DEFLATE", "overviews": "NONE"},
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mask", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from cracks.inspect.bands import create_bands, probability_vrt, write_band, write_overviews
    from cracks.inspect.segment import _copy_cog
    from cracks.models.hardware import cpu_model
    from tiling.raster import open_raster

    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; GDAL {rasterio.__gdal_version__}; {args.mask}")
    with tempfile.TemporaryDirectory() as scratch:
        work, target = Path(scratch) / "work", Path(scratch) / "cog.tif"
        work.mkdir()
        info = open_raster(args.mask)
        create_bands(info, work, "benchmark")
        with rasterio.open(args.mask) as src:
            for y in range(0, src.height, 1024):
                window = Window(0, y, src.width, min(1024, src.height - y))
                write_band(work, y, src.read(1, window=window), src.dataset_mask(window=window) > 0)
        source = probability_vrt(info, work, "benchmark")

        def best(copy) -> float:
            seconds = []
            for _ in range(args.repeat):
                started = time.process_time()
                copy()
                seconds.append(time.process_time() - started)
            return min(seconds)

        halved = best(lambda: _copy_cog(probability_vrt(info, work, "benchmark", write_overviews(work)), target))
        print(f"overviews halved, then copied (inspection): {halved:.2f} CPU-s, {target.stat().st_size / 1e6:.2f} MB "
              f"(the halving alone {best(lambda: write_overviews(work)):.2f} CPU-s)", flush=True)
        for options in OPTIONS:
            def copy(options=options) -> None:
                with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
                    rasterio.shutil.copy(source, target, driver="COG", blocksize=512, **options)
            print(f"GDAL {options}: {best(copy):.2f} CPU-s, {target.stat().st_size / 1e6:.2f} MB", flush=True)


if __name__ == "__main__":
    main()
