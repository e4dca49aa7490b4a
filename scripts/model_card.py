"""Reproduce the model card figures (the numbers `cracks evaluate` gives) on three datasets, as markdown.

    .venv/bin/python scripts/model_card.py [models/default] [../shared/data]
"""

from __future__ import annotations

import sys
from pathlib import Path

from cracks.models import artifact
from cracks.training.evaluate import gather_pairs, iter_predictions
from cracks.training.metrics import ThresholdSweep

SETS = [("deepcrack", "valid", "DeepCrack valid (253)"), ("crack500", "valid", "CRACK500 valid (899)"),
        ("crackforest", "all", "CrackForest, all 118 annotated (never trained on)")]


def main(model: Path, data: Path) -> None:
    print("| data | Dice | IoU | precision | recall | ODS F1 | OIS F1 | Dice, 2 px tolerance |")
    print("|---|---|---|---|---|---|---|---|")
    loaded = artifact.load(model)
    for folder, split, label in SETS:
        sweeps = ThresholdSweep(), ThresholdSweep(tolerance=2)  # one model pass feeds both
        for _, truth, probability in iter_predictions(loaded.model, gather_pairs([data / folder], "auto", split),
                                                      loaded.meta.normalization):
            for sweep in sweeps:
                sweep.add(probability, truth)
        strict, tolerant = (sweep.result(loaded.meta.threshold) for sweep in sweeps)
        print(f"| {label} | {strict.dice:.3f} | {strict.iou:.3f} | {strict.precision:.3f} | {strict.recall:.3f} | "
              f"{strict.ods_f1:.3f} | {strict.ois_f1:.3f} | {tolerant.dice:.3f} |", flush=True)
    print(f"\nthreshold {strict.threshold:.2f} (tuned on the validation splits during training)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("models/default"),
         Path(sys.argv[2]) if len(sys.argv) > 2 else Path("../shared/data"))
