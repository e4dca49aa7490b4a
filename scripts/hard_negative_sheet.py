"""Which held-back hard-negative paintings fool a model, and what it marks on them.

    .venv/bin/python scripts/hard_negative_sheet.py MODEL [MODEL ...] --kinds tining,tined_joint \\
        [--images walls|drone] [--threshold 0.70] [--tta] [--top 7] [--out sheet.png]

MODEL is a model folder or a ``scripts/train_budget.py`` snapshot (or a soup of them), scored at
``--threshold`` (default: a folder's own; a snapshot needs one). The paintings are the model
card's (``cracks.training.evaluate.hard_negative_paintings``: the same held-back seed, three per
image, the card's 34 crack-free walls or its 29 drone road tiles), so the px/MP printed per kind
are the card's columns, for snapshots too. Per kind it prints how much of the column the worst
five paintings carry, and writes a PNG whose rows are the worst paintings (by the most any model
marks): the painted image, then each model's prediction in red. Why: a column of a few hundred
px/MP can be one unlucky painting or a habit, and only the overlays tell what was marked (session
23: wall joints where painted grooves cross them, not the grooves).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from card_sets import hard_negative_images, load_scored_model

from cracks.models.hardware import cpu_model
from cracks.models.passes import Passes
from cracks.training.evaluate import hard_negative_paintings, probability_of


def overlay(image: np.ndarray, marked: np.ndarray, size: int) -> np.ndarray:
    shown = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    shown[marked] = (0, 0, 255)
    return cv2.resize(shown, (size, size), interpolation=cv2.INTER_AREA)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--kinds", required=True, help="comma-separated hard-negative kinds, e.g. tining,tined_joint")
    parser.add_argument("--images", choices=("walls", "drone"), default="walls")
    parser.add_argument("--threshold", type=float, default=None, help="default: a model folder's own")
    parser.add_argument("--tta", action="store_true", help="average every prediction with the mirror image's")
    parser.add_argument("--half-scale", action="store_true", help="check every prediction at half scale (inspect --half-scale)")
    parser.add_argument("--top", type=int, default=7, help="rows of the sheet: the worst paintings")
    parser.add_argument("--out", type=Path, default=Path("hard_negative_sheet.png"))
    args = parser.parse_args()
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    models = [load_scored_model(path, args.threshold) for path in args.models]
    for path, (_, _, threshold) in zip(args.models, models):
        if threshold is None:
            parser.error(f"{path}: a snapshot has no threshold of its own; give --threshold")
    row = "crack-free walls" if args.images == "walls" else "drone road tiles"
    pairs = hard_negative_images(args.data).get(row)
    if not pairs:
        parser.error(f"{args.data}: no {row} there (concrete-walls and uav-crackx are the card's)")
    print(f"cpu {cpu_model()}; {len(pairs)} {args.images} images; kinds {', '.join(kinds)}")

    counts: dict[str, list[list[int]]] = {}  # kind -> per painting, one count per model
    rows: list[tuple[int, str, np.ndarray]] = []
    pixels = 0
    for painting in hard_negative_paintings(pairs, kinds=kinds):
        if painting.kind == "none":
            pixels += painting.far.size
        marked = [(probability_of(model, painting.image, norm,
                                  passes=Passes.at_threshold(threshold, tta=args.tta, half_scale=args.half_scale))
                   >= threshold) & painting.far
                  for model, norm, threshold in models]
        found = [int(np.count_nonzero(m)) for m in marked]
        counts.setdefault(painting.kind, []).append(found)
        if painting.kind != "none" and max(found) > 0:
            tiles = [cv2.resize(cv2.cvtColor(painting.image, cv2.COLOR_RGB2BGR), (256, 256), interpolation=cv2.INTER_AREA)]
            tiles += [overlay(painting.image, m, 256) for m in marked]
            rows.append((max(found), f"{painting.pair.image.name} {painting.kind}", np.hstack(tiles)))
            rows = sorted(rows, key=lambda r: -r[0])[: args.top]  # keep only the worst: the sheet stays small

    megapixels = pixels / 1e6
    for kind, per_painting in counts.items():
        table = np.asarray(per_painting)
        for index, path in enumerate(args.models):
            column = np.sort(table[:, index])[::-1]
            share = column[:5].sum() / column.sum() if column.sum() else 0.0
            print(f"{path} {kind}: {column.sum() / (megapixels * len(column) / len(pairs)):.0f} px/MP "
                  f"({np.count_nonzero(column)} of {len(column)} paintings mark any; the worst five carry {share:.0%})")
    for _, name, _ in rows:
        print(f"sheet row: {name}")
    if rows:
        cv2.imwrite(str(args.out), np.vstack([r[2] for r in rows]))
        print(f"wrote {args.out}: each row the painted image, then {', '.join(str(p) for p in args.models)}")


if __name__ == "__main__":
    main()
