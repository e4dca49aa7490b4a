"""How should a thin raster's context be made up? Ghost cracks and Dice per padding rule.

    .venv/bin/python scripts/thin_context.py [sample/road_section.tif] [--model models/default]
    .venv/bin/python scripts/thin_context.py --crops [--data ../shared/data]

Cuts 200 px strips (every 95 rows) and one 64 px strip (rows 160-224, 1440 px) out of the
orthophoto, inspects them and the whole orthophoto with each rule for the context of rasters
thinner than ``MIN_CONTEXT_PX`` (``cracks.inspect.rows.with_context``), and prints against the
whole site's mask: crack pixels in the strips' 6 outer rows that the whole site has nowhere near
(3 px; ghosts), the same inside, and the Dice of the 200 px strips and of the 64 px strip.
Rules: ``wrap`` (copies side by side), ``mirror``, the shipped one (wrapped, with the
``CONTEXT_SEAM_PX`` rows next to each side the tile's own edge mirrored) and its seam at 8 and
24 px, and ``min of two`` (the smaller of a wrapped and a mirrored pass in the outer 6 px).

``--crops``: the datasets' small crops (DeepCrack valid, every third CRACK500 valid image, all
under 256 px high) scored as ``cracks evaluate`` scores them (as they are) and as ``cracks
inspect`` sees them (with the shipped context rule); torch fp32.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window
from scipy import ndimage

import cracks.inspect.rows as rows
from cracks.config import InspectConfig
from cracks.inspect.pipeline import inspect_all

SHIPPED = rows.with_context


def padded_only(mode: str):
    """A context rule that pads with one numpy mode alone."""
    def rule(predictor, tiles: list[np.ndarray]) -> list[np.ndarray]:
        h, w = tiles[0].shape[:2]
        pad_y, pad_x = max(0, rows.MIN_CONTEXT_PX - h), max(0, rows.MIN_CONTEXT_PX - w)
        if not (pad_y or pad_x):
            return predictor(tiles)
        top, left = pad_y // 2, pad_x // 2
        grown = [np.pad(t, ((top, pad_y - top), (left, pad_x - left), (0, 0)), mode=mode) for t in tiles]
        return [p[top : top + h, left : left + w] for p in predictor(grown)]
    return rule


def seam(px: int):
    """The shipped rule with a seam of ``px`` instead of ``CONTEXT_SEAM_PX``."""
    def rule(predictor, tiles: list[np.ndarray]) -> list[np.ndarray]:
        shipped, rows.CONTEXT_SEAM_PX = rows.CONTEXT_SEAM_PX, px
        try:
            return SHIPPED(predictor, tiles)
        finally:
            rows.CONTEXT_SEAM_PX = shipped
    return rule


def min_of_two(predictor, tiles: list[np.ndarray], band: int = 6) -> list[np.ndarray]:
    """Wrapped, but within ``band`` px of a padded side the smaller of the wrapped and the mirrored
    prediction (two passes of the model)."""
    h, w = tiles[0].shape[:2]
    edge = np.zeros((h, w), bool)
    if h < rows.MIN_CONTEXT_PX:
        edge[:band] = edge[-band:] = True
    if w < rows.MIN_CONTEXT_PX:
        edge[:, :band] = edge[:, -band:] = True
    wrapped, mirrored = padded_only("wrap")(predictor, tiles), padded_only("symmetric")(predictor, tiles)
    return [np.where(edge, np.minimum(a, b), a) for a, b in zip(wrapped, mirrored)]


RULES = {"wrap": padded_only("wrap"), "mirror": padded_only("symmetric"),
         f"shipped ({rows.CONTEXT_SEAM_PX} px seam)": SHIPPED, "8 px seam": seam(8), "24 px seam": seam(24),
         "min of two": min_of_two}


def cut(raster: Path, window: Window, out: Path) -> Path:
    with rasterio.open(raster) as src:
        profile = {**src.profile, "width": window.width, "height": window.height, "transform": src.window_transform(window)}
        with rasterio.open(out, "w", **profile) as dst:
            dst.write(src.read(window=window))
    return out


def masks(config: InspectConfig) -> dict[str, np.ndarray]:
    found = {}
    for result in inspect_all(config, progress=False):
        threshold = round(result.summary.model["threshold"] * 255)
        with rasterio.open(result.outputs["mask"]) as src:
            found[result.input.stem] = src.read(1) >= threshold
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raster", nargs="?", type=Path, default=Path("sample/road_section.tif"))
    parser.add_argument("--model", type=Path, default=Path("models/default"))
    parser.add_argument("--crops", action="store_true", help="score the datasets' small crops with and without context")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)
    if args.crops:
        score_crops(args.model, args.data)
        return
    with tempfile.TemporaryDirectory() as tmp, rasterio.open(args.raster) as src:
        tmp = Path(tmp)
        width, height = src.width, src.height
        whole = masks(InspectConfig(inputs=[args.raster], out=tmp / "whole", model=args.model))[args.raster.stem]
        offsets = list(range(0, height - 199, 95))
        strips = [cut(args.raster, Window(0, off, width, 200), tmp / f"strip_{off}.tif") for off in offsets]
        thin = cut(args.raster, Window(0, 160, 1440, 64), tmp / "thin.tif")
        for name, rule in RULES.items():
            rows.with_context = rule
            found = masks(InspectConfig(inputs=[*strips, thin], out=tmp / name, model=args.model))
            edge = inner = shared = total = 0
            for off in offsets:
                strip, reference = found[f"strip_{off}"], whole[off : off + 200]
                extra = strip & ~ndimage.binary_dilation(reference, iterations=3)
                edge += int(extra[:6].sum() + extra[-6:].sum())
                inner += int(extra[6:-6].sum())
                shared += int((strip & reference).sum())
                total += int(strip.sum() + reference.sum())
            reference = whole[160:224, :1440]
            dice_thin = 2 * (found["thin"] & reference).sum() / (found["thin"].sum() + reference.sum())
            print(f"{name}: {len(offsets)} strips of 200 px: pixels nowhere near the whole site's cracks {edge} in the "
                  f"12 outer rows, {inner} inside; Dice {2 * shared / total:.3f}; 64 px strip Dice {dice_thin:.3f}",
                  flush=True)
        rows.with_context = SHIPPED


def score_crops(model: Path, data: Path) -> None:
    from card_sets import domains

    from cracks.metrics import Scores, counts
    from cracks.models import artifact
    from cracks.models.predict import predict_probabilities
    from cracks.training.evaluate import read_image

    loaded = artifact.load(model)
    threshold = loaded.meta.threshold

    def plain(batch: list[np.ndarray]) -> list[np.ndarray]:
        return list(predict_probabilities(loaded.model, np.stack(batch), loaded.meta.normalization))

    for domain, pairs in domains(data, crack500_step=3).items():
        if domain not in ("deepcrack", "crack500"):
            continue
        totals = {way: [np.zeros(3, np.int64), np.zeros(3, np.int64)] for way in ("as they are", "with context")}
        for pair in pairs:
            image, truth = read_image(pair.image), pair.read_mask()
            for way, probability in (("as they are", plain([image])[0]), ("with context", SHIPPED(plain, [image])[0])):
                totals[way][0] += counts(probability >= threshold, truth)
                totals[way][1] += counts(probability >= threshold, truth, 2)
        for way, (strict, tolerant) in totals.items():
            print(f"{domain} ({len(pairs)} crops) {way}: Dice {Scores.from_counts(*strict).dice:.3f}, "
                  f"2 px {Scores.from_counts(*tolerant).dice:.3f}", flush=True)


if __name__ == "__main__":
    main()
