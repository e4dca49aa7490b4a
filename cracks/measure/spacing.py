"""Crack spacing: how far each crack runs from its neighbours.

Why: the AASHTO bridge-element rules grade reinforced-concrete cracking by width *or* spacing —
fine cracks a hand's width apart (pattern or map cracking) are condition state 3 even when each
one is hairline. A width alone cannot see that.

The spacing of a crack is the **median**, over points along its centerline, of the distance to the
nearest centerline it does not touch: another crack record, or a branch of its own network that
does not meet the branch the point lies on (the opposite side of a cell of map cracking). The
median makes it the distance the crack keeps along most of its length: two cracks that come close
at one end only are not "closely spaced", and a crack's own spurs, which meet it, never count.
Branches of a record joined across a linked gap count as meeting (they are one crack). Points
with nothing within ``reach_px`` count as infinitely far; a record whose median is infinite has no
spacing (``None``: more than the reach apart).
"""

from __future__ import annotations

import numpy as np
import shapely

from cracks.measure.region import Crack

SAMPLE_STEP_PX = 4  # every 4th centerline pixel is a sample point
TOUCH_PX = 2.0  # branches closer than this meet (they share a junction pixel)


def crack_spacings(cracks: list[Crack], *, reach_px: float) -> list[float | None]:
    """Each crack's spacing in pixels (see the module docstring), in the order given."""
    branches: list[shapely.LineString] = []
    owner: list[int] = []
    samples: list[np.ndarray] = []
    for index, crack in enumerate(cracks):
        for path in crack.paths:
            if len(path) >= 2:
                branches.append(shapely.linestrings(path[:, ::-1]))
                owner.append(index)
                samples.append(path[::SAMPLE_STEP_PX, ::-1])
    if not branches:
        return [None] * len(cracks)
    tree = shapely.STRtree(branches)
    branch_array = np.array(branches, dtype=object)
    owner_array = np.asarray(owner)
    touch = [max(TOUCH_PX, max((float(np.linalg.norm(g[0] - g[1])) for g in c.gaps), default=0.0) + 1.0)
             for c in cracks]
    distances: list[list[np.ndarray]] = [[] for _ in cracks]
    for b, (branch, points) in enumerate(zip(branches, samples)):
        near = tree.query(branch, predicate="dwithin", distance=reach_px)
        near = near[near != b]
        own = owner_array[near] == owner[b]
        if own.any():  # a branch of the same record counts only where it does not meet this one
            meets = shapely.dwithin(branch, branch_array[near[own]], touch[owner[b]])
            near = np.concatenate([near[~own], near[own][~meets]])
        d = np.full(len(points), np.inf)
        if len(near):
            d = shapely.distance(shapely.points(points), shapely.union_all(branch_array[near]))
            d[d > reach_px] = np.inf
        distances[owner[b]].append(d)
    spacings: list[float | None] = []
    for d in distances:
        median = float(np.median(np.concatenate(d))) if d else float("inf")
        spacings.append(median if np.isfinite(median) else None)
    return spacings
