"""Would another way of turning probabilities into a mask serve the field better? Per domain.

    .venv/bin/python scripts/threshold_rules.py [models/default] [../shared/data] [--crack500-step 3]

The model runs once per image (torch fp32, inspection's windows); each rule then makes a mask
from the same probabilities:

* ``plain T``: probability >= T (inspection's rule, with the model's threshold);
* ``hysteresis L/H``: pixels >= L connected (8-neighbours) to a pixel >= H: faint
  continuations of found cracks kept, nothing new found;
* ``thin extension L``: the plain mask plus the one-pixel centerline (skeleton) of the
  hysteresis mask L/threshold: faint continuations kept, but only one pixel wide;
* ``dark core F``: the plain mask trimmed to the photo's dark core: a pixel stays where it is at
  least F times as dark (black top-hat, 31 px disk) as the darkest crack pixel within 15 px, the
  crack's width read from the photo rather than the model (F = 0.5: its full width at half depth);
  ``dark core F, sure H``: the same, but pixels the model gives >= H are never trimmed.

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

Rule = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (probability, image) -> mask
CORE_RADIUS = 15


def dark_core(probability: np.ndarray, image: np.ndarray, threshold: float, fraction: float) -> np.ndarray:
    """The mask ``probability >= threshold`` less its pixels under ``fraction`` of the local crack
    depth; where the crack has hardly any depth (< 8 grey levels), the model's mask is kept."""
    mask = probability >= threshold
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * CORE_RADIUS + 1,) * 2)
    depth = cv2.morphologyEx(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.MORPH_BLACKHAT, disk).astype(np.float32)
    core = cv2.dilate(np.where(mask, depth, 0).astype(np.float32), disk)
    return mask & ((depth >= np.maximum(fraction * core, 1.0)) | (core < 8))


def hysteresis(probability: np.ndarray, low: float, high: float) -> np.ndarray:
    n, labels = cv2.connectedComponents((probability >= low).astype(np.uint8), connectivity=8)
    seeded = np.zeros(n, bool)
    seeded[labels[probability >= high]] = True
    seeded[0] = False
    return seeded[labels]


def rules(threshold: float) -> dict[str, Rule]:
    found: dict[str, Rule] = {f"plain {t:.2f}": (lambda p, _, t=t: p >= t) for t in (threshold - 0.1, threshold, threshold + 0.1)}
    for low in (0.3, 0.45):
        found[f"hysteresis {low:.2f}/{threshold:.2f}"] = lambda p, _, low=low: hysteresis(p, low, threshold)
        found[f"thin extension {low:.2f}"] = lambda p, _, low=low: (p >= threshold) | skeletonize(hysteresis(p, low, threshold))
    for fraction in (0.15, 0.3, 0.5):
        found[f"dark core {fraction:.2f}"] = lambda p, im, f=fraction: dark_core(p, im, threshold, f)
    found["dark core 0.30, sure 0.85"] = lambda p, im: dark_core(p, im, threshold, 0.3) | (p >= 0.85)
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
        for image, truth, probability in iter_predictions(loaded.model, pairs, loaded.meta.normalization):
            for name, rule in by_rule.items():
                mask, row = rule(probability, image), rows[name]
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
