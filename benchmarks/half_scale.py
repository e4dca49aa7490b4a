"""What the half-scale check costs and changes in a real inspection, against the network alone and ``--tta``.

    .venv/bin/python benchmarks/half_scale.py [RASTER ...] [--data ../shared/data]

Each raster is inspected as ``cracks inspect`` runs it with the shipped model: with the network
alone (``--no-half-scale``), with the half-scale check (the default), with ``--tta`` alone, and
with both. Prints the CPU, then per raster and way: the tiles the check looked at, the network's
seconds (every pass), the records, their length, the crack pixels of the mask and, where the
raster has a truth mask, inspection's own scores against it (Dice, 2 px Dice, and crack by
crack: records on a true crack, true cracks found). Without RASTER: the bundled sample site (a
cracked road, with its truth) and mosaics of the valid photos in ``--data``, side by side as one
orthophoto with their masks as its truth: the concrete-walls' 34 crack-free walls alone (every
record a false crack), all 49 walls, and all 86 UAV-CrackX drone photos (both zooms).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample" / "road_section.tif"
WAYS = {"--no-half-scale": {"half_scale": False}, "--half-scale (the default)": {"half_scale": True},
        "--tta --no-half-scale": {"tta": True, "half_scale": False}, "--tta --half-scale": {"tta": True, "half_scale": True}}


def photo_mosaic(folder: Path, out: Path, *, crack_free_only: bool = False, pixel_m: float = 0.001,
                 seed: int = 7) -> tuple[Path, Path]:
    """A GeoTIFF of a dataset's valid photos in a seeded order on a near-square grid of equal cells
    (UTM 33N, ``pixel_m`` pixels), and beside it their masks as one truth raster (0/255)."""
    import rasterio
    from rasterio.transform import from_origin

    from cracks.data.layouts import gather_pairs
    from cracks.data.masks import read_image

    pairs = [p for p in gather_pairs([folder], "auto", "valid") if p.image.name.startswith("noncrack") or not crack_free_only]
    pairs = [pairs[i] for i in np.random.default_rng(seed).permutation(len(pairs))]
    images = [read_image(p.image) for p in pairs]
    cell_h, cell_w = max(i.shape[0] for i in images), max(i.shape[1] for i in images)
    columns = int(np.ceil(np.sqrt(len(pairs) * cell_h / cell_w)))
    rows = int(np.ceil(len(pairs) / columns))
    mosaic = np.zeros((rows * cell_h, columns * cell_w, 3), np.uint8)
    truth = np.zeros(mosaic.shape[:2], np.uint8)
    for k, (pair, image) in enumerate(zip(pairs, images)):
        r, c = divmod(k, columns)
        window = (slice(r * cell_h, r * cell_h + image.shape[0]), slice(c * cell_w, c * cell_w + image.shape[1]))
        mosaic[window] = image
        truth[window] = np.where(pair.read_mask() > 0, 255, 0)
    profile = {"driver": "GTiff", "width": mosaic.shape[1], "height": mosaic.shape[0], "dtype": "uint8",
               "crs": "EPSG:32633", "transform": from_origin(500_000, 5_000_000, pixel_m, pixel_m), "tiled": True}
    truth_path = out.with_name(out.stem + "_truth.tif")
    with rasterio.open(out, "w", count=3, **profile) as dst:
        dst.write(np.moveaxis(mosaic, -1, 0))
    with rasterio.open(truth_path, "w", count=1, **profile) as dst:
        dst.write(truth, 1)
    return out, truth_path


def inspect_once(raster: Path, out: Path, settings: dict, truth: Path | None = None):
    """One inspection with the network timed under every wrapper; the wrappers' tile counts read
    before the pipeline releases them."""
    import rasterio
    from tta_skip import TimedNetwork

    from cracks.config import InspectConfig
    from cracks.inspect.pipeline import config_predictor, inspect_site, load_model

    config = InspectConfig(inputs=[raster], out=out, truth=truth, **settings)
    model = load_model(config)
    predictor = config_predictor(model, config)
    holder, attribute = predictor, "run"
    while hasattr(getattr(holder, attribute), "backend"):  # down to the network, under the mirror and the check
        holder, attribute = getattr(holder, attribute), "backend"
    network = TimedNetwork(getattr(holder, attribute))
    setattr(holder, attribute, network)
    counts = {"tiles": 0, "checked": 0}
    outer = predictor.run
    release = getattr(outer, "release", None)

    def counted_release() -> None:
        counts.update(tiles=getattr(outer, "tiles", 0), checked=getattr(outer, "checked", 0))
        if release:
            release()

    outer.release = counted_release
    result = inspect_site(raster, config, model, predictor, progress=False)
    with rasterio.open(result.outputs["mask"]) as src:
        crack_px = int((src.read(1) >= round(result.summary.model["threshold"] * 255)).sum())
    return result.summary, counts, network.seconds, crack_px


def main() -> None:
    from tta_skip import raster_arguments

    args = raster_arguments(__doc__)
    with tempfile.TemporaryDirectory() as scratch:
        rasters: list[tuple[Path, Path | None]] = [(raster, None) for raster in args.rasters]
        if not rasters:
            rasters = [(SAMPLE, SAMPLE.with_name(SAMPLE.stem + "_truth.tif"))]
            walls, drone = args.data / "concrete-walls", args.data / "uav-crackx"
            if walls.is_dir():
                rasters += [photo_mosaic(walls, Path(scratch) / "crack_free_walls.tif", crack_free_only=True, pixel_m=0.0005),
                            photo_mosaic(walls, Path(scratch) / "walls.tif", pixel_m=0.0005)]
            if drone.is_dir():
                rasters.append(photo_mosaic(drone, Path(scratch) / "drone_photos.tif"))
        for raster, truth in rasters:
            with tempfile.TemporaryDirectory() as out:  # compile the network for this raster's window shapes
                inspect_once(raster, Path(out), {"half_scale": True})
            for way, settings in WAYS.items():
                with tempfile.TemporaryDirectory() as out:
                    summary, counts, seconds, crack_px = inspect_once(raster, Path(out), settings, truth)
                length = f"{summary.total_length_m:.2f} m" if summary.total_length_m is not None else \
                    f"{summary.total_length_px:.0f} px"
                checked = f"checked {counts['checked']} of {counts['tiles']} tiles, " if settings.get("half_scale") else ""
                scores = ""
                if summary.truth:
                    t, c = summary.truth, summary.truth["cracks"]
                    scores = (f"; Dice {t['dice']:.3f}, 2 px {t['dice_tolerance_2px']:.3f} (precision {t['precision']:.3f}, "
                              f"recall {t['recall']:.3f}); records on a true crack {c['matched_records']} of "
                              f"{c['records']}, true cracks found {c['found_true_cracks']} of {c['true_cracks']}")
                print(f"{raster.name} ({summary.width_px}x{summary.height_px}), {way}: {checked}network {seconds:.1f} s; "
                      f"{summary.n_cracks} cracks, {length}, {crack_px} crack px{scores}", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "benchmarks"))
    main()
