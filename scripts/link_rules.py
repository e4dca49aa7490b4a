"""How fragment linking splits and merges real cracks: records per found drawn crack, and records
that lie on two drawn cracks, for several link gaps and bend limits, on every domain.

The model runs once per image (torch fp32, the artifact's threshold); each rule then links the
same measured regions. A good rule lowers records per found crack towards 1 without making many
records that lie on two drawn cracks (``records_on_two_cracks`` of :mod:`cracks.crackeval`).

    .venv/bin/python scripts/link_rules.py [models/default] [../shared/data] [--gaps 10,20,30] [--bends 40/80,75/90]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from cracks.crackeval import crack_level_scores, prepare_truth
from cracks.data.masks import read_image
from cracks.measure.records import crack_records
from cracks.measure.region import measure_cracks
from cracks.models import artifact
from cracks.training.evaluate import PIXEL_RECORD_RULES, gather_pairs, probability_of

SETS = [("uav-crackx", "valid"), ("crackforest", "all"), ("deepcrack", "valid"), ("crack500", "valid"),
        ("concrete-walls", "valid")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, default=Path("models/default"))
    parser.add_argument("data", nargs="?", type=Path, default=Path("../shared/data"))
    parser.add_argument("--gaps", default="10,20,30", help="link gaps in pixels")
    parser.add_argument("--bends", default="40/80,75/90", help="END/TURN degrees: each end's bend / both bends")
    parser.add_argument("--limit", type=int, default=200, help="images per domain at most (evenly spread)")
    args = parser.parse_args()
    loaded = artifact.load(args.model)
    network, normalization, threshold = loaded.model.eval(), loaded.meta.normalization, loaded.meta.threshold
    gaps = [float(g) for g in args.gaps.split(",")]
    bends = [tuple(float(x) for x in b.split("/")) for b in args.bends.split(",")]
    print(f"model {args.model} (threshold {threshold:.2f}, torch fp32); spots under {PIXEL_RECORD_RULES.min_length_px:g} px "
          f"or {PIXEL_RECORD_RULES.min_elongation:g} widths\n")
    print("| data | gap px | end / turn deg | records | crack precision | crack recall | records per found crack | records on two cracks |")
    print("|---|---|---|---|---|---|---|---|")
    for name, split in SETS:
        pairs = gather_pairs([args.data / name], "auto", split)
        pairs = pairs[:: max(1, len(pairs) // args.limit)][: args.limit]
        images = []
        for pair in pairs:
            truth = pair.read_mask()
            if truth.any():
                probability = probability_of(network, read_image(pair.image), normalization)
                images.append((measure_cracks(probability >= threshold, bridge_px=2, min_length_px=0), prepare_truth(truth)))
        for gap in gaps:
            for end_deg, turn_deg in bends:
                records = matched = found = true = spanning = 0
                for regions, truth in images:
                    rules = dataclasses.replace(PIXEL_RECORD_RULES, link_gap_px=gap, link_end_deg=end_deg, link_turn_deg=turn_deg)
                    kept, _ = crack_records(regions, rules)
                    scores = crack_level_scores(kept, truth)
                    records += scores.records
                    matched += scores.matched_records
                    found += scores.found_true_cracks
                    true += scores.true_cracks
                    spanning += scores.records_on_two_cracks
                print(f"| {name} {split} ({len(images)}) | {gap:g} | {end_deg:g} / {turn_deg:g} | {records} | "
                      f"{matched / max(records, 1):.3f} | {found / max(true, 1):.3f} | {matched / max(found, 1):.3f} | {spanning} |",
                      flush=True)


if __name__ == "__main__":
    main()
