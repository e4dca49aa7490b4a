"""Measuring cracks on a probability raster of any size, in bounded memory.

Pass 1 reads the mask strip by strip: it labels each strip, writes the labels to a compressed
label raster (ZSTD: compressing the uint32 strips with DEFLATE took 0.45 s more of the 400 MP
benchmark's scan), joins regions that touch across strip borders with a union-find, and keeps only
each region's bounding box, a seed pixel, the count of valid pixels, a decimated valid-data mask
for the footprint and (optionally) the counts against a ground-truth raster. Pass 2 reads each
region's own window of mask and labels and measures it with
:func:`cracks.measure.region.crack_from_region`, the same code the in-memory path uses.

Memory is one strip plus one region window, never the raster. A region wider or taller than
``max_region_px`` (a crack network across a whole site: on a generated 400 MP orthophoto one
region spanned the raster and took 12 GB to measure in one piece) is measured in blocks of that
size and the blocks joined into one record (lengths summed; each cut costs a pixel or two).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio.features import shapes
from rasterio.windows import Window

from cracks.measure import BRIDGE_PX, MeasureSettings
from cracks.measure.records import merge_parts
from cracks.measure.region import Crack, bridged, crack_from_region, default_road_axis
from cracks.metrics import counts
from tiling.raster import all_valid, has_mask, is_all_valid


@dataclass
class Region:
    top: int
    left: int
    bottom: int  # exclusive
    right: int  # exclusive
    seed: tuple[int, int]  # first pixel in raster order (row, col)


@dataclass
class MaskScan:
    regions: list[Region]
    valid_pixels: int
    footprint_px: shapely.Geometry  # valid-data outline in (col, row) pixel coordinates
    truth_counts: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # tolerance -> (TP, FP, FN)
    labels_path: Path | None = None  # uint32 strip labels of the (bridged) crack pixels, 0 = none
    region_of_label: np.ndarray = field(default_factory=lambda: np.zeros(1, np.uint32))  # label -> region number (1-based)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: list[int] = []

    def add(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass
class _Strip:
    labels: np.ndarray  # HxW uint32, 1..n; 0 outside
    boxes: np.ndarray  # n x 4 (top, left, bottom exclusive, right exclusive) of regions 1..n, strip rows
    seeds: np.ndarray  # n x 2 (row, col): each region's first pixel in raster order
    points: np.ndarray  # m x 2 (row, col) of every labelled pixel, in raster order
    valid_pixels: int = 0
    footprint: np.ndarray | None = None  # the strip's valid rows and columns kept for the footprint (every step-th)


def _label_strip(binary: np.ndarray) -> _Strip:
    """8-connected regions of one strip: the labels (HxW, 1..n as uint32; 0 outside), and the
    regions' boxes and seeds (first pixels in raster order) in label order.

    OpenCV's labelling gives the same regions as ``scipy.ndimage.label`` (numbered in another
    order, which nothing after depends on: regions are numbered by their first pixel in the end).
    The boxes and seeds come from the crack pixels' coordinates, not from OpenCV's statistics,
    which visit every background pixel too (with :func:`_write_blocks`, the scan of the 100 MP
    benchmark's mask went 0.80-1.12 -> 0.41-0.60 s on a 2-core Xeon: ``benchmarks/measure_benchmark.py``)."""
    import cv2

    binary = np.ascontiguousarray(binary).view(np.uint8)
    _, labels = cv2.connectedComponents(binary, connectivity=8, ltype=cv2.CV_32S)
    points = cv2.findNonZero(binary)  # (x, y) in raster order; None where there is no crack
    if points is None:
        empty = np.zeros((0, 2), np.int64)
        return _Strip(labels.view(np.uint32), np.zeros((0, 4), np.int64), empty, empty)
    points = points.reshape(-1, 2)[:, ::-1].astype(np.int64)  # (row, col)
    order = np.argsort(labels[points[:, 0], points[:, 1]], kind="stable")  # by label, raster order within
    grouped = points[order]
    numbers = labels[grouped[:, 0], grouped[:, 1]]
    starts = np.flatnonzero(np.r_[True, numbers[1:] != numbers[:-1]])
    boxes = np.column_stack([np.minimum.reduceat(grouped, starts), np.maximum.reduceat(grouped, starts) + 1])
    return _Strip(labels.view(np.uint32), boxes, grouped[starts], points)


def _read(src, window: Window, threshold_u8: int, masked: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The window's probabilities, validity and crack pixels. The probabilities of an
    orthophoto without nodata have no mask (:mod:`cracks.inspect.bands`; the caller asks
    :func:`~tiling.raster.has_mask` once per dataset): their validity is one value, not read."""
    probability = src.read(1, window=window)
    if not masked:
        return probability, all_valid(probability.shape), probability >= threshold_u8
    valid = src.dataset_mask(window=window) > 0
    return probability, valid, (probability >= threshold_u8) & valid


class _StripLabeller:
    """Reads and labels strips of the mask on two threads, handed out in order.

    Reading, thresholding, bridging and labelling a strip release the GIL (GDAL, numpy, OpenCV):
    while the union of regions across strips is done here, the next strip is being labelled. At
    the end of an inspection this runs beside the COG copy on the other core, which finishes
    first. ``benchmarks/measure_benchmark.py`` on the 100 MP benchmark's COG (2-core Xeon): the
    scan 0.87-0.89 -> 0.65-0.74 s.
    Each thread reads through its own dataset handle (GDAL's are not shared across threads).
    """

    def __init__(self, path: Path, threshold_u8: int, bridge_px: int, step: int, workers: int = 2, *,
                 masked: bool = True) -> None:
        self.path, self.threshold_u8, self.bridge_px, self.step, self.workers = path, threshold_u8, bridge_px, step, workers
        self.masked = masked
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()

    def _source(self):
        src = getattr(self._local, "src", None)
        if src is None:
            src = self._local.src = rasterio.open(self.path)
            with self._lock:
                self._opened.append(src)
        return src

    def label(self, y0: int, h: int, height: int, width: int) -> _Strip:
        top, bottom = max(0, y0 - self.bridge_px), min(height, y0 + h + self.bridge_px)
        _, valid, binary = _read(self._source(), Window(0, top, width, bottom - top), self.threshold_u8, self.masked)
        core = slice(y0 - top, y0 - top + h)  # grouping sees bridge_px rows across the strip border
        binary, valid = bridged(binary, self.bridge_px)[core], valid[core]
        keep = np.arange(y0, y0 + h) % self.step == 0
        strip = _label_strip(binary)
        strip.valid_pixels = valid.size if is_all_valid(valid) else int(np.count_nonzero(valid))
        strip.footprint = valid[keep, :: self.step]
        return strip

    def labelled(self, starts: range, strip_rows: int, height: int, width: int) -> Iterator[tuple[int, _Strip]]:
        """``(y0, strip)`` in order; at most ``workers`` strips in memory ahead of the caller."""
        pending: deque[tuple[int, Future]] = deque()
        try:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="scan") as pool:
                for y0 in starts:
                    pending.append((y0, pool.submit(self.label, y0, min(strip_rows, height - y0), height, width)))
                    if len(pending) >= self.workers:
                        y, future = pending.popleft()
                        yield y, future.result()
                while pending:
                    y, future = pending.popleft()
                    yield y, future.result()
        finally:
            for future in (f for _, f in pending):
                future.cancel()
            for src in self._opened:
                src.close()


def scan_mask(mask_path: Path, threshold_u8: int, truth_path: Path | None = None, tolerances: tuple[int, ...] = (0,),
              *, strip_rows: int = 1024, footprint_side: int = 2048, bridge_px: int = BRIDGE_PX,
              labels_path: Path | None = None, truth_threshold: int = 127) -> MaskScan:
    """Pass 1: regions, valid area, footprint and truth counts, one strip at a time.

    Truth pixels above ``truth_threshold`` are crack (0 for a 0/1 truth mask:
    :func:`cracks.inspect.truth.truth_threshold`).

    The strip labels go to ``labels_path`` (default: a hidden file beside the mask; the caller
    removes it after :func:`measure_raster`)."""
    labels_path = labels_path or mask_path.with_name(f".{mask_path.stem}.labels.tif")
    uf = _UnionFind()
    boxes: list[list[int]] = []
    seeds: list[tuple[int, int]] = []
    valid_pixels = 0
    halo = max(tolerances)
    truth_totals = {t: np.zeros(3, np.int64) for t in tolerances} if truth_path else {}
    with rasterio.open(mask_path) as src:
        height, width = src.height, src.width
        step = max(1, int(np.ceil(max(height, width) / footprint_side)))
        footprint_rows = []
        previous_last: np.ndarray | None = None
        truth_src = rasterio.open(truth_path) if truth_path else None
        labels_dst = rasterio.open(labels_path, "w", driver="GTiff", width=width, height=height, count=1, dtype="uint32",
                                   tiled=True, blockxsize=512, blockysize=512, compress="ZSTD", BIGTIFF="IF_SAFER",
                                   sparse_ok=True, crs=src.crs, transform=src.transform)
        try:
            masked = has_mask(src)
            strips = _StripLabeller(mask_path, threshold_u8, bridge_px, step, masked=masked)
            for y0, strip in strips.labelled(range(0, height, strip_rows), strip_rows, height, width):
                h = strip.labels.shape[0]
                valid_pixels += strip.valid_pixels
                footprint_rows.append(strip.footprint)
                labels, base = strip.labels, len(uf.parent)
                for (top, left, bottom, right), (row, col) in zip(strip.boxes.tolist(), strip.seeds.tolist()):
                    uf.add()
                    boxes.append([top + y0, left, bottom + y0, right])
                    seeds.append((row + y0, col))
                if previous_last is not None and len(strip.boxes):
                    first_row = labels[0]
                    for shift in (-1, 0, 1):  # 8-connectivity across the strip border
                        above = np.full(width, -1, np.int64)
                        if shift < 0:
                            above[:shift] = previous_last[-shift:]
                        elif shift > 0:
                            above[shift:] = previous_last[:-shift]
                        else:
                            above[:] = previous_last
                        touching = (first_row > 0) & (above >= 0)
                        for a, b in set(zip((first_row[touching] - 1 + base).tolist(), above[touching].tolist())):
                            uf.union(a, b)
                previous_last = np.where(labels[-1] > 0, labels[-1].astype(np.int64) - 1 + base, -1)
                if len(strip.boxes):  # numbered after the earlier strips' regions, in place
                    rows, cols = strip.points[:, 0], strip.points[:, 1]
                    labels[rows, cols] += np.uint32(base)
                    _write_blocks(labels_dst, labels, y0, cols)
                if truth_src is not None:
                    _add_truth_counts(src, truth_src, y0, h, threshold_u8, truth_totals, halo, truth_threshold, masked)
        finally:
            labels_dst.close()
            if truth_src is not None:
                truth_src.close()
    merged: dict[int, Region] = {}
    for i, (box, seed) in enumerate(zip(boxes, seeds)):
        root = uf.find(i)
        if root not in merged:
            merged[root] = Region(box[0], box[1], box[2], box[3], seed)
        else:
            r = merged[root]
            r.top, r.left, r.bottom, r.right = min(r.top, box[0]), min(r.left, box[1]), max(r.bottom, box[2]), max(r.right, box[3])
            r.seed = min(r.seed, seed)
    small = np.concatenate(footprint_rows).astype(np.uint8) if footprint_rows else np.zeros((0, 0), np.uint8)
    polys = [shapely.geometry.shape(g) for g, v in shapes(small, mask=small > 0, transform=Affine.scale(step)) if v]
    footprint = shapely.make_valid(shapely.union_all(polys)) if polys else shapely.Polygon()
    roots = sorted(merged, key=lambda root: merged[root].seed)
    number = {root: k + 1 for k, root in enumerate(roots)}
    region_of_label = np.zeros(len(uf.parent) + 1, np.uint32)
    for i in range(len(uf.parent)):
        region_of_label[i + 1] = number[uf.find(i)]
    return MaskScan([merged[root] for root in roots], valid_pixels, footprint,
                    {t: tuple(int(v) for v in c) for t, c in truth_totals.items()}, labels_path, region_of_label)


def _write_blocks(dst, labels: np.ndarray, y0: int, cols: np.ndarray) -> None:
    """Write the strip's labels at row ``y0``, only the columns of blocks that hold a crack pixel
    (``cols``): the others stay sparse, read as 0, and no time goes into compressing zeros."""
    block = dst.block_shapes[0][1]
    for first in np.unique(cols // block).tolist():
        x0 = first * block
        x1 = min(x0 + block, labels.shape[1])
        dst.write(np.ascontiguousarray(labels[:, x0:x1])[None], [1], window=Window(x0, y0, x1 - x0, labels.shape[0]))


def _add_truth_counts(src, truth_src, y0: int, h: int, threshold_u8: int, totals: dict, halo: int,
                      truth_threshold: int = 127, masked: bool = True) -> None:
    """Count TP/FP/FN for the strip's rows, reading ``halo`` extra rows so tolerance sees across."""
    top = max(0, y0 - halo)
    bottom = min(src.height, y0 + h + halo)
    window = Window(0, top, src.width, bottom - top)
    _, valid, binary = _read(src, window, threshold_u8, masked)
    truth = (truth_src.read(1, window=window) > truth_threshold) & valid
    core = slice(y0 - top, y0 - top + h)
    for tolerance in totals:
        totals[tolerance] += counts(binary, truth, tolerance, rows=core)


def region_windows(region: Region, height: int, width: int, max_side: int) -> list[Window]:
    """The region's bounding box plus a 1 px margin, or blocks of ``max_side`` px if it is larger."""
    if region.bottom - region.top <= max_side and region.right - region.left <= max_side:
        top, left = max(0, region.top - 1), max(0, region.left - 1)
        bottom, right = min(height, region.bottom + 1), min(width, region.right + 1)
        return [Window(left, top, right - left, bottom - top)]
    return [Window(x, y, min(max_side, region.right - x), min(max_side, region.bottom - y))
            for y in range(region.top, region.bottom, max_side) for x in range(region.left, region.right, max_side)]


CUT_JOIN_PX = 8.0  # centerline ends of neighbouring blocks this close meet across the cut (the skeleton hooks there)


def _joined(blocks: list[Crack]) -> Crack:
    """The blocks of one region as one record. Their centerlines end at the cuts; those ends are
    recorded as joins (``gaps``, not counted in ``gap_length_px``), so that crack spacing sees one
    crack and not a neighbour a few pixels away (a lone crack measured in blocks had a spacing
    of 36-80 px instead of none)."""
    from scipy.spatial import cKDTree

    ends = [(b, path[i]) for b, crack in enumerate(blocks) for path in crack.paths if len(path) >= 2 for i in (0, -1)]
    points = np.array([point for _, point in ends])
    joins = [(points[i], points[j]) for i, j in sorted(cKDTree(points).query_pairs(CUT_JOIN_PX)) if ends[i][0] != ends[j][0]]
    return dataclasses.replace(merge_parts(blocks, joins), n_parts=1, gap_length_px=sum(b.gap_length_px for b in blocks))


def measure_raster(mask_path: Path, threshold_u8: int, scan: MaskScan, pixel_size_m: float | None = None,
                   settings: MeasureSettings | None = None, *, max_region_px: int = 2048, **overrides: Any) -> list[Crack]:
    """Pass 2: measure every region from its own window of the mask and of the labels.

    ``settings`` as in :func:`~cracks.measure.region.measure_cracks` (fields overridable by keyword);
    ``max_region_px`` bounds memory: larger networks are measured in blocks of that size, joined into one record.
    """
    settings = dataclasses.replace(settings or MeasureSettings(), **overrides)
    cracks: list[Crack] = []
    with rasterio.open(mask_path) as src, rasterio.open(scan.labels_path) as labels_src:
        if settings.road_axis_deg is None:
            settings = dataclasses.replace(settings, road_axis_deg=default_road_axis(src.height, src.width))
        masked = has_mask(src)
        for number, region in enumerate(scan.regions, start=1):
            blocks: list[Crack] = []
            for window in region_windows(region, src.height, src.width, max_region_px):
                probability, _, binary = _read(src, window, threshold_u8, masked)
                region_mask = (scan.region_of_label[labels_src.read(1, window=window)] == number) & binary
                if not region_mask.any():
                    continue
                # crop to the region's own pixels (blocks of a network hold other regions too), then a
                # zero border: a block's cut edges look like crack ends to the skeleton and distances
                # (keeping a 1 px ring of real probability around them, which the area estimate reads)
                rows, cols = np.flatnonzero(region_mask.any(axis=1)), np.flatnonzero(region_mask.any(axis=0))
                r0, c0 = max(0, rows[0] - 1), max(0, cols[0] - 1)
                crop = np.s_[r0 : rows[-1] + 2, c0 : cols[-1] + 2]
                region_mask, probability = np.pad(region_mask[crop], 1), np.pad(probability[crop], 1)
                origin = (int(window.row_off) + int(r0) - 1, int(window.col_off) + int(c0) - 1)
                crack = crack_from_region(region_mask, origin, probability, pixel_size_m, settings)
                if crack is not None:
                    blocks.append(crack)
            if blocks:
                # One connected region is one record, as in memory: the blocks' cut ends meet at a
                # hook the skeleton makes at a cut edge, which fragment linking would not join.
                crack = blocks[0] if len(blocks) == 1 else _joined(blocks)
                crack.crack_id, crack.network_id = len(cracks) + 1, number
                cracks.append(crack)
    return cracks
