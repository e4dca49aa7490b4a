"""Pack crack datasets compactly for a training machine that has a transfer limit.

Each dataset is read in its own layout and mask encoding (``cracks.data.read_pairs``) and written
in the plain ``folders`` layout: ``OUT/<dataset>/<split>/images/<stem>.webp`` (or the original
file, when re-encoding would not make it smaller) and ``masks/<stem>.png`` holding 0/255. The
0/255 PNG masks remove every per-dataset encoding question on the other side.

    python scripts/pack_training_data.py ../shared/data/crack500 --out .gpu/b --split train --every 2

``--every N`` keeps every N-th pair (sorted by name) when a dataset does not fit; the packed
share is printed so that the model card can state it. ``--archive`` also writes each packed
dataset as one ``OUT/<dataset>.tar.gz`` (unpack with ``tar xzf FILE -C STAGE``): a transfer limit
that counts every file's overhead refused CRACK500 and DeepCrack's 16,000 small files as a folder,
not as one archive of their 44 MiB (session 21).
"""

from __future__ import annotations

import argparse
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from cracks.atomic import atomic_path
from cracks.data import read_pairs
from cracks.data.masks import open_upright


def packed_folder(root: Path, out: Path) -> Path:
    """Where ``root`` is packed under ``out`` (one folder per dataset, named as the dataset's own)."""
    return out / root.resolve().name


def pack(root: Path, out: Path, *, split: str, every: int, quality: int) -> tuple[int, int]:
    scan = read_pairs(root)
    pairs = sorted((p for p in scan.annotated if p.split == split), key=lambda p: p.image.name)
    kept = pairs[::every]
    target = packed_folder(root, out) / split
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


def archive(folder: Path) -> Path:
    """A packed ``folder`` as one ``<folder>.tar.gz`` beside it whose members start with its name."""
    target = folder.with_name(f"{folder.name}.tar.gz")
    with atomic_path(target, suffix=".tar.gz") as tmp, tarfile.open(tmp, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--quality", type=int, default=80)
    parser.add_argument("--archive", action="store_true", help="also write each packed dataset as OUT/<dataset>.tar.gz")
    args = parser.parse_args()
    for root in args.data:
        written, total = pack(root, args.out, split=args.split, every=args.every, quality=args.quality)
        print(f"{root}: {written} of {total} {args.split} pairs packed into {args.out}")
        if args.archive:
            packed = archive(packed_folder(root, args.out))
            print(f"  archived as {packed} ({packed.stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
