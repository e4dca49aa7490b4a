"""Reproduce the model card: per-domain scores and false alarms of a model, as markdown.

    .venv/bin/python scripts/model_card.py [models/default] [../shared/data] [--tta]

Domains: DeepCrack valid, CRACK500 valid, UAV-CrackX valid per zoom, concrete-walls valid,
CrackForest (all annotated; never trained on). Columns: strict Dice and Dice with a 2 px
tolerance, precision and recall (strict), and predicted crack pixels per MP on crack-free images.
Then the false alarms on held-back synthetic hard negatives (every kind of
``cracks.training.hard_negatives``: lane markings, joints, kerbs, seams, nodata collars, shadows,
formwork, stains, tining), each painted three times on every crack-free wall and drone road tile.
With ``--tta``, every prediction is averaged with the mirror image's, as ``cracks inspect --tta``.
"""

from __future__ import annotations

from pathlib import Path

from card_sets import SETS, hard_negative_images
from card_sets import parser as card_parser

from cracks.models import artifact
from cracks.models.passes import Passes
from cracks.training.evaluate import domain_of, gather_pairs, hard_negative_false_px, score_domains


def main(model: Path, data: Path, tta: bool = False, half_scale: bool = False) -> None:
    loaded = artifact.load(model)
    threshold = loaded.meta.threshold
    by_domain: dict[str, list] = {}
    for folder, split in SETS:
        if not (data / folder).is_dir():
            print(f"(skipped {folder}: not in {data})")
            continue
        for pair in gather_pairs([data / folder], "auto", split):
            label = domain_of(data / folder, pair) + (" valid" if split == "valid" else ", all annotated")
            by_domain.setdefault(label, []).append(pair)
    _, domains = score_domains(loaded.model, loaded.meta.normalization, threshold, by_domain, tolerance=2,
                               passes=Passes(tta=tta, half_scale=half_scale))
    print(f"model {model} (threshold {threshold:.2f}, torch fp32{', mirror-averaged (--tta)' if tta else ''}"
          f"{', checked at half scale (--half-scale)' if half_scale else ''})\n")
    print("| data | images | Dice | Dice, 2 px | precision | recall | precision, 2 px | recall, 2 px | crack px per MP on crack-free images |")
    print("|---|---|---|---|---|---|---|---|---|")
    for d in domains:
        free = "-" if d.false_px_per_mp is None else f"{d.false_px_per_mp:.0f} ({d.crack_free_images} images)"
        print(f"| {d.domain} | {d.strict.n_images} | {d.strict.dice:.3f} | {d.tolerant.dice:.3f} | {d.strict.precision:.3f} | "
              f"{d.strict.recall:.3f} | {d.tolerant.precision:.3f} | {d.tolerant.recall:.3f} | {free} |", flush=True)
    print("\nSynthetic hard negatives (held-back seed), predicted crack px per MP away from true cracks:\n")
    rows = {name: hard_negative_false_px(loaded.model, loaded.meta.normalization, threshold, pairs, tta=tta,
                                   half_scale=half_scale)
            for name, pairs in hard_negative_images(data).items()}
    kinds = list(next(iter(rows.values())))
    print("| images | " + " | ".join(kinds) + " |")
    print("|---" * (len(kinds) + 1) + "|")
    for name, values in rows.items():
        print(f"| {name} | " + " | ".join(f"{values[k]:.0f}" for k in kinds) + " |", flush=True)


if __name__ == "__main__":
    card = card_parser(__doc__.split("\n\n")[0], crack500_step=False)  # the card scores every image
    card.add_argument("--tta", action="store_true", help="average every prediction with the mirror image's")
    card.add_argument("--half-scale", action="store_true", help="check every prediction at half scale (inspect --half-scale)")
    args = card.parse_args()
    main(args.model, args.data, tta=args.tta, half_scale=args.half_scale)
