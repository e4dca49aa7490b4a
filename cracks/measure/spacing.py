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
A branch of the same record that does not meet the point's branch counts only where the way
along the record's own centerlines is more than ``DETOUR`` times the straight distance: across a
cell of map cracking (about twice), not further along the same crack past a spur (about once: a
crack with two spurs had a "spacing" of the stretch between them).
Points with nothing within ``reach_px`` count as infinitely far; a record whose median is
infinite has no spacing (``None``: more than the reach apart).

How: one k-d tree over the centerline pixels of every crack, labelled by record and branch. Each
sample point asks for its nearest pixels and takes the first one that is allowed (another record,
or a branch of its own record that does not meet its branch); where its nearest ``k`` pixels are
all its own, ``k`` doubles. Distances are to centerline pixels, so within a pixel of the exact
polyline distance; the cost grows with the number of pixels, not with pairs of cracks.
"""

from __future__ import annotations

from collections.abc import Callable

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
DETOUR = 1.3  # own-record pixels count when the way along the centerlines is longer than this times the distance
MAX_GRAPH_BRANCHES = 1000  # records with more branches skip the detour test (their node distances: 2000^2 x 8 B = 32 MB)


def crack_spacings(cracks: list[Crack], *, reach_px: float) -> list[float | None]:
    """Each crack's spacing in pixels (see the module docstring), in the order given."""
    paths = [(index, path) for index, crack in enumerate(cracks) for path in crack.paths if len(path) >= 2]
    if not paths:
        return [None] * len(cracks)
    owner = np.array([index for index, _ in paths])
    arcs = [np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))] for _, path in paths]
    pixels = np.vstack([path[::TREE_STEP_PX] for _, path in paths])
    pixel_branch = np.repeat(np.arange(len(paths)), [len(path[::TREE_STEP_PX]) for _, path in paths])
    pixel_arc = np.concatenate([arc[::TREE_STEP_PX] for arc in arcs])
    meets, end_pairs = _meeting_branches(cracks, paths, owner)
    alone = _alone(cracks, paths, owner, meets, reach_px)
    samples = [np.arange(0, len(path) if not alone[index] else 0, SAMPLE_STEP_PX) for index, path in paths]
    sample_branch = np.repeat(np.arange(len(paths)), [len(s) for s in samples])
    sample_points = np.vstack([path[s] for (_, path), s in zip(paths, samples)])
    sample_arc = np.concatenate([arc[s] for arc, s in zip(arcs, samples)])
    along = _AlongCenterlines(owner, np.array([arc[-1] for arc in arcs]), end_pairs)
    distance = _nearest_allowed(cKDTree(pixels), sample_points, sample_branch, pixel_branch, owner, meets, reach_px,
                                detour=lambda rows, cols: along.way(sample_branch[rows], sample_arc[rows],
                                                                             pixel_branch[cols], pixel_arc[cols]))
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


