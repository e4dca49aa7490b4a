"""The mask scan's labelling of one strip against SciPy's definition of the same thing."""

import numpy as np
import pytest
from scipy import ndimage

from cracks.measure.raster import _label_strip


@pytest.mark.parametrize("density", [0.0, 0.002, 0.05, 0.4])
def test_strip_labels_boxes_and_seeds_are_scipys(density):
    """Regions 8-connected as ``ndimage.label``; each region's box that of ``find_objects``, its
    seed its first pixel in raster order; the crack pixels listed in raster order."""
    rng = np.random.default_rng(7)
    binary = rng.random((61, 203)) < density
    binary[30, 20:150] = density > 0  # one long region across most of the strip
    strip = _label_strip(binary)
    expected, n = ndimage.label(binary, structure=np.ones((3, 3)))
    assert strip.labels.dtype == np.uint32 and strip.labels.shape == binary.shape
    assert len(strip.boxes) == len(strip.seeds) == n == strip.labels.max()
    ours_to_scipy = {}
    for number in range(1, n + 1):
        pixels = strip.labels == number
        (theirs,) = np.unique(expected[pixels])
        assert (expected == theirs).sum() == pixels.sum()  # the same region, numbered otherwise
        ours_to_scipy[number] = theirs
        rows, cols = ndimage.find_objects(expected)[theirs - 1]
        assert strip.boxes[number - 1].tolist() == [rows.start, cols.start, rows.stop, cols.stop]
        assert tuple(strip.seeds[number - 1]) == tuple(np.argwhere(pixels)[0])
    assert len(set(ours_to_scipy.values())) == n
    assert strip.points.tolist() == np.argwhere(binary).tolist()
