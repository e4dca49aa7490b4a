"""Score weight snapshots on the validation splits and turn the chosen one into a model artifact.

``scripts/train_budget.py`` writes bare fp16 state dicts (a GPU machine returns a few files, not
folders). This script gives each the treatment ``cracks train`` gives its best epoch: one decision
threshold for every domain, chosen by the mean Dice over domains (so no domain's size rules it),
per-domain scores in the metadata, and an atomic artifact folder.

    python scripts/adopt_snapshot.py runs/gpu/fine-100.safetensors runs/gpu/imagenet-100.safetensors \\
        --data ../shared/data/deepcrack,../shared/data/crack500,../shared/data/uav-crackx,../shared/data/concrete-walls \\
        --out runs/gpu/model

With several snapshots the best by mean Dice is adopted; ``--out`` is optional (score only). A
soup (``scripts/average_weights.py``) keeps its member list in ``training.soup`` of ``model.json``;
its run settings are those of the member named in ``training.settings_from``.

``--threshold T`` fixes the shared threshold instead of taking the best mean Dice's: for a tie
(session 26: 0.7580 at 0.65 against 0.7579 at 0.70, within what 200 images per domain can tell
apart), the higher threshold marks fewer pixels on crack-free surfaces. Each snapshot's line is
followed by its mean Dice at every threshold of the grid, so one run shows a candidate both at
the shipped threshold and at its own best.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from card_sets import load_scored_model, snapshot_info

from cracks.data.layouts import gather_pairs
from cracks.errors import SettingError
from cracks.metrics import THRESHOLDS, grid_index
from cracks.models import artifact
from cracks.training.evaluate import score_validation
from cracks.training.sampling import domain_name, spread
from cracks.training.width_floor import model_width_floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshots", nargs="+", type=Path)
    parser.add_argument("--data", required=True, help="comma-separated dataset folders (their valid splits)")
    parser.add_argument("--max-valid-images", type=int, default=200)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--threshold", type=float, default=None,
                        help="fix the shared threshold (a multiple of 0.05) instead of taking the best mean Dice's")
    args = parser.parse_args()
    if args.threshold is not None:
        try:
            grid_index(THRESHOLDS, args.threshold)  # refused before any model or image is read
        except SettingError as exc:
            parser.error(exc.as_option())
    torch.set_grad_enabled(False)
    roots = [Path(p) for p in args.data.split(",")]
    valid = {domain_name(r): spread(gather_pairs([r], "auto", "valid"), args.max_valid_images) for r in roots}
    best = None
    for path in args.snapshots:
        info = snapshot_info(path)  # a model folder (e.g. the shipped model as the baseline) or a snapshot
        model, normalization, _ = load_scored_model(path)
        scores = score_validation(model, valid, normalization, threshold=args.threshold)
        threshold, macro, per_domain, pooled = scores.threshold, scores.macro_dice, scores.per_domain, scores.pooled.to_dict()
        print(f"{path.name}: mean Dice {macro:.4f} at {threshold:.2f}; "
              + ", ".join(f"{n} {r.dice:.4f}" for n, r in per_domain.items()), flush=True)
        # the whole curve: a distilled candidate's best threshold moves while its curve stays flat
        print("  mean Dice by threshold: " + ", ".join(f"{t:.2f} {d:.4f}" for t, d in scores.macro_curve.items()),
              flush=True)
        if best is None or macro > best[1]:
            best = (path, macro, threshold, per_domain, pooled, model, info, normalization)
    if args.out and best:
        path, macro, threshold, per_domain, pooled, model, info, normalization = best
        settings = json.loads(info.get("settings", "{}"))
        meta = artifact.ModelMeta(
            arch=info["arch"], encoder=info["encoder"], in_channels=3, normalization=normalization,
            threshold=threshold, tile_size=512,
            training={"recipe": "scripts/train_budget.py", "snapshot": path.name, "run": info.get("run"),
                      "datasets": settings.get("data", "").split(","), "crop": settings.get("crop"),
                      "batch_size": settings.get("batch_size"), "loss": settings.get("loss"),
                      "data_weights": settings.get("data_weights"), "scale": settings.get("scale"),
                      "hard_negatives": settings.get("hard_negatives"),
                      "hard_negative_weights": settings.get("hard_negative_weights"),
                      "hard_negative_kinds": settings.get("hard_negative_kinds"),
                      "field_optics": settings.get("field_optics", False), "seed": settings.get("seed"),
                      "init": info.get("init"), "init_sha256": info.get("init_sha256"),
                      "lr": float(info.get("lr", "nan")), "step": int(info.get("step", 0)),
                      "budget_fraction": float(info.get("fraction", "nan")), "settings": settings,
                      "valid_datasets": [str(r) for r in roots], "max_valid_images": args.max_valid_images,
                      **({"soup": json.loads(info["soup"]), "settings_from": info.get("settings_from")}
                         if "soup" in info else {})},
            metrics={"valid": pooled, **{f"valid:{n}": r.to_dict() for n, r in per_domain.items()}},
            width_floor_px=model_width_floor(model, [p for pairs in valid.values() for p in pairs], normalization,
                                             threshold).px,
        )
        artifact.save(model, meta, args.out, half=True)
        print(f"adopted {path.name} -> {args.out} (threshold {threshold:.2f}, mean Dice {macro:.4f}, "
              f"width floor {meta.width_floor_px} px)")


if __name__ == "__main__":
    main()
