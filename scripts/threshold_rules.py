"""Would another way of turning probabilities into a mask serve the field better? Per domain.

    .venv/bin/python scripts/threshold_rules.py [models/default] [../shared/data] [--crack500-step 3]

The model runs once per image (torch fp32, inspection's windows); each rule then makes a mask
from the same probabilities:

* ``plain T``: probability >= T (inspection's rule, with the model's threshold);
* ``hysteresis L/H``: pixels >= L connected (8-neighbours) to a pixel >= H: faint
  continuations of found cracks kept, nothing new found;
* ``thin extension L``: the plain mask plus the one-pixel centerline (skeleton) of the
  hysteresis mask L/threshold: faint continuations kept, but only one pixel wide.

Prints strict and 2 px Dice and strict recall per domain (crack-free images left out of the
Dice; their false crack pixels per MP printed where there are any).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from card_sets import arguments, domains
from skimage.morphology import skeletonize

from cracks.metrics import Scores, counts
from cracks.models import artifact
from cracks.training.evaluate import iter_predictions

Rule = Callable[[np.ndarray], np.ndarray]


def hysteresis(probability: np.ndarray, low: float, high: float) -> np.ndarray:
    n, labels = cv2.connectedComponents((probability >= low).astype(np.uint8), connectivity=8)
    seeded = np.zeros(n, bool)
    seeded[labels[probability >= high]] = True
    seeded[0] = False
    return seeded[labels]


def rules(threshold: float) -> dict[str, Rule]:
    found: dict[str, Rule] = {f"plain {t:.2f}": (lambda p, t=t: p >= t) for t in (threshold - 0.1, threshold, threshold + 0.1)}
    for low in (0.3, 0.45):
        found[f"hysteresis {low:.2f}/{threshold:.2f}"] = lambda p, low=low: hysteresis(p, low, threshold)
        found[f"thin extension {low:.2f}"] = lambda p, low=low: (p >= threshold) | skeletonize(hysteresis(p, low, threshold))
    return found


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    loaded = artifact.load(args.model)
    by_rule = rules(loaded.meta.threshold)
    print(f"model {args.model}, threshold {loaded.meta.threshold:.2f}, torch fp32\n")
    print("| data | rule | Dice | Dice, 2 px | recall | crack px per MP on crack-free images |")
    print("|---|---|---|---|---|---|")
    for domain, pairs in domains(args.data, crack500_step=args.crack500_step).items():
        rows = {name: [np.zeros(3, np.int64), np.zeros(3, np.int64), 0, 0.0] for name in by_rule}  # strict, 2 px, free px, MP
        for _, truth, probability in iter_predictions(loaded.model, pairs, loaded.meta.normalization):
            for name, rule in by_rule.items():
                mask, row = rule(probability), rows[name]
                if truth.any():
                    row[0] += counts(mask, truth)
                    row[1] += counts(mask, truth, 2)
                else:
                    row[2] += int(np.count_nonzero(mask))
                    row[3] += mask.size / 1e6
        for name, (strict, tolerant, free_px, free_mp) in rows.items():
            s, t = Scores.from_counts(*strict), Scores.from_counts(*tolerant)
            free = f"{free_px / free_mp:.0f}" if free_mp else "-"
            print(f"| {domain} | {name} | {s.dice:.4f} | {t.dice:.4f} | {s.recall:.3f} | {free} |", flush=True)


if __name__ == "__main__":
    main()
