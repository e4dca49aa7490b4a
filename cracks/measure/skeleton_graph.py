"""The path graph of a skeleton image: skan's decomposition, in numpy and scipy alone.

A skeleton is cut into *paths*: maximal runs of pixels between nodes whose degree is not 2
(tips and junctions), plus isolated cycles. This module reproduces ``skan.Skeleton`` and the
``branch_type`` / ``branch_distance`` columns of ``skan.summarize`` (skan 0.13: the same pixel
graph, the same minimum spanning tree inside junction clusters, the same walk order), tested
equal on generated skeletons. It exists because skan compiles its numba kernels in every new
process (about 4 s, plus 2 s of imports) before the first crack is measured, and builds a pandas
table per region; measuring a site calls it for every crack.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from skimage.graph import pixel_graph

TIP_TIP, TIP_JUNCTION, JUNCTION_JUNCTION, CYCLE = 0, 1, 2, 3


@dataclass
class SkeletonGraph:
    """Pixels (``coordinates``: N x 2 int rows and columns), their ``degrees`` in the pixel
    graph, and the paths (node indices, ``path_indptr`` / ``path_indices`` as in CSR)."""

    coordinates: np.ndarray
    degrees: np.ndarray
    path_indptr: np.ndarray
    path_indices: np.ndarray

    @property
    def n_paths(self) -> int:
        return len(self.path_indptr) - 1

    def path(self, index: int) -> np.ndarray:
        """The pixel (node) indices of path ``index``, ends included."""
        return self.path_indices[self.path_indptr[index] : self.path_indptr[index + 1]]

    def path_coordinates(self, index: int) -> np.ndarray:
        return self.coordinates[self.path(index)]

    def branch_distance(self) -> np.ndarray:
        """Length of every path: the sum of its pixel steps (1 or sqrt 2)."""
        steps = np.linalg.norm(np.diff(self.coordinates[self.path_indices].astype(float), axis=0), axis=1)
        total = np.concatenate([[0.0], np.cumsum(steps)])
        starts, stops = self.path_indptr[:-1], self.path_indptr[1:] - 1
        return total[stops] - total[starts]

    def branch_type(self) -> np.ndarray:
        """0 tip-tip, 1 tip-junction, 2 junction-junction, 3 cycle (skan's codes)."""
        src = self.path_indices[self.path_indptr[:-1]]
        dst = self.path_indices[self.path_indptr[1:] - 1]
        kind = np.full(len(src), JUNCTION_JUNCTION)
        tip_src, tip_dst = self.degrees[src] == 1, self.degrees[dst] == 1
        kind[tip_src | tip_dst] = TIP_JUNCTION
        kind[tip_src & tip_dst] = TIP_TIP
        kind[src == dst] = CYCLE
        return kind


def skeleton_graph(skeleton_image: np.ndarray) -> SkeletonGraph:
    """The path graph of a 2-D skeleton (any nonzero pixel is skeleton; 8-connected)."""
    image = np.asarray(skeleton_image).astype(bool)
    graph, pixel_indices = pixel_graph(image, mask=image, connectivity=image.ndim)
    graph = _mst_junctions(graph.tocsr())
    coordinates = np.transpose(np.unravel_index(pixel_indices, image.shape))
    indptr, indices = graph.indptr, graph.indices
    degrees = np.diff(indptr)
    path_indptr, path_indices = _paths(indptr.tolist(), indices.tolist(), degrees.tolist())
    return SkeletonGraph(coordinates, degrees, np.asarray(path_indptr, dtype=np.intp),
                         np.asarray(path_indices, dtype=np.intp))


def _mst_junctions(graph: sparse.csr_matrix) -> sparse.csr_matrix:
    """Inside clusters of junction pixels (degree > 2) keep only a minimum spanning tree, so a
    blob of junction pixels is not a tangle of tiny junction-to-junction paths (as skan does)."""
    csc = graph.tocsc()
    degrees = np.asarray(graph.astype(bool).astype(int).sum(axis=0)).ravel()
    non_junction = np.flatnonzero(degrees < 3)
    for start, end in zip(csc.indptr[non_junction], csc.indptr[non_junction + 1]):
        csc.data[start:end] = 0
    csr = csc.tocsr()
    for start, end in zip(csr.indptr[non_junction], csr.indptr[non_junction + 1]):
        csr.data[start:end] = 0
    csr.eliminate_zeros()
    mst = csgraph.minimum_spanning_tree(csr)
    non_tree_edges = csr - (mst + mst.T)
    return graph - non_tree_edges


def _paths(indptr: list[int], indices: list[int], degrees: list[int]) -> tuple[list[int], list[int]]:
    """Walk every path from each tip and junction, then the isolated cycles (skan's order)."""
    visited: set[tuple[int, int]] = set()
    path_indptr, path_indices = [0], []

    def walk(node: int, neighbor: int) -> None:
        start = node
        path_indices.append(node)
        while (node, neighbor) not in visited:
            visited.add((node, neighbor))
            visited.add((neighbor, node))
            path_indices.append(neighbor)
            if degrees[neighbor] != 2 or neighbor == start:
                break
            n1, n2 = indices[indptr[neighbor]], indices[indptr[neighbor] + 1]
            node, neighbor = neighbor, (n1 if n1 != node else n2)
        path_indptr.append(len(path_indices))

    for node, degree in enumerate(degrees):
        if degree > 2 or degree == 1:
            for neighbor in indices[indptr[node] : indptr[node + 1]]:
                if (node, neighbor) not in visited:
                    walk(node, neighbor)
    for node, degree in enumerate(degrees):
        if degree > 0:
            neighbor = indices[indptr[node]]
            if (node, neighbor) not in visited:
                walk(node, neighbor)
    return path_indptr, path_indices
