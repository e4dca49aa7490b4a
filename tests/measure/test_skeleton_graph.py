"""The skeleton path graph equals skan's (the reference it replaces) on generated skeletons."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage.morphology import skeletonize

from cracks.measure.skeleton_graph import CYCLE, TIP_TIP, skeleton_graph


def skeletons(n: int):
    rng = np.random.default_rng(7)
    for _ in range(n):
        image = np.zeros((96, 96), bool)
        for _ in range(rng.integers(1, 6)):  # random walks: branches, crossings, loops
            r, c = rng.integers(5, 91, size=2)
            for _ in range(rng.integers(10, 120)):
                r, c = np.clip([r + rng.integers(-1, 2), c + rng.integers(-1, 2)], 1, 94)
                image[r, c] = True
        image = ndimage.binary_dilation(image, iterations=int(rng.integers(0, 3)))
        yield skeletonize(image)


def test_paths_types_and_lengths_equal_skan():
    skan = pytest.importorskip("skan")
    compared = 0
    for image in skeletons(60):
        if np.count_nonzero(image) < 2:
            continue
        ours = skeleton_graph(image)
        theirs = skan.Skeleton(image)
        table = skan.summarize(theirs, separator="_")
        np.testing.assert_array_equal(ours.coordinates, theirs.coordinates)
        np.testing.assert_array_equal(ours.degrees, theirs.degrees)
        np.testing.assert_array_equal(ours.path_indptr, theirs.paths.indptr)
        np.testing.assert_array_equal(ours.path_indices, theirs.paths.indices)
        np.testing.assert_array_equal(ours.branch_type(), table["branch_type"].to_numpy())
        np.testing.assert_allclose(ours.branch_distance(), table["branch_distance"].to_numpy(), rtol=1e-12)
        compared += 1
    assert compared > 40


def test_a_line_is_one_tip_to_tip_path_and_a_ring_one_cycle():
    line = np.zeros((9, 20), bool)
    line[4, 2:18] = True
    graph = skeleton_graph(line)
    assert graph.n_paths == 1 and graph.branch_type()[0] == TIP_TIP
    assert graph.branch_distance()[0] == pytest.approx(15.0)
    ring = np.zeros((12, 12), bool)
    ring[2, 3:9] = ring[9, 3:9] = ring[3:9, 2] = ring[3:9, 9] = True
    graph = skeleton_graph(ring)
    assert graph.n_paths == 1 and graph.branch_type()[0] == CYCLE
    assert graph.branch_distance()[0] == pytest.approx(20 + 4 * np.sqrt(2))
