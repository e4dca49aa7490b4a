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
    degrees = np.diff(graph.indptr)
    path_indptr, path_indices = _paths(graph.indptr, graph.indices, degrees)
    return SkeletonGraph(coordinates, degrees, np.asarray(path_indptr, dtype=np.intp),
                         np.asarray(path_indices, dtype=np.intp))


def _mst_junctions(graph: sparse.csr_matrix) -> sparse.csr_matrix:
    """Inside clusters of junction pixels (degree > 2) keep only a minimum spanning tree, so a
    blob of junction pixels is not a tangle of tiny junction-to-junction paths (as skan does)."""
    degrees = np.asarray(graph.astype(bool).astype(int).sum(axis=0)).ravel()
    junction = degrees >= 3
    rows = np.repeat(np.arange(graph.shape[0]), np.diff(graph.indptr))
    between_junctions = junction[rows] & junction[graph.indices]  # edges with a junction at both ends
    inner = sparse.csr_matrix((np.where(between_junctions, graph.data, 0), graph.indices.copy(), graph.indptr.copy()),
                              shape=graph.shape)
    inner.eliminate_zeros()
    mst = csgraph.minimum_spanning_tree(inner)
    non_tree_edges = inner - (mst + mst.T)
    return graph - non_tree_edges


def _reverse_edges(indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """For every stored edge ``a -> b`` of a symmetric CSR graph, the position of ``b -> a``."""
    n = len(indptr) - 1
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    key = rows * n + indices
    order = np.argsort(key, kind="stable")
    return order[np.searchsorted(key, indices.astype(np.int64) * n + rows, sorter=order)]


def _paths(indptr_array: np.ndarray, indices_array: np.ndarray, degrees_array: np.ndarray) -> tuple[list[int], list[int]]:
    """Walk every path from each tip and junction, then the isolated cycles (skan's order).

    Edges are marked walked by their position in the CSR arrays (and their reverse's), so each
    step of the pure-Python walk is a few list reads rather than tuple hashing."""
    reverse = _reverse_edges(indptr_array, indices_array).tolist()
    indptr, indices, degrees = indptr_array.tolist(), indices_array.tolist(), degrees_array.tolist()
    walked = bytearray(len(indices))
    path_indptr, path_indices = [0], []

    def walk(node: int, edge: int) -> None:
        start = node
        path_indices.append(node)
        while not walked[edge]:
            walked[edge] = walked[reverse[edge]] = 1
            neighbor = indices[edge]
            path_indices.append(neighbor)
            if degrees[neighbor] != 2 or neighbor == start:
                break
            edge = indptr[neighbor]  # a path pixel has two neighbours: go on to the one we did not come from
            if indices[edge] == node:
                edge += 1
            node = neighbor
        path_indptr.append(len(path_indices))

    for node, degree in enumerate(degrees):
        if degree > 2 or degree == 1:
            for edge in range(indptr[node], indptr[node + 1]):
                if not walked[edge]:
                    walk(node, edge)
    for node, degree in enumerate(degrees):
        if degree > 0 and not walked[indptr[node]]:
            walk(node, indptr[node])
    return path_indptr, path_indices
