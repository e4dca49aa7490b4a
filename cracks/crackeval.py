"""Crack-level evaluation: what an inspector counts, not pixels.

Pixel Dice says little about whether the records are right: one crack reported as ten pieces
scores the same Dice as one record. Against a ground-truth mask this scores the records:

* true cracks: 8-connected components of the truth after a 2 px dilation (hand-drawn outlines
  of one crack touch across small gaps);
* a record *matches* the true crack that most of its centerline lies on (at least half of its
  centerline points within ``tolerance_px`` of that crack's pixels);
* a true crack is *found* when at least ``found_fraction`` of its centerline lies within
  ``tolerance_px`` of some record's centerline;
* precision = matched records / records, recall = found true cracks / true cracks,
  fragmentation = matched records per found true crack, over-linking = records with at least 20 %
  of their near-truth centerline (and 10 points) on a second true crack, length error = (records' total length -
  truth's centerline length) / truth's, width-class agreement = matched records whose severity
  class equals their true crack's.

It holds whole-raster arrays, so it is meant for evaluation sites (up to ``MAX_PIXELS``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import cv2
import numpy as np
from scipy import ndimage

from cracks.measure.region import Crack, bridged, measure_cracks

MAX_PIXELS = 200_000_000


@dataclass
class CrackLevelScores:
    true_cracks: int
    records: int
    matched_records: int
    found_true_cracks: int
    precision: float
    recall: float
    records_per_true_crack: float
    true_length_px: float
    record_length_px: float
    length_error: float  # relative: +0.1 = records 10 % longer than the truth
    width_class_agreement: float | None
    tolerance_px: float
    records_on_two_cracks: int = 0  # over-linking: records lying on a second true crack as well

    def to_dict(self) -> dict:
        return asdict(self)


def _points(cracks: list[Crack]) -> list[np.ndarray]:
    return [np.vstack(c.paths) if c.paths else np.zeros((0, 2)) for c in cracks]


def distance_to(mask: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance of every pixel to the nearest True pixel of ``mask`` (OpenCV's
    precise transform: several times faster than scipy's on a whole site, float32)."""
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def nearest_labels(labels: np.ndarray, points: np.ndarray, radius: float) -> np.ndarray:
    """The label of the nearest labelled pixel within ``radius`` of each (row, col) point, else 0.

    Looks only around the points (offsets by increasing distance) instead of a feature transform of
    the whole raster.
    """
    reach = int(np.floor(radius))
    offsets = sorted(((dr, dc) for dr in range(-reach, reach + 1) for dc in range(-reach, reach + 1)
                      if dr * dr + dc * dc <= radius * radius), key=lambda o: (o[0] ** 2 + o[1] ** 2, o))
    found = np.zeros(len(points), labels.dtype)
    todo = np.ones(len(points), bool)
    for dr, dc in offsets:
        rows, cols = points[:, 0] + dr, points[:, 1] + dc
        inside = todo & (rows >= 0) & (rows < labels.shape[0]) & (cols >= 0) & (cols < labels.shape[1])
        values = np.zeros(len(points), labels.dtype)
        values[inside] = labels[rows[inside], cols[inside]]
        hit = inside & (values > 0)
        found[hit] = values[hit]
        todo &= ~hit
    return found


@dataclass
class TruthCracks:
    """What the scores need from the truth mask alone: computed once, before any record exists
    (the inspection prepares it while the model segments)."""

    truth: np.ndarray  # bool
    labels: np.ndarray  # true crack of each truth pixel (0 elsewhere)
    count: int
    distance: np.ndarray  # to the nearest truth pixel
    records: list[Crack]  # the truth measured as cracks (centerlines, lengths, widths)


def prepare_truth(truth: np.ndarray, *, pixel_size_m: float | None = None) -> TruthCracks:
    truth = truth.astype(bool)
    labels, count = ndimage.label(bridged(truth, 2), structure=np.ones((3, 3), bool))
    return TruthCracks(truth, np.where(truth, labels, 0), int(count), distance_to(truth),
                       measure_cracks(truth, pixel_size_m=pixel_size_m, bridge_px=2, min_length_px=0))


def crack_level_scores(
    records: list[Crack], truth: np.ndarray | TruthCracks, *, tolerance_px: float = 3.0, found_fraction: float = 0.3,
    severity: Callable[[Crack], str] | None = None, pixel_size_m: float | None = None,
) -> CrackLevelScores:
    """Score ``records`` against a truth mask (or its :func:`prepare_truth`, with the same pixel size)."""
    prepared = truth if isinstance(truth, TruthCracks) else prepare_truth(truth, pixel_size_m=pixel_size_m)
    truth, labels, n_true, distance = prepared.truth, prepared.labels, prepared.count, prepared.distance
    shape = np.array(truth.shape) - 1

    matched_to: list[int] = []
    on_two = 0
    for points in _points(records):
        idx = np.clip(np.rint(points).astype(int), 0, shape)
        close = distance[idx[:, 0], idx[:, 1]] <= tolerance_px
        values, counts = np.unique(nearest_labels(labels, idx[close], tolerance_px), return_counts=True)
        on_cracks = np.sort(counts[values > 0])
        second = on_cracks[-2] if len(on_cracks) > 1 else 0
        on_two += int(second >= max(10, 0.2 * np.count_nonzero(close)))
        matched_to.append(int(values[np.argmax(counts)]) if len(idx) and close.mean() >= 0.5 else 0)

    drawn = np.zeros(truth.shape, bool)
    for points in _points(records):
        idx = np.clip(np.rint(points).astype(int), 0, shape)
        drawn[idx[:, 0], idx[:, 1]] = True
    to_record = distance_to(drawn) if drawn.any() else np.full(truth.shape, np.inf)
    true_records = prepared.records
    found: set[int] = set()
    true_class: dict[int, str] = {}
    for crack, points in zip(true_records, _points(true_records)):
        idx = np.clip(np.rint(points).astype(int), 0, shape)
        label = int(np.bincount(labels[idx[:, 0], idx[:, 1]]).argmax()) if len(idx) else 0
        if label == 0:  # centerline on the dilation only: take the nearest true pixel's crack
            label = int(nearest_labels(labels, idx[:1], 3.0)[0]) if len(idx) else 0
        if severity is not None:
            true_class[label] = severity(crack)
        if len(idx) and (to_record[idx[:, 0], idx[:, 1]] <= tolerance_px).mean() >= found_fraction:
            found.add(label)
    matched = [m for m in matched_to if m]
    agreement = None
    if severity is not None and matched:
        pairs = [(r, m) for r, m in zip(records, matched_to) if m in true_class]
        agreement = float(np.mean([severity(r) == true_class[m] for r, m in pairs])) if pairs else None
    true_length = float(sum(c.length_px for c in true_records))
    record_length = float(sum(c.length_px for c in records))
    return CrackLevelScores(
        true_cracks=int(n_true), records=len(records), matched_records=len(matched), found_true_cracks=len(found),
        precision=len(matched) / len(records) if records else 1.0,
        recall=len(found) / n_true if n_true else 1.0,
        records_per_true_crack=len(matched) / len(found) if found else 0.0,
        true_length_px=true_length, record_length_px=record_length,
        length_error=(record_length - true_length) / true_length if true_length else 0.0,
        width_class_agreement=agreement, tolerance_px=tolerance_px, records_on_two_cracks=on_two,
    )