def _meeting_branches(cracks: list[Crack], paths: list[tuple[int, np.ndarray]],
                      owner: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    """Keys ``a * n + b`` of the branches of one record whose ends meet (or face across a linked
    gap), and the meeting ends ``(2 * branch + end, ...)`` with their distance."""
    n = len(paths)
    touch = [max([TOUCH_PX] + [float(np.linalg.norm(g[0] - g[1])) + 1.0 for g in c.gaps]) for c in cracks]
    ends = np.vstack([path[[0, -1]] for _, path in paths])
    end_branch = np.repeat(np.arange(n), 2)
    keys, end_pairs = [], []
    for i, j in cKDTree(ends).query_pairs(max(touch)):
        a, b = end_branch[i], end_branch[j]
        gap = float(np.linalg.norm(ends[i] - ends[j]))
        if a != b and owner[a] == owner[b] and gap <= touch[owner[a]]:
            keys += [a * n + b, b * n + a]
            end_pairs.append((i, j, gap))
    return np.unique(np.asarray(keys, dtype=np.int64)), end_pairs


class _AlongCenterlines:
    """Shortest ways along a record's own centerlines: a graph whose nodes are the branch ends
    (``2 * branch`` and ``2 * branch + 1``), joined by each branch's length and by the ends that meet."""

    def __init__(self, owner: np.ndarray, lengths: np.ndarray, end_pairs: list[tuple[int, int, float]]):
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import dijkstra

        self.lengths = lengths
        n = 2 * len(owner)
        rows = list(range(0, n, 2)) + [i for i, _, _ in end_pairs]
        cols = list(range(1, n, 2)) + [j for _, j, _ in end_pairs]
        weights = list(np.maximum(lengths, 1e-6)) + [max(gap, 1e-6) for _, _, gap in end_pairs]
        graph = coo_matrix((weights, (rows, cols)), shape=(n, n)).tocsr()
        # paths are listed record by record, so a record's end nodes are one contiguous range
        self.tables: dict[int, tuple[int, np.ndarray]] = {}  # record -> (its first node, node-to-node ways)
        records, first = np.unique(owner, return_index=True)
        for record, lo, hi in zip(records, first, np.r_[first[1:], len(owner)]):
            if 3 <= hi - lo <= MAX_GRAPH_BRANCHES:  # fewer: every pair meets or is apart anyway
                self.tables[int(record)] = (2 * lo, dijkstra(graph[2 * lo : 2 * hi, 2 * lo : 2 * hi], directed=False))
        self.owner = owner

    def way(self, a: np.ndarray, s: np.ndarray, b: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Shortest way from arc position ``s`` of branch ``a`` to ``u`` of branch ``b`` (same record;
        infinite for records without a table: two branches, or more than ``MAX_GRAPH_BRANCHES``)."""
        way = np.full(len(a), np.inf)
        for record in np.unique(self.owner[a]):
            if int(record) not in self.tables:
                continue
            mine = np.flatnonzero(self.owner[a] == record)
            offset, table = self.tables[int(record)]
            na, nb = 2 * a[mine] - offset, 2 * b[mine] - offset
            to_a = (s[mine], self.lengths[a[mine]] - s[mine])  # from the point to each end of its branch
            to_b = (u[mine], self.lengths[b[mine]] - u[mine])
            way[mine] = np.min([to_a[i] + table[na + i, nb + j] + to_b[j] for i in (0, 1) for j in (0, 1)], axis=0)
        return way


def _nearest_allowed(tree: cKDTree, points: np.ndarray, point_branch: np.ndarray, pixel_branch: np.ndarray,
                     owner: np.ndarray, meet_keys: np.ndarray, reach_px: float,
                     detour: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Distance from each point to the nearest pixel it may count (inf: none within reach).
    ``detour(point_rows, pixel_indices)`` is the way along the centerlines to an own-record pixel."""
    n = len(owner)
    result = np.full(len(points), np.inf)
    todo = np.arange(len(points))
    k = FIRST_K
    while len(todo):
        k_now = min(k, tree.n, MAX_K)
        unresolved = []
        for chunk in np.array_split(todo, max(1, len(todo) * k_now // CHUNK_ENTRIES)):  # bounded memory
            d, idx = tree.query(points[chunk], k=k_now, distance_upper_bound=reach_px, workers=-1)  # every core: at the end of a site they are free
            d, idx = d.reshape(len(chunk), -1), idx.reshape(len(chunk), -1)
            found = np.isfinite(d)
            branch = np.where(found, pixel_branch[np.minimum(idx, tree.n - 1)], -1)
            mine = point_branch[chunk][:, None]
            other_record = owner[np.maximum(branch, 0)] != owner[mine]
            allowed = found & (branch != mine) & (other_record | ~np.isin(mine * n + branch, meet_keys))
            if detour is not None:  # own branches count across a cell, not further along the same crack
                own = np.nonzero(allowed & ~other_record)
                if len(own[0]):
                    way = detour(chunk[own[0]], np.minimum(idx[own], tree.n - 1))
                    allowed[own] = way > DETOUR * d[own]
            hit = allowed.any(axis=1)
            first = allowed.argmax(axis=1)
            result[chunk[hit]] = d[hit, first[hit]]
            # Not settled: every pixel seen is its own, and more may lie within reach.
            unresolved.append(chunk[~hit & found[:, -1]])
        todo = np.concatenate(unresolved) if k_now < min(tree.n, MAX_K) else todo[:0]
        k *= 2
    return result
