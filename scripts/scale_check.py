"""Would the model find thin cracks better on an upsampled image? Per zoom level of UAV-CrackX valid.

    .venv/bin/python scripts/scale_check.py [--data ../shared/data/uav-crackx] [--scales 1 1.5 2]

Each image is resized by the scale (bicubic, to a multiple of 32), segmented by the model in
fp32, and its probabilities are averaged back to the image's own size before thresholding at the
model's threshold. Prints strict and 2 px Dice, precision and recall per zoom and scale.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from cracks.data.layouts import read_pairs
from cracks.data.masks import read_image
from cracks.metrics import Scores, counts
from cracks.models import artifact
from cracks.models.predict import predict_probabilities

REPO = Path(__file__).resolve().parent.parent


def probability_at_scale(model: artifact.LoadedModel, image: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return predict_probabilities(model.model, image[None], model.meta.normalization)[0]
    h, w = image.shape[:2]
    size = (max(32, round(w * scale / 32) * 32), max(32, round(h * scale / 32) * 32))
    big = predict_probabilities(model.model, cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)[None],
                                model.meta.normalization)[0]
    return cv2.resize(big.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "uav-crackx")
    parser.add_argument("--model", type=Path, default=REPO / "models" / "default")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 1.5, 2.0])
    args = parser.parse_args()
    import torch

    model = artifact.load(args.model, device=torch.device("cpu"))
    pairs = [p for p in read_pairs(args.data).pairs if p.split == "valid" and p.mask is not None]
    zooms = sorted({p.image.name.split("_")[0] for p in pairs})
    print(f"{args.data.name} valid, {len(pairs)} images, threshold {model.meta.threshold}")
    print("| zoom | scale | Dice | precision | recall | Dice 2 px | precision 2 px | recall 2 px |")
    print("|---|---|---|---|---|---|---|---|")
    for zoom in zooms:
        chosen = [p for p in pairs if p.image.name.startswith(f"{zoom}_")]
        for scale in args.scales:
            totals = {0: np.zeros(3), 2: np.zeros(3)}
            for pair in chosen:
                image, truth = read_image(pair.image), pair.read_mask()
                predicted = probability_at_scale(model, image, scale) >= model.meta.threshold
                for tolerance in totals:
                    totals[tolerance] += counts(predicted, truth, tolerance)
            strict, near = Scores.from_counts(*totals[0]), Scores.from_counts(*totals[2])
            print(f"| {zoom} ({len(chosen)}) | {scale:g}x | {strict.dice:.3f} | {strict.precision:.3f} | {strict.recall:.3f} "
                  f"| {near.dice:.3f} | {near.precision:.3f} | {near.recall:.3f} |", flush=True)


if __name__ == "__main__":
    main()
