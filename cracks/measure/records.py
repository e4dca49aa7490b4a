"""From measured regions to the records an inspector counts: one crack, one record.

A segmentation model often breaks one real crack into a dashed chain of pieces (faint stretches
fall under the threshold), and it marks stains and spots that are not cracks at all. Counting
regions would report both as cracks. Two steps on the measured regions fix that:

* :func:`link_fragments` joins pieces whose free ends face each other across a short gap
  (shorter than ``gap_px`` and than the pieces themselves; the line across the gap leaves each
  end within ``end_deg`` of its direction and the two bends add up to at most ``turn_deg``: a
  crack may kink where the model lost it, but does not turn back).
  The linked record's length is the sum of the pieces' own lengths (the gaps are recorded, not
  counted); its widths are length-weighted. It works on the records, after measurement, so the
  strip-wise and the in-memory measurement link identically.
* :func:`split_spots` moves regions that are not elongated (shorter than ``min_elongation``
  times their mean width) or shorter than ``min_length_px`` to a separate list: the ``spots``
  layer, outside every crack statistic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import shapely

from cracks.measure.region import Crack, principal_angle

END_DIRECTION_PX = 8.0  # how far back along the centerline the direction of a free end is taken


@dataclasses.dataclass(frozen=True)
class FreeEnd:
    crack: int  # index in the list of cracks
    point: np.ndarray  # (row, col)
    outward: np.ndarray  # unit vector pointing out of the crack


def free_ends(index: int, crack: Crack) -> list[FreeEnd]:
    """The ends of a crack's centerline that are not junctions, with the direction they point in."""
    ends = []
    endpoints = [tuple(np.round(p[i], 3)) for p in crack.paths for i in (0, -1) if len(p) >= 2]
    for path in crack.paths:
        if len(path) < 2:
            continue
        for tip, inward in ((path[-1], path[::-1]), (path[0], path)):
            if endpoints.count(tuple(np.round(tip, 3))) > 1:  # shared with another branch: a junction
                continue
            steps = np.linalg.norm(np.diff(inward, axis=0), axis=1).cumsum()
            back = inward[min(int(np.searchsorted(steps, END_DIRECTION_PX)) + 1, len(inward) - 1)]
            direction = tip - back
            norm = float(np.linalg.norm(direction))
            if norm > 0:
                ends.append(FreeEnd(index, np.asarray(tip, float), direction / norm))
    return ends


def _continues(a: FreeEnd, b: FreeEnd, *, end_deg: float, turn_deg: float) -> bool:
    """Whether one crack could run from end ``a`` across the gap into end ``b``."""
    gap = b.point - a.point
    distance = float(np.linalg.norm(gap))
    if distance < 2.0:  # touching: any direction
        return True
    bends = np.degrees(np.arccos(np.clip([float(a.outward @ gap) / distance, float(b.outward @ -gap) / distance], -1, 1)))
    return bool(bends.max() <= end_deg and bends.sum() <= turn_deg)


