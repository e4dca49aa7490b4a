"""Look at a model as a user would: photo and overlay (truth green, prediction red, both yellow)
for a few images of every domain, plus synthetic hard negatives, on one PNG contact sheet.

    .venv/bin/python scripts/contact_sheet.py [models/default] [../shared/data] [--out contact-sheet.png] [--per-domain 4]
        [--no-half-scale]

Predictions are inspection's: checked at half scale (``cracks.models.scale_check``) unless
``--no-half-scale`` shows the network alone; photos larger than a tile are segmented in
inspection's windows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from card_sets import SETS
from PIL import Image, ImageDraw

from cracks.data.masks import read_image
from cracks.models import artifact
from cracks.models.passes import Passes
from cracks.training.evaluate import domain_of, gather_pairs, probability_of
from cracks.training.hard_negatives import PAINTERS, paint
from cracks.training.tracking import overlay

CELL = 256


def _cell(image: np.ndarray) -> np.ndarray:
    """Fit into a CELL x CELL square (aspect kept, grey padding)."""
    h, w = image.shape[:2]
    scale = CELL / max(h, w)
    resized = np.asarray(Image.fromarray(image).resize((max(1, round(w * scale)), max(1, round(h * scale)))))
    out = np.full((CELL, CELL, 3), 64, np.uint8)
    out[: resized.shape[0], : resized.shape[1]] = resized
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, default=Path("models/default"))
    parser.add_argument("data", nargs="?", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("contact-sheet.png"))
    parser.add_argument("--per-domain", type=int, default=4)
    parser.add_argument("--half-scale", action=argparse.BooleanOptionalAction, default=True,
                        help="check predictions at half scale, as inspection does by default")
    args = parser.parse_args()
    loaded = artifact.load(args.model)

    threshold = loaded.meta.threshold
    passes = Passes.at_threshold(threshold, half_scale=args.half_scale)  # as inspection runs them

    def marked(image: np.ndarray) -> np.ndarray:
        return probability_of(loaded.model, image, loaded.meta.normalization, passes=passes) >= threshold

    rows: list[tuple[str, list[np.ndarray]]] = []
    samples: dict[str, list] = {}
    for folder, split in SETS:
        pairs = gather_pairs([args.data / folder], "auto", split)
        for pair in pairs[:: max(1, len(pairs) // (args.per_domain * 4))]:
            samples.setdefault(domain_of(args.data / folder, pair), []).append(pair)
    for domain, pairs in samples.items():
        cells = []
        for pair in pairs[: args.per_domain]:
            image, truth = read_image(pair.image), pair.read_mask()
            pred = marked(image)
            cells += [_cell(image), _cell(overlay(image, truth, pred))]
        rows.append((domain, cells))
    rng = np.random.default_rng(99)
    negatives = [p for p in samples.get("concrete-walls", []) if p.image.name.startswith("noncrack")][:1] + \
        samples.get("uav-crackx x16", [])[:1]
    per_row = args.per_domain * 2
    kinds = list(PAINTERS) if negatives else []
    for start in range(0, len(kinds), per_row):  # every kind, as many rows as it takes
        cells = []
        for kind in kinds[start: start + per_row]:
            pair = negatives[len(cells) % len(negatives)]
            image, truth = read_image(pair.image), pair.read_mask()
            painted, kept = paint(image, truth.astype(np.uint8), kind, rng)
            pred = marked(painted)
            cells.append(_cell(overlay(painted, kept.astype(bool), pred)))
        rows.append(("hard negatives (" + ", ".join(kinds[start: start + per_row]) + ")", cells))
    width = max(len(c) for _, c in rows) * CELL
    sheet = Image.new("RGB", (width, len(rows) * (CELL + 18)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for r, (label, cells) in enumerate(rows):
        top = r * (CELL + 18)
        legend = "overlays" if label.startswith("hard negatives") else "photo | overlay"
        draw.text((4, top + 2), f"{label}: {legend} (truth green, prediction red, both yellow)", fill=(0, 0, 0))
        for c, cell in enumerate(cells):
            sheet.paste(Image.fromarray(cell), (c * CELL, top + 18))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
