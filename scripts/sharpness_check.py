"""How soft imagery is measured, and what it does to the model's widths: the calibration of
``cracks.sharpness``.

    .venv/bin/python scripts/sharpness_check.py [models/default] [../shared/data] [--images 20]

Each of ``--images`` valid photos per domain of the model card's sets (evenly spread; centre
crops of at most 1024 px) is blurred by Gaussians of growing sigma and halved in resolution
(``coarse``, as ``scripts/field_conditions.py``), the drawn mask untouched. Printed per condition
and domain: the edge rise inspection measures (median over the photos), the share of photos it
calls soft, and what the model (torch fp32, its threshold) makes of them: the predicted crack area
against the drawn, the share of drawn crack pixels found, and the median mean width of its crack
records (records of at least 20 px, as ``scripts/width_floor.py``). Then the sharp photos' rise
percentiles, which set ``SHARP_RISE_PX`` and ``SOFT_RISE_PX``. About 5 minutes.

With ``--site ORTHOPHOTO`` (e.g. ``sample/road_section.tif``), the orthophoto is also inspected
as it is and blurred (copies in a temporary folder; the shipped inference path, ``--standard
astm-d6433``): cracks per severity, the widest, and what the run says about its sharpness.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import rasterio
import torch
from card_sets import domains
from field_conditions import _coarse

from cracks.config import InspectConfig
from cracks.data.masks import read_image
from cracks.inspect.pipeline import inspect_all
from cracks.models import artifact
from cracks.sharpness import SOFT_RISE_PX, image_sharpness, raster_sharpness
from cracks.training.evaluate import probability_of
from cracks.training.width_floor import record_widths
from tiling.raster import open_raster

CROP_PX = 1024
CONDITIONS = {
    "sharp": lambda image: image,
    "blur 0.7": lambda image: cv2.GaussianBlur(image, (0, 0), 0.7),
    "blur 1.0": lambda image: cv2.GaussianBlur(image, (0, 0), 1.0),
    "blur 1.5": lambda image: cv2.GaussianBlur(image, (0, 0), 1.5),
    "blur 2.0": lambda image: cv2.GaussianBlur(image, (0, 0), 2.0),
    "coarse": _coarse,
}
SITE_BLURS = (0.0, 1.0, 1.5)


def centre(array: np.ndarray) -> np.ndarray:
    h, w = array.shape[:2]
    top, left = max(0, (h - CROP_PX) // 2), max(0, (w - CROP_PX) // 2)
    return array[top : top + CROP_PX, left : left + CROP_PX]


def inspect_blurred(site: Path, model: Path) -> None:
    """Inspect ``site`` as it is and blurred by each of :data:`SITE_BLURS`; print what changes."""
    print(f"\n{site}, inspected as it is and blurred (--standard astm-d6433)\n")
    print("| blur sigma px | edge rise px (measured in) | soft | cracks per severity | total length m | widest mm |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder, rasterio.open(site) as src:
        profile, bands = {**src.profile, "compress": "deflate", "photometric": "rgb"}, src.read()  # lossless copies
        for sigma in SITE_BLURS:
            copy = Path(folder) / f"{site.stem}_blur{sigma:g}.tif"
            with rasterio.open(copy, "w", **profile) as dst:
                dst.write(np.stack([cv2.GaussianBlur(b, (0, 0), sigma) if sigma else b for b in bands]))
            started = time.perf_counter()
            raster_sharpness(open_raster(copy))  # as inspection measures it, timed alone
            seconds = time.perf_counter() - started
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result, = inspect_all(InspectConfig(inputs=[copy], out=Path(folder) / "out", model=model,
                                                    standard="astm-d6433"), progress=False)
            summary = result.summary
            rise = summary.imagery["sharpness"]
            counts = ", ".join(f"{c['count']} {name}" for name, c in summary.by_severity.items())
            print(f"| {sigma:g} | {rise['edge_rise_px']} ({seconds:.2f} s) | {'yes' if rise['soft'] else 'no'} | {counts} | "
                  f"{summary.total_length_m:.2f} | {summary.max_width_mm:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, default=Path("models/default"))
    parser.add_argument("data", nargs="?", type=Path, default=Path("../shared/data"))
    parser.add_argument("--images", type=int, default=20, help="photos per domain, evenly spread")
    parser.add_argument("--site", type=Path, help="also inspect this orthophoto as it is and blurred")
    parser.add_argument("--site-only", action="store_true", help="only the --site part")
    args = parser.parse_args()
    if args.site_only and not args.site:
        parser.error("--site-only needs --site ORTHOPHOTO")
    if args.site:
        inspect_blurred(args.site, args.model)
    if not args.site_only:
        calibrate(args.model, args.data, images=args.images)


def calibrate(model: Path, data: Path, *, images: int) -> None:
    """The calibration tables: edge rises, predicted areas and record widths per condition and domain."""
    torch.set_grad_enabled(False)
    loaded = artifact.load(model)
    threshold = loaded.meta.threshold
    rows: dict[str, dict[str, dict[str, float]]] = {name: {} for name in CONDITIONS}
    sharp_rises: list[float] = []
    for domain, pairs in domains(data).items():
        chosen = pairs[:: max(1, len(pairs) // images)][:images]
        stats = {name: {"rise": [], "soft": [], "predicted": 0, "found": 0, "drawn": 0, "widths": []} for name in CONDITIONS}
        for pair in chosen:
            image, truth = centre(read_image(pair.image)), centre(pair.read_mask())
            for name, degrade in CONDITIONS.items():
                photo = degrade(image)
                sharpness = image_sharpness(photo)
                if sharpness.edge_rise_px is not None:
                    stats[name]["rise"].append(sharpness.edge_rise_px)
                    stats[name]["soft"].append(sharpness.soft)
                probability = probability_of(loaded.model, photo, loaded.meta.normalization)
                predicted = probability >= threshold
                stats[name]["predicted"] += int(predicted.sum())
                stats[name]["found"] += int((predicted & truth).sum())
                stats[name]["drawn"] += int(truth.sum())
                stats[name]["widths"] += record_widths(probability, threshold)
        sharp_rises += stats["sharp"]["rise"]
        for name, s in stats.items():
            rows[name][domain] = {
                "rise": float(np.median(s["rise"])) if s["rise"] else float("nan"),
                "soft": float(np.mean(s["soft"])) if s["soft"] else float("nan"),
                "area": s["predicted"] / max(s["drawn"], 1),
                "recall": s["found"] / max(s["drawn"], 1),
                "width": float(np.median(s["widths"])) if s["widths"] else float("nan"),
            }
        print(f"{domain}: " + ", ".join(f"{name} {rows[name][domain]['rise']:.2f} px" for name in CONDITIONS), flush=True)
    names = list(rows["sharp"])
    print(f"\nmodel {model} (threshold {threshold:.2f}, torch fp32), {images} photos per domain; "
          f"soft: edge rise over {SOFT_RISE_PX} px\n")
    header = "| condition | " + " | ".join(names) + " |\n" + "|---" * (len(names) + 1) + "|"
    for title, cell in (
        ("edge rise, median px (share called soft)", lambda r: f"{r['rise']:.2f} ({r['soft']:.0%})"),
        ("predicted crack area / drawn (recall)", lambda r: f"{r['area']:.2f} ({r['recall']:.2f})"),
        ("median mean width of the crack records, px", lambda r: f"{r['width']:.1f}"),
    ):
        print(f"{title}\n\n{header}")
        for name, by_domain in rows.items():
            print(f"| {name} | " + " | ".join(cell(by_domain[d]) for d in names) + " |")
        print()
    p50, p90, p95, p100 = np.percentile(sharp_rises, [50, 90, 95, 100])
    print(f"sharp photos' edge rise ({len(sharp_rises)}): median {p50:.2f}, 90th percentile {p90:.2f}, "
          f"95th {p95:.2f}, largest {p100:.2f} px")


if __name__ == "__main__":
    main()
