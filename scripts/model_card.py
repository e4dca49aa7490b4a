"""Reproduce the model card figures: `cracks evaluate` on three datasets, as a markdown table.

    .venv/bin/python scripts/model_card.py [models/default] [../shared/data]
"""

from __future__ import annotations

import sys
from pathlib import Path

from cracks.config import EvaluateConfig
from cracks.training.evaluate import evaluate

SETS = [("deepcrack", "valid", "DeepCrack valid (253)"), ("crack500", "valid", "CRACK500 valid (899)"),
        ("crackforest", "all", "CrackForest, all 118 annotated (never trained on)")]


def main(model: Path, data: Path) -> None:
    print("| data | Dice | IoU | precision | recall | ODS F1 | OIS F1 | Dice, 2 px tolerance |")
    print("|---|---|---|---|---|---|---|---|")
    for folder, split, label in SETS:
        strict = evaluate(EvaluateConfig(model, [data / folder], split=split), progress=False)
        tolerant = evaluate(EvaluateConfig(model, [data / folder], split=split, tolerance=2), progress=False)
        print(f"| {label} | {strict.dice:.3f} | {strict.iou:.3f} | {strict.precision:.3f} | {strict.recall:.3f} | "
              f"{strict.ods_f1:.3f} | {strict.ois_f1:.3f} | {tolerant.dice:.3f} |", flush=True)
    print(f"\nthreshold {strict.threshold:.2f} (tuned on the validation splits during training)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("models/default"),
         Path(sys.argv[2]) if len(sys.argv) > 2 else Path("../shared/data"))
