"""Pack crack datasets compactly for a training machine that has a transfer limit.

Each dataset is read in its own layout and mask encoding (``cracks.data.read_pairs``) and written
in the plain ``folders`` layout: ``OUT/<dataset>/<split>/images/<stem>.webp`` (or the original
file, when re-encoding would not make it smaller) and ``masks/<stem>.png`` holding 0/255. The
0/255 PNG masks remove every per-dataset encoding question on the other side.

    python scripts/pack_training_data.py ../shared/data/crack500 --out .gpu/b --split train --every 2

``--every N`` keeps every N-th pair (sorted by name) when a dataset does not fit; the packed
share is printed so that the model card can state it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from cracks.data import read_pairs
from cracks.data.masks import open_upright


def pack(root: Path, out: Path, *, split: str, every: int, quality: int) -> tuple[int, int]:
    scan = read_pairs(root)
    pairs = sorted((p for p in scan.annotated if p.split == split), key=lambda p: p.image.name)
    kept = pairs[::every]
    target = out / root.resolve().name / split
    (target / "images").mkdir(parents=True, exist_ok=True)
    (target / "masks").mkdir(parents=True, exist_ok=True)
    written = 0
    for pair in kept:
        original = pair.image.read_bytes()
        webp = target / "images" / f"{pair.image.stem}.webp"
        open_upright(pair.image).convert("RGB").save(webp, quality=quality, method=6)
        if webp.stat().st_size >= len(original):
            webp.unlink()
            (target / "images" / pair.image.name).write_bytes(original)
        mask = pair.read_mask()
        Image.fromarray(mask.astype(np.uint8) * 255).convert("1").save(target / "masks" / f"{pair.image.stem}.png",
                                                                      optimize=True)
        written += 1
    return written, len(pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--quality", type=int, default=80)
    args = parser.parse_args()
    for root in args.data:
        written, total = pack(root, args.out, split=args.split, every=args.every, quality=args.quality)
        print(f"{root}: {written} of {total} {args.split} pairs packed into {args.out}")


if __name__ == "__main__":
    main()
