"""How narrow can a crack come out of the model? Record widths, predicted against drawn, per domain.

    .venv/bin/python scripts/width_floor.py [models/default] [../shared/data] [--crack500-step 3]

The model runs once per image (torch fp32, inspection's windows); its mask at the artifact's
threshold and the drawn mask are both measured as crack records (pixel units, records of at
least 20 px), and the percentiles of their mean widths are printed. The predicted widths'
lowest percentiles are the width floor (``cracks.standards.WIDTH_FLOOR_PX``): a crack drawn
narrower is still measured about that wide, so width classes below it cannot be resolved.
"""

from __future__ import annotations

import numpy as np
from card_sets import arguments, domains

from cracks.measure.region import measure_cracks
from cracks.models import artifact
from cracks.training.evaluate import iter_predictions

PERCENTILES = (1, 5, 25, 50)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    loaded = artifact.load(args.model)
    threshold = loaded.meta.threshold
    print(f"model {args.model}, threshold {threshold:.2f}, torch fp32; mean width of records >= 20 px long, in px\n")
    header = " | ".join(f"p{p}" for p in PERCENTILES)
    print(f"| data | predicted records | {header} | drawn records | {header} |")
    print("|---|---|" + "---|" * len(PERCENTILES) + "---|" + "---|" * len(PERCENTILES))
    for domain, pairs in domains(args.data, crack500_step=args.crack500_step).items():
        predicted: list[float] = []
        drawn: list[float] = []
        for _, truth, probability in iter_predictions(loaded.model, pairs, loaded.meta.normalization):
            predicted += [c.width_mean_px for c in measure_cracks(probability >= threshold, probability=probability,
                                                                  min_length_px=20)]
            drawn += [c.width_mean_px for c in measure_cracks(truth, min_length_px=20)]
        cells = [f"{len(w)} | " + " | ".join(f"{v:.2f}" for v in np.percentile(w, PERCENTILES)) if w
                 else "0 | " + " | ".join("-" for _ in PERCENTILES) for w in (predicted, drawn)]
        print(f"| {domain} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main()
