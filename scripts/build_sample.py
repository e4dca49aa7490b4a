"""Build the sample site: a georeferenced road-section orthophoto from real CrackForest photos.

18 annotated CrackForest images (480 x 320 px each; urban road surface) are laid out as a
6 x 3 mosaic, 2880 x 960 px, georeferenced in ETRS89 / UTM 32N (EPSG:25832) at 1 mm per pixel:
a 2.88 m x 0.96 m strip of road. The ground-truth mask is assembled the same way. CrackForest
is never used to train or select the shipped model, so the Dice the demo reports is honest.

    .venv/bin/python scripts/build_sample.py ../shared/data/crackforest sample/
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from cracks.data.layouts import read_pairs
from cracks.data.masks import read_image

COLUMNS, ROWS = 6, 3
TILE_W, TILE_H = 480, 320
GSD_M = 0.001
CRS = "EPSG:25832"
ORIGIN = (691_250.0, 5_334_760.0)  # a street in Munich, for realism only


def pick_images(root: Path) -> list:
    """Annotated photos with a visible but not overwhelming crack, in a fixed order."""
    pairs = sorted(read_pairs(root, "crackforest").annotated, key=lambda p: p.image.name)
    chosen = []
    for pair in pairs:
        image = read_image(pair.image)
        if image.shape[:2] != (TILE_H, TILE_W):
            continue
        if 0.004 <= pair.read_mask().mean() <= 0.05:
            chosen.append(pair)
    step = max(1, len(chosen) // (COLUMNS * ROWS))
    return chosen[::step][: COLUMNS * ROWS]


def build(source: Path, out: Path) -> None:
    pairs = pick_images(source)
    if len(pairs) < COLUMNS * ROWS:
        raise SystemExit(f"{source}: only {len(pairs)} suitable CrackForest images")
    mosaic = np.zeros((ROWS * TILE_H, COLUMNS * TILE_W, 3), np.uint8)
    truth = np.zeros(mosaic.shape[:2], np.uint8)
    for i, pair in enumerate(pairs):
        r, c = divmod(i, COLUMNS)
        window = np.s_[r * TILE_H : (r + 1) * TILE_H, c * TILE_W : (c + 1) * TILE_W]
        mosaic[window] = read_image(pair.image)
        truth[window] = pair.read_mask() * 255
    transform = from_origin(*ORIGIN, GSD_M, GSD_M)
    out.mkdir(parents=True, exist_ok=True)
    common = dict(driver="GTiff", width=mosaic.shape[1], height=mosaic.shape[0], crs=CRS, transform=transform,
                  tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(out / "road_section.tif", "w", count=3, dtype="uint8", compress="JPEG", photometric="YCBCR",
                       jpeg_quality=92, **common) as dst:
        dst.write(np.moveaxis(mosaic, -1, 0))
        dst.update_tags(source="CrackForest (Shi et al. 2016), images " + ", ".join(p.image.stem for p in pairs))
    with rasterio.open(out / "road_section_truth.tif", "w", count=1, dtype="uint8", compress="DEFLATE", **common) as dst:
        dst.write(truth, 1)
    print(f"wrote {out / 'road_section.tif'} and its truth from {len(pairs)} CrackForest images: "
          + ", ".join(p.image.stem for p in pairs))


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data/crackforest"),
          Path(sys.argv[2]) if len(sys.argv) > 2 else Path("sample"))
