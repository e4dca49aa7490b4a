"""How narrow can a crack come out of the model? Record widths, predicted against drawn, per domain.

    .venv/bin/python scripts/width_floor.py [models/default] [../shared/data] [--crack500-step 3] [--record]

The model runs once per image (torch fp32, inspection's windows); its mask at the artifact's
threshold and the drawn mask are both measured as crack records (pixel units, records of at
least 20 px), and the percentiles of their mean widths are printed. The predicted widths'
lowest percentiles are the width floor: a crack drawn narrower is still measured about that
wide, so width classes below it cannot be resolved. The model's floor
(:mod:`cracks.training.width_floor`: the 1st percentile, the valid splits pooled, CrackForest
left out as in training) is printed; ``--record`` writes it into the model's ``model.json``
(``width_floor_px``), where inspection reads it.
"""

from __future__ import annotations

import numpy as np
from card_sets import arguments, domains

from cracks.measure.region import measure_cracks
from cracks.models import artifact
from cracks.training.evaluate import iter_predictions
from cracks.training.width_floor import MIN_RECORD_PX, record_widths, width_floor

PERCENTILES = (1, 5, 25, 50)


def main() -> None:
    args = arguments(__doc__.splitlines()[0], record=True)
    loaded = artifact.load(args.model)
    threshold = loaded.meta.threshold
    print(f"model {args.model}, threshold {threshold:.2f}, torch fp32; mean width of records >= 20 px long, in px\n")
    header = " | ".join(f"p{p}" for p in PERCENTILES)
    print(f"| data | predicted records | {header} | drawn records | {header} |")
    print("|---|---|" + "---|" * len(PERCENTILES) + "---|" + "---|" * len(PERCENTILES))
    valid_widths: list[float] = []  # every valid split's predicted widths: the model's floor
    for domain, pairs in domains(args.data, crack500_step=args.crack500_step).items():
        predicted: list[float] = []
        drawn: list[float] = []
        for _, truth, probability in iter_predictions(loaded.model, pairs, loaded.meta.normalization):
            predicted += record_widths(probability, threshold)
            drawn += [c.width_mean_px for c in measure_cracks(truth, min_length_px=MIN_RECORD_PX)]
        if not domain.startswith("crackforest"):
            valid_widths += predicted
        cells = [f"{len(w)} | " + " | ".join(f"{v:.2f}" for v in np.percentile(w, PERCENTILES)) if w
                 else "0 | " + " | ".join("-" for _ in PERCENTILES) for w in (predicted, drawn)]
        print(f"| {domain} | {cells[0]} | {cells[1]} |", flush=True)
    floor = width_floor(valid_widths)
    print(f"\nwidth floor (1st percentile of {floor.records} valid records): {floor.px} px "
          f"(model.json: {loaded.meta.width_floor_px})")
    if args.record and floor.px is not None:
        artifact.update_meta(args.model, width_floor_px=floor.px)
        print(f"recorded in {args.model / artifact.METADATA}")


if __name__ == "__main__":
    main()
