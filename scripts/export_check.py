"""What does the int8 export lose, on the card's sets and on the one it never saw (CrackForest)?

``cracks export`` holds its Dice budget on crops of the four training datasets' train splits; a
field orthophoto is data the export never saw, and the int8 loss there has been larger (README
model card, "int8 export"). This script scores the model both ways on the card's sets: torch fp32,
as the card does, and the int8 export as ``cracks inspect`` runs it on this CPU (``int8-bf16``
where the CPU runs bf16 natively), at the model's own threshold, same windows.

    .venv/bin/python scripts/export_check.py [models/default] [../shared/data] [--crack500-step 3]
"""

from __future__ import annotations

import numpy as np
import torch
from card_sets import arguments, domains

from cracks.config import InspectConfig
from cracks.data.masks import read_image
from cracks.metrics import ThresholdSweep
from cracks.models import artifact
from cracks.models.backends import make_backend, resolve
from cracks.models.hardware import cpu_model
from cracks.training.evaluate import probability_of
from tiling.in_memory import predict_in_windows


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    torch.set_grad_enabled(False)
    loaded = artifact.load(args.model)
    threshold = loaded.meta.threshold
    choice = resolve(loaded, "openvino", "int8")
    int8 = make_backend(loaded, choice)
    print(f"model {args.model}, threshold {threshold:.2f}; torch fp32 against openvino {choice.precision} "
          f"on {cpu_model()}\n")
    print("| data | images | fp32 Dice | int8 Dice | fp32 Dice, 2 px | int8 Dice, 2 px | change, 2 px |")
    print("|---|---|---|---|---|---|---|")
    for domain, pairs in domains(args.data, crack500_step=args.crack500_step).items():
        at = np.array([threshold])  # one threshold: the counts of a full sweep are not needed
        sweeps = {name: (ThresholdSweep(at), ThresholdSweep(at, tolerance=2)) for name in ("fp32", "int8")}
        for pair in pairs:
            image, truth = read_image(pair.image), pair.read_mask()
            probabilities = {
                "fp32": probability_of(loaded.model, image, loaded.meta.normalization),
                "int8": predict_in_windows(image, int8, tile=InspectConfig.tile, overlap=InspectConfig.overlap),
            }
            for name, probability in probabilities.items():
                for sweep in sweeps[name]:
                    sweep.add(probability, truth)
        (strict32, near32), (strict8, near8) = ((sweep.scores_at(threshold).dice for sweep in both)
                                                for both in sweeps.values())
        print(f"| {domain} | {len(pairs)} | {strict32:.3f} | {strict8:.3f} | {near32:.3f} | {near8:.3f} | "
              f"{near8 - near32:+.3f} |", flush=True)


if __name__ == "__main__":
    main()
