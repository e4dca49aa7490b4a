"""Crack spacing, and the AASHTO rule that grades closely spaced cracks by spacing as well as width."""

from __future__ import annotations

import dataclasses
import subprocess

import geopandas as gpd
import numpy as np
import pytest
import shapely

from cracks.measure.region import measure_cracks
from cracks.measure.spacing import crack_spacings
from cracks.standards import STANDARDS
from cracks.synthetic import draw_cracks, straight
from tests.inspect.test_pipeline import run_site
from tests.rasters import scene, write_geotiff


def test_parallel_cracks_are_spaced_by_their_distance_and_a_lone_crack_has_no_spacing():
    lines = [straight(20, y + 0.25, 380, y + 0.25, 3) for y in (40, 80, 120)]
    lone = [straight(20, 300.25, 380, 300.25, 3)]  # 180 px below the others: beyond the reach
    cracks = measure_cracks(draw_cracks((340, 400), lines + lone))
    spacing = crack_spacings(cracks, reach_px=100)
    assert len(cracks) == 4
    assert spacing[:3] == [pytest.approx(40, abs=1.5)] * 3
    assert spacing[3] is None


def test_a_crack_close_to_another_only_at_one_end_is_not_closely_spaced():
    # Two cracks diverging from a 6 px gap at the left to 120 px apart at the right.
    cracks = measure_cracks(draw_cracks((200, 400), [straight(20, 40.25, 380, 40.25, 3),
                                                     straight(20, 52.25, 380, 160.25, 3)]))
    nearest_at_the_left = 12 - 3
    spacing = crack_spacings(cracks, reach_px=200)
    assert all(s > 4 * nearest_at_the_left for s in spacing)  # the median along the crack, not the minimum


def test_a_crack_s_own_spurs_do_not_count_but_the_cells_of_a_network_do():
    spur = measure_cracks(draw_cracks((200, 400), [straight(20, 100.25, 380, 100.25, 3),
                                                   straight(200, 100.25, 200, 70.25, 3)]))
    assert len(spur) == 1 and crack_spacings(spur, reach_px=100) == [None]
    grid = [straight(20, y + 0.25, 260, y + 0.25, 3) for y in range(20, 261, 48)]
    grid += [straight(x + 0.25, 20, x + 0.25, 260, 3) for x in range(20, 261, 48)]
    network = measure_cracks(draw_cracks((280, 280), grid))
    assert len(network) == 1 and network[0].type == "network"
    assert crack_spacings(network, reach_px=100)[0] == pytest.approx(48, abs=8)  # the cell size


@pytest.mark.parametrize("between_px", [20, 80, 150])
def test_a_crack_with_several_spurs_is_not_spaced_from_itself(between_px):
    """Two spurs cut a crack's centerline into branches that do not all meet; the stretch past the
    second spur is the same crack further on (the way along it is the straight distance), not a
    neighbour: it measured a "spacing" of 144-272 px before the detour test."""
    lines = [straight(20, 100.25, 580, 100.25, 3)]
    lines += [straight(x, 100.25, x + 6, 70.25, 2) for x in (200, 200 + between_px)]
    cracks = measure_cracks(draw_cracks((200, 600), lines), min_length_px=0)
    assert len(cracks) == 1 and cracks[0].n_branches == 5
    assert crack_spacings(cracks, reach_px=300) == [None]


def test_spacing_agrees_with_exact_polyline_distances():
    rng = np.random.default_rng(5)
    lines = [straight(rng.uniform(10, 60), y + rng.uniform(-8, 8), rng.uniform(330, 390), y + rng.uniform(-8, 8), 3)
             for y in range(30, 380, 45)]
    cracks = measure_cracks(draw_cracks((400, 400), lines))
    assert len(cracks) == len(lines)
    fast = crack_spacings(cracks, reach_px=120)
    branches = [shapely.MultiLineString([p[:, ::-1] for p in c.paths if len(p) >= 2]) for c in cracks]
    for i, crack in enumerate(cracks):
        others = shapely.union_all([b for j, b in enumerate(branches) if j != i])
        points = shapely.points(np.vstack([p[::4, ::-1] for p in crack.paths]))
        exact = np.where((d := shapely.distance(points, others)) <= 120, d, np.inf)
        assert fast[i] == pytest.approx(float(np.median(exact)), abs=1.0)


@pytest.mark.parametrize("width_mm, spacing_m, expected", [
    (0.2, None, ("CS1", "width")), (0.2, 1.5, ("CS1", "width")), (0.2, 0.5, ("CS2", "spacing")),
    (0.2, 0.2, ("CS3", "spacing")), (1.5, 0.5, ("CS3", "width")), (0.5, 0.5, ("CS2", "width")),
])
def test_aashto_grades_by_the_worse_of_width_and_spacing(width_mm, spacing_m, expected):
    crack = measure_cracks(draw_cracks((60, 200), [straight(20, 30.25, 180, 30.25, 3)]))[0]
    crack = dataclasses.replace(crack, width_p95_mm=width_mm, spacing_m=spacing_m)
    assert STANDARDS["aashto-1130"].grade(crack) == expected
    assert STANDARDS["concrete"].grade(crack)[1] == "width"  # no spacing limits: width alone


def test_closely_spaced_hairline_cracks_make_a_bridge_deck_poor_under_aashto(tmp_path):
    # Hairline cracks (2 px at 0.1 mm per pixel: 0.2 mm, CS1 by width) 150 px = 15 mm apart.
    lines = [straight(20, y + 0.25, 580, y + 0.25, 2) for y in (100, 250, 400)]
    image, _ = scene(500, 600, lines)
    path = write_geotiff(tmp_path / "deck.tif", image, gsd_m=0.0001)
    result = run_site(path, tmp_path / "out", standard="aashto-1130")
    frame = gpd.read_file(result.outputs["gpkg"], layer="centerlines")
    assert len(frame) == 3
    assert np.allclose(frame["spacing_m"], 0.015, atol=0.001)
    assert (frame["width_p95_mm"] < 0.3 * 1.3).all()
    assert set(frame["severity"]) == {"CS3"} and set(frame["severity_basis"]) == {"spacing"}
    summary = result.summary
    assert summary.condition["rating"] == "poor" and "spaced < 0.3048 m" in summary.condition["rule"]
    assert summary.standard["spacing_limits_m"] == [0.3048, 0.9144]
    described = summary.standard["description"]
    assert "< 0.3 mm ≤ CS2" in described and "CS3 if spaced < 0.3048 m" in described
    page = subprocess.run(["pdftotext", "-raw", str(result.outputs["report"]), "-"], capture_output=True, text=True).stdout
    assert "CS3 if spaced < 0.3048 m" in " ".join(page.split())  # the report states the rule it applied
