"""Look at an inspection's errors one by one: its records that touch no true crack, and the true
cracks none of its crack pixels touches, each cropped from the orthophoto beside an overlay.

    .venv/bin/python scripts/error_sheet.py SITE_DIR [--truth MASK] [--out errors.png] [--limit 30]
        [--tolerance-px 3] [--min-true-px 50]

SITE_DIR is one site's output folder of ``cracks inspect ... --truth MASK`` (its ``summary.json``
names the orthophoto and the truth; ``--truth`` judges it against another mask on the same grid). Overlay colours: the site's crack pixels red, the true crack
green. The sheet has two parts, each largest first: *records on no true crack* (no point of the
record's centreline within the tolerance of a true crack pixel) and *true cracks missed* (8-connected
parts of the truth of ``--min-true-px`` or more with no crack pixel within the tolerance). Each part prints a line per crop
(record id, length, confidence; or truth pixels), so the crops can be sorted by eye into kinds.

Why: the summary's crack-level scores say how many records are false, not what they are. On the
mosaic of UAV-CrackX's valid drone photos (``benchmarks/half_scale.py``) about half the records on
no true crack turned out to lie on cracks the masks leave out (README, "How inspection works").
Reads the truth and the mask whole: for sites up to about a hundred megapixels.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import geopandas as gpd
import numpy as np
import rasterio
from rasterio.windows import Window
from scipy import ndimage

CELL = 256


def crop_pair(photo: rasterio.DatasetReader, marks: list[tuple[np.ndarray, tuple[int, int, int]]],
              rows: slice, cols: slice, label: str) -> np.ndarray:
    """The photo's window beside the same window with ``marks`` (boolean arrays of the window, BGR
    colours) painted over it, each CELL x CELL, with ``label`` written in the corner."""
    window = Window(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)
    rgb = np.moveaxis(photo.read((1, 2, 3), window=window, boundless=True, fill_value=0), 0, -1)
    plain = np.ascontiguousarray(rgb[:, :, ::-1])
    marked = plain.copy()
    for mask, colour in marks:
        marked[mask] = colour
    pair = np.hstack([cv2.resize(plain, (CELL, CELL), interpolation=cv2.INTER_AREA),
                      cv2.resize(marked, (CELL, CELL), interpolation=cv2.INTER_NEAREST)])
    cv2.putText(pair, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1)
    return pair


def around(rows: tuple[int, int], cols: tuple[int, int], shape: tuple[int, int]) -> tuple[slice, slice]:
    """A square window around a box (row and column ranges) with some margin, clipped to the raster."""
    centre_r, centre_c = sum(rows) // 2, sum(cols) // 2
    half = max(64, max(rows[1] - rows[0], cols[1] - cols[0]) // 2 + 24)
    r0, c0 = max(0, centre_r - half), max(0, centre_c - half)
    return slice(r0, min(shape[0], r0 + 2 * half)), slice(c0, min(shape[1], c0 + 2 * half))


def false_records(site: Path, photo: rasterio.DatasetReader, near_truth: np.ndarray,
                  ) -> list[tuple[float, str, tuple[slice, slice]]]:
    """(length, label, window) of every record whose centreline has no point on ``near_truth``
    (the truth grown by the tolerance)."""
    lines = gpd.read_file(site / "cracks.gpkg", layer="centerlines")
    if lines.crs is not None and photo.crs is not None:
        lines = lines.to_crs(photo.crs)  # the layers may be in another CRS than the orthophoto
    found = []
    inverse = ~photo.transform
    for record in lines.itertuples():
        coords = np.array([p for part in getattr(record.geometry, "geoms", [record.geometry]) for p in part.coords])
        cols, rows = inverse * (coords[:, 0], coords[:, 1])
        r = np.clip(np.floor(rows).astype(int), 0, near_truth.shape[0] - 1)
        c = np.clip(np.floor(cols).astype(int), 0, near_truth.shape[1] - 1)
        if near_truth[r, c].any():
            continue
        window = around((r.min(), r.max()), (c.min(), c.max()), near_truth.shape)
        length = record.length_px
        found.append((length, f"record {record.crack_id}: {length:.0f} px, confidence {record.confidence:.2f}", window))
    return sorted(found, key=lambda f: -f[0])


def missed_cracks(truth: np.ndarray, near_found: np.ndarray, min_px: int,
                  ) -> tuple[list[tuple[int, str, tuple[slice, slice], int]], np.ndarray]:
    """(pixels, label, window, part's label) of every part of the truth of ``min_px`` or more that
    no crack pixel comes near, and the labelled parts. Smaller parts are specks (JPEG-noisy masks
    hold hundreds), not cracks."""
    labels, count = ndimage.label(truth, structure=np.ones((3, 3)))
    if not count:
        return [], labels
    index = np.arange(1, count + 1)
    sizes = ndimage.sum(truth, labels, index)
    touched = ndimage.maximum(near_found, labels, index)
    boxes = ndimage.find_objects(labels)
    missed = []
    for k in np.flatnonzero(~touched.astype(bool) & (sizes >= min_px)):
        box = boxes[k]
        window = around((box[0].start, box[0].stop), (box[1].start, box[1].stop), truth.shape)
        missed.append((int(sizes[k]), f"true crack of {int(sizes[k])} px", window, int(k + 1)))
    return sorted(missed, key=lambda m: -m[0]), labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="a site's output folder of `cracks inspect ... --truth MASK`")
    parser.add_argument("--truth", type=Path, help="another truth mask on the orthophoto's grid (default: the site's)")
    parser.add_argument("--out", type=Path, default=Path("errors.png"))
    parser.add_argument("--limit", type=int, default=30, help="crops per part, the largest first")
    parser.add_argument("--tolerance-px", type=float, default=3.0)
    parser.add_argument("--min-true-px", type=int, default=50, help="smaller parts of the truth are specks, not cracks")
    args = parser.parse_args()
    summary_path = args.site / "summary.json"
    if not summary_path.is_file():
        parser.error(f"{args.site}: no summary.json (not a finished site of `cracks inspect`)")
    summary = json.loads(summary_path.read_text())
    if not (args.truth or summary.get("truth")):
        parser.error(f"{args.site}: inspected without --truth; give --truth MASK")
    threshold_u8 = round(summary["model"]["threshold"] * 255)
    with rasterio.open(args.site / summary["outputs"]["mask"]) as src:
        found = src.read(1) >= threshold_u8
    truth_path = args.truth or Path(summary["truth"]["truth"])
    with rasterio.open(truth_path) as src:
        truth = src.read(1) > 0
    if truth.shape != found.shape:
        parser.error(f"{truth_path}: {truth.shape[1]} x {truth.shape[0]} px, the site {found.shape[1]} x {found.shape[0]}")
    reach = np.ones((3, 3), bool)
    steps = max(1, round(args.tolerance_px))
    near_truth = ndimage.binary_dilation(truth, reach, iterations=steps)
    near_found = ndimage.binary_dilation(found, reach, iterations=steps)

    tiles: list[np.ndarray] = []
    with rasterio.open(summary["input"]) as photo:
        wrong = false_records(args.site, photo, near_truth)
        missed, labels = missed_cracks(truth, near_found, args.min_true_px)
        print(f"{summary['site']}: {summary['n_cracks']} records, {len(wrong)} on no true crack; "
              f"{len(missed)} true cracks of {args.min_true_px} px or more missed (within {args.tolerance_px:g} px)")
        for _, label, (rows, cols) in wrong[: args.limit]:
            print(label)
            tiles.append(crop_pair(photo, [(truth[rows, cols], (0, 255, 0)), (found[rows, cols], (0, 0, 255))],
                                   rows, cols, label))
        for _, label, (rows, cols), k in missed[: args.limit]:
            print(label)
            tiles.append(crop_pair(photo, [(found[rows, cols], (0, 0, 255)), (labels[rows, cols] == k, (0, 255, 0))],
                                   rows, cols, label))
    if not tiles:
        print("nothing to show: every record is on a true crack and every true crack is found")
        return
    columns = 3
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    sheet = np.vstack([np.hstack(tiles[k : k + columns]) for k in range(0, len(tiles), columns)])
    cv2.imwrite(str(args.out), sheet)
    print(f"wrote {args.out}: per row three crops, each the photo and its overlay (crack pixels red, truth green)")


if __name__ == "__main__":
    main()
