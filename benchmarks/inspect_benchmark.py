"""End-to-end inspection throughput and peak memory, against the naive way.

    .venv/bin/python benchmarks/inspect_benchmark.py --megapixels 100 400 [--model models/default]

For each size it generates a textured orthophoto with rendered cracks (strip by strip, so the
generator itself stays small), then runs, each in a fresh process so peak RSS is its own:

* ``inspect``: ``cracks inspect`` end to end (segment, stitch, measure, export, PDF);
* ``inspect_bf16``: the same with ``--precision bf16``;
* ``naive``: what users write with smp directly: read the whole raster, loop over 512 px tiles
  with eager fp32 PyTorch (no overlap, no blending), assemble the probabilities in one numpy
  array and write it out.

It prints megapixels per second, peak RSS and the ratios, plus the model's FLOPs per pixel and
the fraction of this CPU's fp32 peak that segmentation reaches.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def generate(path: Path, megapixels: float, seed: int = 0) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    from cracks.synthetic import draw_cracks, random_walk, render, texture

    side = int(math.sqrt(megapixels * 1e6))
    rng = np.random.default_rng(seed)
    cracks = [random_walk(rng, (rng.uniform(0, side), rng.uniform(0, side)), rng.uniform(0, 2 * np.pi),
                          rng.uniform(0.05, 0.3) * side, rng.uniform(2, 8), step=12, wiggle=0.1)
              for _ in range(max(4, int(megapixels / 2)))]
    profile = dict(driver="GTiff", width=side, height=side, count=3, dtype="uint8", crs="EPSG:32633",
                   transform=from_origin(500_000, 5_000_000, 0.001, 0.001), tiled=True, blockxsize=512,
                   blockysize=512, compress="DEFLATE", BIGTIFF="IF_SAFER")
    strip = 1024
    with rasterio.open(path, "w", **profile) as dst:
        for y0 in range(0, side, strip):
            h = min(strip, side - y0)
            shifted = [type(c)(c.points - [0, y0], c.width) for c in cracks
                       if c.points[:, 1].min() - 10 < y0 + h and c.points[:, 1].max() + 10 > y0]
            mask = draw_cracks((h, side), shifted)
            image = render(texture(h, side, rng, contrast=10), mask, rng, darkness=0.6)
            dst.write(np.moveaxis(image, -1, 0), window=rasterio.windows.Window(0, y0, side, h))
    return path


def run_naive(raster: Path, model_dir: Path, tile: int = 512) -> None:
    """The baseline: whole raster in memory, eager fp32 tiles, one big output array."""
    import rasterio
    import torch

    from cracks.models import artifact

    loaded = artifact.load(model_dir)
    mean = torch.tensor(loaded.meta.normalization["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(loaded.meta.normalization["std"]).view(1, 3, 1, 1)
    with rasterio.open(raster) as src:
        image = src.read()  # 3 x H x W
        profile = src.profile
    _, height, width = image.shape
    probability = np.zeros((height, width), np.float32)
    with torch.no_grad():
        for y in range(0, height, tile):
            for x in range(0, width, tile):
                crop = image[:, y : y + tile, x : x + tile]
                h, w = crop.shape[1:]
                padded = np.zeros((3, tile, tile), np.uint8)
                padded[:, :h, :w] = crop
                t = (torch.from_numpy(padded)[None].float() / 255 - mean) / std
                probability[y : y + h, x : x + w] = torch.sigmoid(loaded.model(t))[0, 0, :h, :w].numpy()
    profile.update(count=1, dtype="uint8", compress="DEFLATE")
    with rasterio.open(raster.with_name("naive_mask.tif"), "w", **profile) as dst:
        dst.write((probability * 255).astype(np.uint8), 1)


def run_inspect(raster: Path, model_dir: Path, out: Path, precision: str = "fp32") -> None:
    import shutil

    from cracks.config import InspectConfig
    from cracks.inspection import inspect_all

    shutil.rmtree(out / raster.stem, ignore_errors=True)  # no resume: time the whole job
    results = inspect_all(InspectConfig(inputs=[raster], out=out, model=model_dir, precision=precision), progress=False)
    assert results[0].ok, results[0].error


def run_inspect_bf16(raster: Path, model_dir: Path, out: Path) -> None:
    run_inspect(raster, model_dir, out, "bf16")


def dice_check(model_dir: Path, data: Path) -> dict[str, float]:
    """Dice on DeepCrack valid at the model's threshold, for the fp32 reference and each faster path."""
    from cracks.models import artifact
    from cracks.training.evaluate import gather_pairs, iter_predictions
    from cracks.training.metrics import ThresholdSweep

    loaded = artifact.load(model_dir)
    pairs = gather_pairs([data], "auto", "valid")
    scores = {}
    for precision in ("fp32", "bf16"):
        sweep = ThresholdSweep(thresholds=[loaded.meta.threshold])
        for _, truth, probability in iter_predictions(loaded.model, pairs, loaded.meta.normalization, precision=precision):
            sweep.add(probability, truth)
        scores[precision] = sweep.result(loaded.meta.threshold).dice
    return scores


