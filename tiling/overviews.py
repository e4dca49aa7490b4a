"""Overviews of a masked raster, built by halving: each level the masked 2 x 2 mean of the one before.

GDAL builds the same (``average`` resampling over a raster with a mask: the mean of the valid
pixels of each 2 x 2 block, rounded half up, a pixel valid where any of its four is; each level
from the one before), but on a probability raster with a validity mask that made the COG copy
cost 0.95 CPU-s against 0.29 without overviews at 100 MP (``benchmarks/cog_benchmark.py``). Here
OpenCV's area resize makes them (0.23 CPU-s with reading and writing the levels), and the COG copy
only compresses: 0.65 CPU-s in all. A side of odd length ends in blocks of one pixel's depth (GDAL's COG drops that last
pixel and spreads the rest): the levels are ``ceil(side / 2)`` long.
"""

from __future__ import annotations

import cv2
import numpy as np

VALID_MEANS = np.array([0, 64, 128, 191, 255], np.uint8)  # OpenCV's mean of 0-4 valid pixels of 255 in a block


def halve(probability: np.ndarray, validity: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The next level of ``probability`` (HxW uint8, 0 where not valid) and ``validity`` (HxW
    uint8, 0 or 255, as GDAL's masks; ``None``: every pixel valid, and none is returned).

    Returns ``ceil(H / 2) x ceil(W / 2)`` arrays: the mean of each block's valid pixels, rounded
    half up (0 where none is valid), and 255 where any is valid. OpenCV's area resize halves a
    uint8 image as ``(sum + 2) // 4``: the right mean where all four pixels are valid, and 0
    where none is; it also gives, from the validity, how many are (0, 64, 128, 191 or 255). The
    blocks of a collar's edge, with one to three valid pixels, are redone."""
    h, w = probability.shape
    if validity is None:  # an odd side's last blocks: the edge repeated is the mean of the pixels there
        padded = cv2.copyMakeBorder(probability, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE) if h % 2 or w % 2 else probability
        return cv2.resize(padded, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA), None
    if h % 2 or w % 2:  # an odd side: its last blocks are one pixel deep, the missing ones without data
        probability = np.pad(probability, ((0, h % 2), (0, w % 2)))
        validity = np.pad(validity, ((0, h % 2), (0, w % 2)))
    size = (probability.shape[1] // 2, probability.shape[0] // 2)
    mean = cv2.resize(probability, size, interpolation=cv2.INTER_AREA)
    valid_mean = cv2.resize(validity, size, interpolation=cv2.INTER_AREA)
    edge = cv2.inRange(valid_mean, 1, 254)
    if cv2.countNonZero(edge):
        partial = np.nonzero(edge)
        y, x = partial[0] * 2, partial[1] * 2
        total = probability[y, x].astype(np.uint16) + probability[y + 1, x] + probability[y, x + 1] + probability[y + 1, x + 1]
        valid = np.searchsorted(VALID_MEANS, valid_mean[partial]).astype(np.uint16)
        mean[partial] = (2 * total + valid) // (2 * valid)  # floor(total / valid + 1/2)
    return mean, cv2.threshold(valid_mean, 0, 255, cv2.THRESH_BINARY)[1]


def level_sizes(width: int, height: int, block: int) -> list[tuple[int, int]]:
    """``(width, height)`` of each level, halving until both sides fit in one ``block`` (GDAL's COG rule)."""
    sizes = []
    while width > block or height > block:
        width, height = -(-width // 2), -(-height // 2)
        sizes.append((width, height))
    return sizes
