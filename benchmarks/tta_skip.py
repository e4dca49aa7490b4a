"""What ``--tta``'s skipped mirror passes save, and that the decisions stay those of full averaging.

    .venv/bin/python benchmarks/tta_skip.py [RASTER ...] [--data ../shared/data]

Each raster is inspected three times with the shipped model, as ``cracks inspect`` runs it: plain,
with the mirror pass on every tile (``--tta`` before session 28) and with the mirror pass only on
tiles whose plain probabilities reach ``cracks.models.passes.mirror_cut`` (``--tta`` now). Prints the
CPU, then per raster and way: the tiles mirrored, the network's seconds, the records and their
length, and the mask pixels on which the two ``--tta`` ways disagree (a tile's own decisions
cannot differ; where its blend ramp meets a mirrored neighbour's, a skipped tile's plain
probabilities stand in for its averaged ones).

Without RASTER: the bundled sample site (a cracked road) and two mosaics built from the
concrete-walls valid split in ``--data`` (448 px photos side by side at 0.5 mm): its 34
crack-free walls alone, and all 49 walls (15 with cracks) in a seeded order.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample" / "road_section.tif"


def wall_mosaic(data: Path, out: Path, *, crack_free_only: bool, seed: int = 7) -> Path:
    """A GeoTIFF of the walls' valid photos in a square grid (0.5 mm pixels, UTM 33N)."""
    import rasterio
    from rasterio.transform import from_origin

    from cracks.data.layouts import gather_pairs
    from cracks.data.masks import read_image

    pairs = [p for p in gather_pairs([data / "concrete-walls"], "auto", "valid")
             if p.image.name.startswith("noncrack") or not crack_free_only]
    pairs = [pairs[i] for i in np.random.default_rng(seed).permutation(len(pairs))]
    side = 448
    columns = int(np.ceil(np.sqrt(len(pairs))))
    rows = int(np.ceil(len(pairs) / columns))
    mosaic = np.zeros((rows * side, columns * side, 3), np.uint8)
    for k, pair in enumerate(pairs):
        image = read_image(pair.image)[:side, :side]
        r, c = divmod(k, columns)
        mosaic[r * side : r * side + image.shape[0], c * side : c * side + image.shape[1]] = image
    profile = {"driver": "GTiff", "width": mosaic.shape[1], "height": mosaic.shape[0], "count": 3, "dtype": "uint8",
               "crs": "EPSG:32633", "transform": from_origin(500_000, 5_000_000, 0.0005, 0.0005), "tiled": True}
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(np.moveaxis(mosaic, -1, 0))
    return out


class TimedNetwork:
    """The backend under a predictor's mirror wrapper, with its seconds added up."""

    def __init__(self, backend):
        self.backend, self.seconds = backend, 0.0

    def __call__(self, batch):
        start = time.perf_counter()
        try:
            return self.backend(batch)
        finally:
            self.seconds += time.perf_counter() - start

    def __getattr__(self, name):  # prepare, release
        return getattr(self.backend, name)


def inspect_once(raster: Path, out: Path, *, tta: bool, mirror_everywhere: bool):
    import rasterio

    from cracks.config import InspectConfig
    from cracks.inspect.pipeline import config_predictor, inspect_site, load_model

    config = InspectConfig(inputs=[raster], out=out, tta=tta, half_scale=False)  # the mirror pass alone
    model = load_model(config)
    predictor = config_predictor(model, config)
    network = TimedNetwork(predictor.run.backend if tta else predictor.run)
    if tta:
        predictor.run.backend = network
        if mirror_everywhere:
            predictor.run.run_from = 0.0  # the mirror on every tile
        predictor.run.tiles = predictor.run.ran = 0
    else:
        predictor.run = network
    tiles = mirrored = 0
    release = getattr(predictor.run, "release", None)

    def counted_release() -> None:  # the pipeline releases the backend after segmenting: read the counts first
        nonlocal tiles, mirrored
        tiles, mirrored = getattr(predictor.run, "tiles", 0), getattr(predictor.run, "mirrored", 0)
        if release:
            release()

    predictor.run.release = counted_release
    result = inspect_site(raster, config, model, predictor, progress=False)
    with rasterio.open(result.outputs["mask"]) as src:
        crack = src.read(1) >= round(result.summary.model["threshold"] * 255)
    return result.summary, tiles, mirrored, network.seconds, crack


def raster_arguments(description: str) -> argparse.Namespace:
    """``[RASTER ...] [--data DIR]``, shared by the inspection benchmarks; prints the CPU (figures
    compare only within one run on one CPU) and silences the rasters' caveats, which are not what
    is measured."""
    from cracks.models.hardware import cpu_model

    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("rasters", nargs="*", type=Path)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores")
    return args


def main() -> None:
    args = raster_arguments(__doc__)
    with tempfile.TemporaryDirectory() as scratch:
        rasters = list(args.rasters)
        if not rasters:
            rasters = [SAMPLE]
            if (args.data / "concrete-walls").is_dir():
                rasters += [wall_mosaic(args.data, Path(scratch) / "crack_free_walls.tif", crack_free_only=True),
                            wall_mosaic(args.data, Path(scratch) / "walls.tif", crack_free_only=False)]
        for raster in rasters:
            masks = {}
            with tempfile.TemporaryDirectory() as out:  # compile the network for this raster's window shape
                inspect_once(raster, Path(out), tta=False, mirror_everywhere=False)
            for way, tta, everywhere in (("plain", False, False), ("mirror on every tile", True, True),
                                         ("mirror where it can matter", True, False)):
                with tempfile.TemporaryDirectory() as out:
                    summary, tiles, mirrored, seconds, masks[way] = inspect_once(raster, Path(out), tta=tta,
                                                                                 mirror_everywhere=everywhere)
                length = f"{summary.total_length_m:.2f} m" if summary.total_length_m is not None else \
                    f"{summary.total_length_px:.0f} px"
                mirrors = f"{mirrored} of {tiles} tiles mirrored, " if tta else ""
                print(f"{raster.name} ({summary.width_px}x{summary.height_px}), {way}: {mirrors}network "
                      f"{seconds:.1f} s; {summary.n_cracks} cracks, {length}, {int(masks[way].sum())} crack px",
                      flush=True)
            differ = int(np.count_nonzero(masks["mirror on every tile"] != masks["mirror where it can matter"]))
            print(f"{raster.name}: the two --tta masks differ on {differ} px")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