def measure(kind: str, raster: Path, model_dir: Path, out: Path) -> dict:
    """Run one way in a fresh process; return its seconds and peak RSS."""
    code = (f"import sys, time, resource; sys.path.insert(0, {str(REPO)!r}); import benchmarks.inspect_benchmark as b; "
            f"from pathlib import Path; t = time.perf_counter(); "
            f"b.run_{kind}(Path({str(raster)!r}), Path({str(model_dir)!r})" + (f", Path({str(out)!r})" if kind != "naive" else "") + "); "
            "import json; print(json.dumps({'seconds': time.perf_counter() - t, "
            "'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        return {"seconds": float("nan"), "peak_rss_mb": float("nan"), "error": proc.stderr.strip().splitlines()[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def flops_per_pixel(model_dir: Path, tile: int = 512) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from cracks.models import artifact

    model = artifact.load(model_dir).model
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, tile, tile))
    return counter.get_total_flops() / tile**2


def cpu_peak_gflops() -> float:
    """fp32 peak: cores x clock x 32 FLOP/cycle (two 256-bit FMA pipes; AVX-512 on Zen 4 is double-pumped)."""
    mhz = max(float(l.split(":")[1]) for l in open("/proc/cpuinfo") if l.startswith("cpu MHz"))
    return os.cpu_count() * mhz / 1000 * 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megapixels", type=float, nargs="+", default=[100.0, 400.0])
    parser.add_argument("--model", type=Path, default=REPO / "models" / "default")
    parser.add_argument("--work", type=Path, default=None, help="folder for the generated rasters (default: a temp folder)")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "deepcrack",
                        help="DeepCrack folder for the accuracy check of the faster paths")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="cracks-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    fpp = flops_per_pixel(args.model)
    peak = cpu_peak_gflops()
    print(f"model: {fpp / 1e3:.1f} kFLOP per pixel (one 512 px tile pass); CPU fp32 peak ~{peak:.0f} GFLOP/s ({os.cpu_count()} cores)")
    print("| raster | way | seconds | MP/s | peak RSS (MB) | GFLOP/s | % of peak |")
    print("|---|---|---|---|---|---|---|")
    for mp in args.megapixels:
        raster = work / f"ortho_{int(mp)}mp.tif"
        if not raster.exists():
            t = time.perf_counter()
            generate(raster, mp)
            print(f"<!-- generated {raster} in {time.perf_counter() - t:.0f} s -->", flush=True)
        results = {kind: measure(kind, raster, args.model, work / "out") for kind in ("naive", "inspect", "inspect_bf16")}
        for kind, r in results.items():
            mps = mp / r["seconds"]
            # inspect runs overlapping tiles: (512 / 384)^2 model pixels per raster pixel at the defaults
            model_px = mp * 1e6 * ((512 / 384) ** 2 if kind != "naive" else 1.0)
            gflops = fpp * model_px / r["seconds"] / 1e9
            print(f"| {mp:.0f} MP | {kind} | {r['seconds']:.1f} | {mps:.2f} | {r['peak_rss_mb']:.0f} | {gflops:.1f} | "
                  f"{100 * gflops / peak:.1f} % |" + (f" {r['error']}" if "error" in r else ""), flush=True)
        for kind in ("inspect", "inspect_bf16"):
            ratio = results["naive"]["seconds"] / results[kind]["seconds"]
            memory = results[kind]["peak_rss_mb"] / results["naive"]["peak_rss_mb"]
            print(f"| {mp:.0f} MP | {kind} vs naive | {ratio:.2f}x faster | | {memory:.2f}x the memory | | |", flush=True)
    if args.data.exists():
        scores = dice_check(args.model, args.data)
        for precision, value in scores.items():
            delta = value - scores["fp32"]
            verdict = "reference" if precision == "fp32" else ("OK (within 0.01)" if abs(delta) <= 0.01 else "FAILS the 0.01 budget")
            print(f"Dice on {args.data.name}/valid, {precision}: {value:.4f} ({delta:+.4f}) {verdict}")


if __name__ == "__main__":
    main()
