"""Crack spacing: how far each crack runs from its neighbours.

Why: the AASHTO bridge-element rules grade reinforced-concrete cracking by width *or* spacing —
fine cracks a hand's width apart (pattern or map cracking) are condition state 3 even when each
one is hairline. A width alone cannot see that.

The spacing of a crack is the **median**, over points along its centerline, of the distance to the
nearest centerline it does not touch: another crack record, or a branch of its own network that
does not meet the branch the point lies on (the opposite side of a cell of map cracking). The
median makes it the distance the crack keeps along most of its length: two cracks that come close
at one end only are not "closely spaced", and a crack's own spurs, which meet it, never count.
Branches of a record that end within a linked gap of each other count as meeting (one crack).
Points with nothing within ``reach_px`` count as infinitely far; a record whose median is
infinite has no spacing (``None``: more than the reach apart).

How: one k-d tree over the centerline pixels of every crack, labelled by record and branch. Each
sample point asks for its nearest pixels and takes the first one that is allowed (another record,
or a branch of its own record that does not meet its branch); where its nearest ``k`` pixels are
all its own, ``k`` doubles. Distances are to centerline pixels, so within a pixel of the exact
polyline distance; the cost grows with the number of pixels, not with pairs of cracks.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy.spatial import cKDTree

from cracks.measure.region import Crack

SAMPLE_STEP_PX = 4  # every 4th centerline pixel is a sample point
TREE_STEP_PX = 2  # every 2nd centerline pixel is a neighbour candidate (distances within about a pixel)
TOUCH_PX = 2.0  # branch ends closer than this meet (they share a junction)
FIRST_K = 64  # nearest pixels asked for first; doubled for points that see only their own branch
MAX_K = 1 << 14  # beyond this many own pixels in the way, a point counts as having no neighbour
CHUNK_ENTRIES = 1 << 22  # points x k per k-d tree query: about 64 MB of distances and indices


def crack_spacings(cracks: list[Crack], *, reach_px: float) -> list[float | None]:
    """Each crack's spacing in pixels (see the module docstring), in the order given."""
    paths = [(index, path) for index, crack in enumerate(cracks) for path in crack.paths if len(path) >= 2]
    if not paths:
        return [None] * len(cracks)
    owner = np.array([index for index, _ in paths])
    pixels = np.vstack([path[::TREE_STEP_PX] for _, path in paths])
    pixel_branch = np.repeat(np.arange(len(paths)), [len(path[::TREE_STEP_PX]) for _, path in paths])
    meets = _meeting_branches(cracks, paths, owner)
    alone = _alone(cracks, paths, owner, meets, reach_px)
    samples = [np.arange(0, len(path) if not alone[index] else 0, SAMPLE_STEP_PX) for index, path in paths]
    sample_branch = np.repeat(np.arange(len(paths)), [len(s) for s in samples])
    sample_points = np.vstack([path[s] for (_, path), s in zip(paths, samples)])
    distance = _nearest_allowed(cKDTree(pixels), sample_points, sample_branch, pixel_branch, owner, meets, reach_px)
    sample_owner = owner[sample_branch]  # ascending: paths are listed crack by crack
    bounds = np.searchsorted(sample_owner, np.arange(len(cracks) + 1))
    spacings: list[float | None] = []
    for start, end in zip(bounds[:-1], bounds[1:]):
        median = float(np.median(distance[start:end])) if end > start else float("inf")
        spacings.append(median if np.isfinite(median) else None)
    return spacings


def _alone(cracks: list[Crack], paths: list[tuple[int, np.ndarray]], owner: np.ndarray, meet_keys: np.ndarray,
           reach_px: float) -> np.ndarray:
    """Records with no other record's box within reach and every pair of branches meeting: no
    spacing, known without asking the tree (a long lone crack would make every point wade through
    its own pixels)."""
    boxes = []
    for crack in cracks:
        mine = [path for path in crack.paths if len(path) >= 2]
        lo, hi = (np.vstack(mine).min(axis=0), np.vstack(mine).max(axis=0)) if mine else (np.zeros(2), np.zeros(2))
        boxes.append(shapely.box(lo[1], lo[0], hi[1], hi[0]))
    tree = shapely.STRtree(boxes)
    near, _ = tree.query(boxes, predicate="dwithin", distance=reach_px)
    neighbours = np.bincount(near, minlength=len(cracks)) - 1  # each box finds itself
    branches = np.bincount(owner, minlength=len(cracks))
    meeting_pairs = np.bincount(owner[meet_keys // len(paths)], minlength=len(cracks))
    return (neighbours == 0) & (meeting_pairs == branches * (branches - 1))


def _meeting_branches(cracks: list[Crack], paths: list[tuple[int, np.ndarray]], owner: np.ndarray) -> np.ndarray:
    """Keys ``a * n + b`` of the branches of one record whose ends meet (or face across a linked gap)."""
    n = len(paths)
    touch = [max([TOUCH_PX] + [float(np.linalg.norm(g[0] - g[1])) + 1.0 for g in c.gaps]) for c in cracks]
    ends = np.vstack([path[[0, -1]] for _, path in paths])
    end_branch = np.repeat(np.arange(n), 2)
    keys = []
    for i, j in cKDTree(ends).query_pairs(max(touch)):
        a, b = end_branch[i], end_branch[j]
        if a != b and owner[a] == owner[b] and np.linalg.norm(ends[i] - ends[j]) <= touch[owner[a]]:
            keys += [a * n + b, b * n + a]
    return np.unique(np.asarray(keys, dtype=np.int64))


def _nearest_allowed(tree: cKDTree, points: np.ndarray, point_branch: np.ndarray, pixel_branch: np.ndarray,
                     owner: np.ndarray, meet_keys: np.ndarray, reach_px: float) -> np.ndarray:
    """Distance from each point to the nearest pixel it may count (inf: none within reach)."""
    n = len(owner)
    result = np.full(len(points), np.inf)
    todo = np.arange(len(points))
    k = FIRST_K
    while len(todo):
        k_now = min(k, tree.n, MAX_K)
        unresolved = []
        for chunk in np.array_split(todo, max(1, len(todo) * k_now // CHUNK_ENTRIES)):  # bounded memory
            d, idx = tree.query(points[chunk], k=k_now, distance_upper_bound=reach_px)
            d, idx = d.reshape(len(chunk), -1), idx.reshape(len(chunk), -1)
            found = np.isfinite(d)
            branch = np.where(found, pixel_branch[np.minimum(idx, tree.n - 1)], -1)
            mine = point_branch[chunk][:, None]
            other_record = owner[np.maximum(branch, 0)] != owner[mine]
            allowed = found & (branch != mine) & (other_record | ~np.isin(mine * n + branch, meet_keys))
            hit = allowed.any(axis=1)
            first = allowed.argmax(axis=1)
            result[chunk[hit]] = d[hit, first[hit]]
            # Not settled: every pixel seen is its own, and more may lie within reach.
            unresolved.append(chunk[~hit & found[:, -1]])
        todo = np.concatenate(unresolved) if k_now < min(tree.n, MAX_K) else todo[:0]
        k *= 2
    return result
