"""What ``--half-scale`` costs and changes in a real inspection, against the plain run and ``--tta``.

    .venv/bin/python benchmarks/half_scale.py [RASTER ...] [--data ../shared/data]

Each raster is inspected as ``cracks inspect`` runs it with the shipped model: with the network
alone (``--no-half-scale``), with the half-scale check (the default), with ``--tta`` alone, and with both. Prints the CPU, then per raster and way: the
tiles the half-scale check looked at, the network's seconds (both passes), the records, their
length and the crack pixels of the mask. Without RASTER: the bundled sample site (a cracked
road) and the mosaics of ``benchmarks/tta_skip.py`` (the concrete-walls valid split: its 34
crack-free walls alone, and all 49 walls); on the crack-free mosaic every record is a false crack.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WAYS = {"--no-half-scale": {"half_scale": False}, "--half-scale (the default)": {"half_scale": True},
        "--tta --no-half-scale": {"tta": True, "half_scale": False}, "--tta --half-scale": {"tta": True, "half_scale": True}}


def innermost(run):
    """The network under a predictor's wrappers (mirror, half scale)."""
    while hasattr(run, "backend"):
        run = run.backend
    return run


def inspect_once(raster: Path, out: Path, settings: dict):
    import rasterio
    from tta_skip import TimedNetwork

    from cracks.config import InspectConfig
    from cracks.inspect.pipeline import config_predictor, inspect_site, load_model

    config = InspectConfig(inputs=[raster], out=out, **settings)
    model = load_model(config)
    predictor = config_predictor(model, config)
    network = TimedNetwork(innermost(predictor.run))
    holder = predictor
    attribute = "run"
    while hasattr(getattr(holder, attribute), "backend"):  # put the timer under every wrapper
        holder, attribute = getattr(holder, attribute), "backend"
    setattr(holder, attribute, network)
    counts = {"tiles": 0, "checked": 0}
    outer = predictor.run
    release = getattr(outer, "release", None)

    def counted_release() -> None:  # the pipeline releases the backend after segmenting: read the counts first
        counts.update(tiles=getattr(outer, "tiles", 0), checked=getattr(outer, "checked", 0))
        if release:
            release()

    outer.release = counted_release
    result = inspect_site(raster, config, model, predictor, progress=False)
    with rasterio.open(result.outputs["mask"]) as src:
        crack_px = int((src.read(1) >= round(result.summary.model["threshold"] * 255)).sum())
    return result.summary, counts, network.seconds, crack_px


def main() -> None:
    from tta_skip import SAMPLE, wall_mosaic

    from cracks.models.hardware import cpu_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rasters", nargs="*", type=Path)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the mosaics' and sample's caveats, once per run: not what is measured
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as scratch:
        rasters = list(args.rasters)
        if not rasters:
            rasters = [SAMPLE]
            if (args.data / "concrete-walls").is_dir():
                rasters += [wall_mosaic(args.data, Path(scratch) / "crack_free_walls.tif", crack_free_only=True),
                            wall_mosaic(args.data, Path(scratch) / "walls.tif", crack_free_only=False)]
        for raster in rasters:
            with tempfile.TemporaryDirectory() as out:  # compile the network for this raster's window shapes
                inspect_once(raster, Path(out), {"half_scale": True})
            for way, settings in WAYS.items():
                with tempfile.TemporaryDirectory() as out:
                    summary, counts, seconds, crack_px = inspect_once(raster, Path(out), settings)
                length = f"{summary.total_length_m:.2f} m" if summary.total_length_m is not None else \
                    f"{summary.total_length_px:.0f} px"
                checked = f"checked {counts['checked']} of {counts['tiles']} tiles, " if settings.get("half_scale") else ""
                print(f"{raster.name} ({summary.width_px}x{summary.height_px}), {way}: {checked}network {seconds:.1f} s; "
                      f"{summary.n_cracks} cracks, {length}, {crack_px} crack px", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "benchmarks"))
    main()
