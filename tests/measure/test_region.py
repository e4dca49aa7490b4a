"""Measurement accuracy on generated cracks of known geometry."""

from __future__ import annotations

import numpy as np
import pytest

from cracks.measure.region import measure_cracks, orientation_class, severity_class
from cracks.synthetic import RenderedCrack, curved, draw_cracks, random_walk, straight

WIDTHS = [1, 2, 3, 5, 8, 12, 20]


def check(crack: RenderedCrack, shape=(420, 560)):
    found = measure_cracks(draw_cracks(shape, [crack]))
    assert len(found) == 1, f"expected one crack, got {len(found)}"
    c = found[0]
    assert abs(c.length_px - crack.length) <= 0.03 * crack.length, (c.length_px, crack.length)
    assert abs(c.width_mean_px - crack.width) <= max(0.5, 0.1 * crack.width), (c.width_mean_px, crack.width)
    return c


@pytest.mark.parametrize("width", WIDTHS)
def test_straight(width):
    c = check(straight(60, 150.25, 480, 150.25, width))
    assert c.orientation_deg < 1 or c.orientation_deg > 179
    assert c.type == "linear"


@pytest.mark.parametrize("width", WIDTHS)
def test_diagonal(width):
    c = check(straight(60, 60, 420, 340, width))
    assert abs(c.orientation_deg - 142.1) < 2  # y axis points up on a map: a down-right line is at ~142 degrees


@pytest.mark.parametrize("width", WIDTHS)
def test_curved(width):
    check(curved(280, 130, 420, width, bend=1.2))


@pytest.mark.parametrize("seed", range(4))
def test_irregular(seed):
    rng = np.random.default_rng(seed)
    check(random_walk(rng, (80, 210), 0.1, 380, float(rng.integers(1, 15)), step=12, wiggle=0.15))


@pytest.mark.parametrize("width", [2, 5, 9])
def test_branching_counts_every_arm_once(width):
    arms = [straight(80, 200.25, 280, 200.25, width), straight(280, 200.25, 480, 200.25, width),
            straight(280, 200.25, 380, 380, width)]
    truth = sum(a.length for a in arms)
    found = measure_cracks(draw_cracks((420, 560), arms))
    assert len(found) == 1
    assert abs(found[0].length_px - truth) <= 0.03 * truth
    assert found[0].n_branches == 3


def test_network_type():
    grid = [straight(40, y + 0.25, 500, y + 0.25, 3) for y in (100, 200, 300)]
    grid += [straight(x + 0.25, 80, x + 0.25, 320, 3) for x in (150, 350)]
    found = measure_cracks(draw_cracks((420, 560), grid))
    assert len(found) == 1 and found[0].type == "network"


def test_real_units_and_severity():
    found = measure_cracks(draw_cracks((200, 400), [straight(20, 100.25, 380, 100.25, 4)]), pixel_size_m=0.0001)
    c = found[0]
    assert c.length_m == pytest.approx(0.036, rel=0.03)
    assert c.width_mean_mm == pytest.approx(0.4, rel=0.1)
    assert c.severity == "medium"


def test_pixel_units_when_no_gsd():
    found = measure_cracks(draw_cracks((200, 400), [straight(20, 100.25, 380, 100.25, 4)]))
    assert found[0].length_m is None and found[0].severity == "unknown"


def test_short_blobs_are_not_cracks():
    mask = np.zeros((100, 100), bool)
    mask[50:53, 50:53] = True
    assert measure_cracks(mask) == []


def test_sub_pixel_width_from_probability():
    crack = straight(20, 100.25, 380, 100.25, 3)
    mask = draw_cracks((200, 400), [crack])
    probability = mask * 0.8  # a soft prediction: the crack covers 80 % of each pixel
    found = measure_cracks(mask, probability=probability)
    assert found[0].width_mean_px == pytest.approx(2.4, abs=0.15)


def test_classes():
    assert [severity_class(w) for w in (0.05, 0.1, 0.2, 0.5, 1.5)] == ["hairline", "fine", "fine", "medium", "wide"]
    assert severity_class(0.5, (1.0, 2.0, 3.0)) == "hairline"
    assert orientation_class(5, 0) == "longitudinal" and orientation_class(95, 0) == "transverse"
    assert orientation_class(45, 0) == "diagonal" and orientation_class(175, 0) == "longitudinal"


def test_small_gaps_are_bridged_into_one_crack():
    pieces = [straight(20, 100.25, 150, 100.25, 3), straight(154, 100.25, 300, 100.25, 3)]  # a 4 px gap
    mask = draw_cracks((200, 320), pieces)
    assert len(measure_cracks(mask, bridge_px=0)) == 2
    joined = measure_cracks(mask, bridge_px=2)
    assert len(joined) == 1
    assert joined[0].length_px == pytest.approx(sum(p.length for p in pieces), rel=0.03)  # gaps are not counted
    assert joined[0].width_mean_px == pytest.approx(3, abs=0.3)


def test_fast_dilation_equals_scipy():
    """Measurement groups and softens crack pixels with OpenCV's dilation: it must be scipy's."""
    from scipy import ndimage

    from cracks.measure.region import CROSS, dilate

    rng = np.random.default_rng(0)
    mask = rng.random((300, 200)) > 0.97
    mask[0, 0] = mask[-1, -1] = True  # the borders count as background in both
    y, x = np.ogrid[-2:3, -2:3]
    for footprint in (CROSS, x * x + y * y <= 4):
        assert np.array_equal(dilate(mask, footprint), ndimage.binary_dilation(mask, footprint))
        assert np.array_equal(dilate(mask[::2, 1::3], footprint), ndimage.binary_dilation(mask[::2, 1::3], footprint))


def test_specks_grouped_into_one_crack_do_not_break_measurement():
    """Two specks within the bridging distance form one region whose skeleton is two lone pixels:
    no centerline, so no crack, and no error (skan cannot graph lone pixels; seen on the sample)."""
    binary = np.zeros((11, 9), bool)
    binary[3, 5] = binary[7, 3] = True
    assert measure_cracks(binary, 0.001, bridge_px=2) == []
    binary[2:9, 1] = True  # with a real crack beside them the crack is still measured
    assert len(measure_cracks(binary, 0.001, bridge_px=2, min_length_px=3)) == 1