def link_fragments(cracks: list[Crack], *, gap_px: float, end_deg: float = 75.0, turn_deg: float = 90.0) -> list[Crack]:
    """Join fragments of one crack; see the module docstring. Returns new records, input order kept.

    The bends were 40 degrees at each end until measured otherwise: models lose a crack where it
    kinks, and an asymmetric bend (70 degrees at one end, 15 at the other) left a drone-image
    crack in two records. Allowing it, at a 30 px gap: UAV-CrackX valid 1.27 -> 1.14 records per
    found crack (records lying on two drawn cracks 42 -> 49), CrackForest 1.17 -> 1.13 (7 -> 7),
    crack precision and recall unchanged or better (``scripts/link_rules.py``, README)."""
    if gap_px <= 0 or len(cracks) < 2:
        return cracks
    ends = [end for i, c in enumerate(cracks) for end in free_ends(i, c)]
    if len(ends) < 2:
        return cracks
    points = np.array([e.point for e in ends])
    from scipy.spatial import cKDTree

    pairs = []
    for i, j in cKDTree(points).query_pairs(gap_px):
        a, b = ends[i], ends[j]
        if a.crack == b.crack:
            continue
        distance = float(np.linalg.norm(a.point - b.point))
        if distance > 0.5 * (cracks[a.crack].length_px + cracks[b.crack].length_px):
            continue  # a gap longer than the pieces: two cracks, not one with a gap
        if _continues(a, b, end_deg=end_deg, turn_deg=turn_deg):
            pairs.append((distance, i, j))
    parent = list(range(len(cracks)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    used: set[int] = set()
    gaps: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for distance, i, j in sorted(pairs):
        if i in used or j in used:
            continue  # each free end continues into one other piece at most
        ra, rb = root(ends[i].crack), root(ends[j].crack)
        if ra == rb:
            continue  # would close a loop
        used.update((i, j))
        parent[max(ra, rb)] = min(ra, rb)
        gaps.setdefault(min(ra, rb), []).append((ends[i].point, ends[j].point))
        gaps[min(ra, rb)] += gaps.pop(max(ra, rb), [])
    groups: dict[int, list[int]] = {}
    for k in range(len(cracks)):
        groups.setdefault(root(k), []).append(k)
    return [merge_parts([cracks[k] for k in members], gaps.get(r, [])) if len(members) > 1 else cracks[members[0]]
            for r, members in sorted(groups.items())]


def merge_parts(parts: list[Crack], gaps: Sequence[tuple[np.ndarray, np.ndarray]] = ()) -> Crack:
    """One record from pieces of one crack (linked fragments, or the blocks a giant region was
    measured in): lengths and areas summed, widths length-weighted, paths and outlines joined.
    Pieces joined end to end add no branching: the record is a network only if a piece is one or
    the pieces' junctions make it one (four linked pieces of a straight crack stay linear)."""
    length = sum(p.length_px for p in parts)
    weights = np.array([p.length_px for p in parts]) / max(length, 1e-9)

    def weighted(field: str) -> float | None:
        values = [getattr(p, field) for p in parts]
        return None if any(v is None for v in values) else float(np.dot(weights, values))

    paths = [path for p in parts for path in p.paths]
    pixels = np.vstack(paths)
    polygons = [p.polygon_px for p in parts if p.polygon_px is not None]
    first = parts[0]
    n_junctions = sum(p.n_junctions for p in parts)
    n_branches = sum(p.n_branches for p in parts)
    confidences = [p.confidence for p in parts]
    areas = [p.area_px for p in parts]
    return dataclasses.replace(
        first,
        length_px=length,
        width_mean_px=float(sum(p.width_mean_px * p.length_px for p in parts) / max(length, 1e-9)),
        width_max_px=max(p.width_max_px for p in parts),
        width_p95_px=float(np.dot(weights, [p.width_p95_px for p in parts])),
        orientation_deg=principal_angle(pixels[:, 0], pixels[:, 1]),
        type="network" if n_junctions >= 2 or any(p.type == "network" for p in parts) else "linear",
        n_branches=n_branches,
        n_junctions=n_junctions,
        area_px=sum(p.area_px for p in parts),
        paths=paths,
        polygon_px=shapely.union_all(polygons) if polygons else None,
        length_m=None if first.length_m is None else sum(p.length_m for p in parts),
        width_mean_mm=weighted("width_mean_mm"),
        width_max_mm=None if first.width_max_mm is None else max(p.width_max_mm for p in parts),
        width_p95_mm=weighted("width_p95_mm"),
        n_parts=sum(p.n_parts for p in parts),
        gap_length_px=sum(p.gap_length_px for p in parts) + sum(float(np.linalg.norm(a - b)) for a, b in gaps),
        gaps=[g for p in parts for g in p.gaps] + [np.array([a, b]) for a, b in gaps],
        confidence=None if None in confidences else float(np.dot(confidences, areas) / max(sum(areas), 1)),
    )


def split_spots(cracks: list[Crack], *, min_length_px: float, min_elongation: float = 3.0) -> tuple[list[Crack], list[Crack]]:
    """(cracks, spots): regions shorter than ``min_length_px`` or than ``min_elongation`` times
    their mean width are spots (stains, blobs, specks), not cracks."""
    kept, spots = [], []
    for crack in cracks:
        elongated = crack.length_px >= min_elongation * crack.width_mean_px
        (kept if elongated and crack.length_px >= min_length_px else spots).append(crack)
    return kept, spots


def classify(cracks: list[Crack], grade: Callable[[Crack], tuple[str, str]]) -> list[Crack]:
    """Set each crack's severity and its basis, ``grade(crack) -> (severity, basis)``, and number the
    records 1..n in reading order."""
    ordered = sorted(cracks, key=lambda c: (float(np.min(np.vstack(c.paths)[:, 0])), float(np.min(np.vstack(c.paths)[:, 1]))))
    for number, crack in enumerate(ordered, start=1):
        crack.crack_id = number
        crack.severity, crack.severity_basis = grade(crack)
    return ordered


@dataclasses.dataclass(frozen=True)
class RecordRules:
    """How measured regions become records, in pixels (callers convert mm with their GSD)."""

    link_gap_px: float
    min_length_px: float
    min_elongation: float = 4.0
    link_end_deg: float = 75.0  # how far each end may bend towards the other (link_fragments)
    link_turn_deg: float = 90.0  # and both ends together


def crack_records(regions: list[Crack], rules: RecordRules) -> tuple[list[Crack], list[Crack]]:
    """(cracks, spots): fragments linked, then blobs and specks apart. Used by inspection and evaluation."""
    linked = link_fragments(regions, gap_px=rules.link_gap_px, end_deg=rules.link_end_deg, turn_deg=rules.link_turn_deg)
    return split_spots(linked, min_length_px=rules.min_length_px, min_elongation=rules.min_elongation)
