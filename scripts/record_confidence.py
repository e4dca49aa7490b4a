"""How well a crack record's ``confidence`` tells true records from false ones.

    .venv/bin/python scripts/record_confidence.py [MODEL] [--data ../shared/data] [--tta]

Every record carries the model's mean probability over its pixels (``confidence`` in the GIS
layers). This scores that number as an analyst would use it, to sort or filter records: the
records of valid photos of every trained domain (a record is true when at least half of its
centerline lies within 3 px of a drawn crack) and of the card's held-back hard negatives painted
on the crack-free walls and the drone tiles (false wherever they lie off the drawn cracks).
Prints the CPU, the AUROC of true against false records, the median confidence of each per set,
and for a few cut-offs the share of false records below it against the share of true ones.
About six minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from card_sets import hard_negative_images, load_scored_model
from scipy import ndimage, stats

from cracks.data.layouts import gather_pairs
from cracks.data.masks import read_image
from cracks.measure.region import measure_cracks
from cracks.models.hardware import cpu_model
from cracks.models.passes import Passes
from cracks.training.evaluate import hard_negative_paintings, probability_of

NEAR_PX = 3
SETS = {"deepcrack": 4, "crack500": 15, "uav-crackx": 2, "concrete-walls": 1}  # every n-th valid photo
PAINTED = {"crack-free walls": ("lane_marking", "kerb_edge", "hard_shadow", "stain", "tining", "tined_joint"),
           "drone road tiles": ("lane_marking", "hard_shadow", "tining")}


def scored_records(probability: np.ndarray, truth: np.ndarray, threshold: float) -> list[tuple[float, bool]]:
    """(confidence, true?) of each record the mask at ``threshold`` gives."""
    near = ndimage.binary_dilation(truth > 0, iterations=NEAR_PX) if truth.any() else np.zeros(truth.shape, bool)
    out = []
    for record in measure_cracks(probability >= threshold, probability=probability, min_length_px=0):
        centerline = np.vstack(record.paths).round().astype(int)
        out.append((record.confidence, bool(near[centerline[:, 0], centerline[:, 1]].mean() >= 0.5)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, default=Path("models/default"))
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--tta", action="store_true")
    args = parser.parse_args()
    model, normalization, threshold = load_scored_model(args.model, None)
    print(f"cpu {cpu_model()}; {args.model} at {threshold}{' with --tta' if args.tta else ''}")
    records: dict[str, list[tuple[float, bool]]] = {}
    for folder, step in SETS.items():
        for pair in gather_pairs([args.data / folder], "auto", "valid")[::step]:
            image = read_image(pair.image)
            probability = probability_of(model, image, normalization, passes=Passes(tta=args.tta))
            records.setdefault(folder, []).extend(scored_records(probability, pair.read_mask(), threshold))
    images = hard_negative_images(args.data)
    for row, kinds in PAINTED.items():
        for painting in hard_negative_paintings(images[row], kinds=kinds, paintings=1):
            if painting.kind != "none":
                probability = probability_of(model, painting.image, normalization, passes=Passes(tta=args.tta))
                records.setdefault(f"painted {row}", []).extend(
                    scored_records(probability, painting.pair.read_mask(), threshold))
    everything = np.array([r for rows in records.values() for r in rows])
    confidence, true = everything[:, 0], everything[:, 1].astype(bool)
    auroc = stats.mannwhitneyu(confidence[true], confidence[~true]).statistic / (true.sum() * (~true).sum())
    print(f"{len(everything)} records, {true.sum()} true, {(~true).sum()} false: AUROC {auroc:.3f}")
    for name, rows in records.items():
        c, t = np.array([r[0] for r in rows]), np.array([r[1] for r in rows], bool)
        print(f"  {name}: {t.sum()} true (median {np.median(c[t]) if t.any() else float('nan'):.3f}), "
              f"{(~t).sum()} false (median {np.median(c[~t]) if (~t).any() else float('nan'):.3f})")
    for cut in (0.80, 0.85, 0.90):
        print(f"  confidence < {cut:.2f}: {np.mean(confidence[~true] < cut):.0%} of false records, "
              f"{np.mean(confidence[true] < cut):.0%} of true ones")


if __name__ == "__main__":
    main()
