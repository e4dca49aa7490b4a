"""Change between surveys, with known truth: added, extended and unchanged cracks, a shift, errors."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import warnings

import cv2
import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from pyproj import CRS

from cracks.compare import compare, inspection_differences, write_comparison
from cracks.errors import CracksError
from cracks.inspect.summary import SiteSummary
from cracks.synthetic import random_walk, straight
from tests.inspect.test_pipeline import run_site
from tests.rasters import UTM, scene, write_geotiff
from tiling.ground import coordinates_are_ground_metres

SHIFT = (3, 5)  # rows, cols: the later survey is georeferenced a few millimetres off


# (origin, pixel size in the CRS's units) of 1 mm pixels on the ground, or near it
PLACES = {UTM: ((500_000.0, 5_000_000.0), 0.001), "EPSG:3857": ((500_000.0, 5_000_000.0), 0.001),
          "EPSG:2263": ((987_000.0, 212_000.0), 0.001 / 0.3048006)}  # Manhattan, US survey feet


def make_epochs(root, crs: str = UTM):
    origin, pixel = PLACES[crs]
    a = straight(30, 60.25, 300, 60.25, 4)
    b_old = straight(40, 200.25, 200, 200.25, 4)
    b_new = straight(40, 200.25, 420, 200.25, 4)  # 220 px longer
    c = random_walk(np.random.default_rng(5), (380, 110), 0.3, 180, 3.0, step=8, wiggle=0.05)  # a new crack
    old_image, _ = scene(320, 640, [a, b_old], seed=1)
    new_image, _ = scene(320, 640, [a, b_new, c], seed=1)
    old = write_geotiff(root / "old.tif", old_image[:300, :600], pixel, crs=crs, origin=origin)
    new = write_geotiff(root / "new.tif", new_image[SHIFT[0] : 300 + SHIFT[0], SHIFT[1] : 600 + SHIFT[1]], pixel, crs=crs,
                        origin=origin)
    old_site = run_site(old, root / "e1")
    new_site = run_site(new, root / "e2")
    return old_site.out_dir, new_site.out_dir, c.length * old_site.summary.gsd_m, root


@pytest.fixture(scope="module")
def epochs(tmp_path_factory):
    return make_epochs(tmp_path_factory.mktemp("epochs"))


def test_new_extended_and_unchanged_cracks_and_the_shift(epochs, tmp_path):
    old_dir, new_dir, c_length_m, _ = epochs
    result = compare(old_dir, new_dir)
    assert result.registration.shift_px == pytest.approx(SHIFT, abs=1.0)
    assert result.registration.correlation > max(0.4, result.registration.correlation_unshifted + 0.1)
    summary = result.to_dict()
    assert summary["counts"]["new"] == 1 and summary["counts"]["extended"] == 1 and summary["counts"]["gone"] == 0
    assert summary["counts"]["unchanged"] == 1
    assert summary["new_length_m"] == pytest.approx(c_length_m, rel=0.15)
    assert summary["extended_length_m"] == pytest.approx(0.22, rel=0.15)
    outputs = write_comparison(result, tmp_path / "changes")
    frame = gpd.read_file(outputs["gpkg"], layer="changes")
    assert set(frame["change"]) == {"new", "extended", "unchanged"} and (frame["part"] == "added").sum() == 1
    assert frame["new_confidence"].between(0.5, 1.0).all()  # the records' own: a new crack's is the one to check
    assert frame.loc[frame["change"] != "new", "old_confidence"].between(0.5, 1.0).all()
    assert json.loads(outputs["json"].read_text())["registration"]["source"] == "orthophoto"
    assert outputs["report"].read_bytes()[:5] == b"%PDF-"
    assert len(gpd.read_file(outputs["geojson"])) == len(frame)


def test_an_epoch_inspected_before_records_had_confidence_still_compares(epochs, tmp_path):
    import shutil

    old_dir, new_dir, _, _ = epochs
    older = tmp_path / "older"
    shutil.copytree(old_dir, older)
    layers = {name: gpd.read_file(older / "cracks.gpkg", layer=name) for name in ("centerlines", "site")}
    layers["centerlines"] = layers["centerlines"].drop(columns="confidence")
    (older / "cracks.gpkg").unlink()
    for name, layer in layers.items():
        layer.to_file(older / "cracks.gpkg", layer=name, engine="pyogrio")
    changes = compare(older, new_dir).changes
    assert changes["old_confidence"].isna().all() and changes["new_confidence"].notna().all()


def test_the_same_orthophoto_with_other_tiles_is_unchanged(epochs, tmp_path):
    old_dir, _, _, root = epochs
    again = run_site(root / "old.tif", tmp_path / "retiled", tile=256, overlap=64)
    result = compare(old_dir, again.out_dir)
    assert set(result.changes["change"]) == {"unchanged"}
    assert np.hypot(*result.registration.shift_px) < 0.5


def test_epochs_inspected_differently_say_so(epochs, tmp_path):
    old_dir, new_dir, _, root = epochs
    assert compare(old_dir, new_dir).inspection_differs == []
    stricter = run_site(root / "new.tif", tmp_path / "stricter", threshold=0.7)
    result = compare(old_dir, stricter.out_dir)
    assert result.inspection_differs == ["threshold"] and not result.models_differ
    outputs = write_comparison(result, tmp_path / "changes")
    assert json.loads(outputs["json"].read_text())["inspection_differs"] == ["threshold"]
    page = subprocess.run(["pdftotext", str(outputs["report"]), "-"], capture_output=True, text=True).stdout
    assert "inspected differently (threshold)" in " ".join(page.split())
    linked_further = run_site(root / "new.tif", tmp_path / "linked", link_gap_mm=60.0)
    assert compare(old_dir, linked_further.out_dir).inspection_differs == ["record rules"]


def test_epochs_of_two_models_say_so_by_their_weights(epochs):
    """``models/default`` is replaced when a better model ships: the same folder and even the same
    training date must not hide that the weights changed between surveys."""
    old_dir, new_dir, _, _ = epochs
    old, new = (SiteSummary.read(folder / "summary.json") for folder in (old_dir, new_dir))
    hashed = {"weights_sha256": "a" * 64}
    old, new = (dataclasses.replace(s, model={**s.model, **hashed}) for s in (old, new))
    assert inspection_differences(old, new) == []
    other = dataclasses.replace(new, model={**new.model, "weights_sha256": "b" * 64})
    assert old.model["trained"] == other.model["trained"] and inspection_differences(old, other) == ["model"]
    # an epoch summarized before the hash was recorded: the training date decides
    legacy = dataclasses.replace(old, model={k: v for k, v in old.model.items() if k != "weights_sha256"})
    assert inspection_differences(legacy, other) == []
    retrained = dataclasses.replace(other, model={**other.model, "trained": "2030-01-01T00:00:00+00:00"})
    assert inspection_differences(legacy, retrained) == ["model"]


def test_a_softer_epoch_says_so(epochs, tmp_path):
    """Blur widens what the model marks: a re-flight with a soft camera must not read as cracks
    widening without a word."""
    old_dir, _, _, root = epochs
    with rasterio.open(root / "new.tif") as src:
        profile, bands = src.profile, src.read()
    soft = tmp_path / "soft.tif"
    with rasterio.open(soft, "w", **profile) as dst:
        dst.write(np.stack([cv2.GaussianBlur(band, (0, 0), 1.5) for band in bands]))
    with pytest.warns(UserWarning, match="the imagery is soft"):
        soft_site = run_site(soft, tmp_path / "soft")
    assert compare(old_dir, soft_site.out_dir).inspection_differs == ["sharpness"]
    sharp_again = run_site(root / "new.tif", tmp_path / "sharp")
    assert sharp_again.summary.edge_rise_px < 2.0 < soft_site.summary.edge_rise_px  # both measured
    assert compare(old_dir, sharp_again.out_dir).inspection_differs == []


@pytest.mark.parametrize("crs", ["EPSG:3857", "EPSG:2263"])
def test_epochs_in_a_crs_without_ground_metres_are_matched_on_the_ground(tmp_path, crs):
    """Web Mercator's stretched metres, US survey feet, degrees: matched in the site's UTM zone,
    figures in ground metres, the layers written back in the site's CRS."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        old_dir, new_dir, c_length_m, _ = make_epochs(tmp_path, crs=crs)
    gsd = json.loads((old_dir / "summary.json").read_text())["gsd_m"]
    result = compare(old_dir, new_dir)
    summary = result.to_dict()
    assert summary["counts"]["new"] == 1 and summary["counts"]["extended"] == 1 and summary["counts"]["unchanged"] == 1
    assert summary["new_length_m"] == pytest.approx(c_length_m, rel=0.15)
    assert summary["extended_length_m"] == pytest.approx(220 * gsd, rel=0.15)
    east, north = result.registration.shift_m  # the new epoch sits SHIFT px down and right of the old one
    assert east == pytest.approx(SHIFT[1] * gsd, rel=0.25) and north == pytest.approx(-SHIFT[0] * gsd, rel=0.25)
    assert result.changes.crs.equals(gpd.read_file(old_dir / "cracks.gpkg", layer="centerlines").crs)


@pytest.mark.parametrize(("crs", "map_scale", "ground"), [
    (UTM, 1.0, True),  # a mapping grid: its metres are ground metres
    ("EPSG:3857", 0.64, False),  # Web Mercator at 50 degrees: stretched metres
    ("EPSG:2263", 1.0, False),  # US survey feet
    ("EPSG:4326", 1.0, False),  # degrees
])
def test_the_crs_to_match_in_is_the_sites_only_where_it_counts_ground_metres(crs, map_scale, ground):
    assert coordinates_are_ground_metres(CRS.from_user_input(crs), map_scale) is ground


def test_sites_that_do_not_overlap_or_are_not_georeferenced_are_refused(epochs, tmp_path):
    old_dir, _, _, _ = epochs
    image, _ = scene(100, 100, [straight(10, 50.25, 90, 50.25, 3)])
    far = write_geotiff(tmp_path / "far.tif", image)
    with rasterio.open(far, "r+") as dst:
        dst.transform = rasterio.transform.from_origin(600_000, 5_000_000, 0.001, 0.001)
    with pytest.raises(CracksError, match="does not overlap"):
        compare(old_dir, run_site(far, tmp_path / "far").out_dir)
    plain = write_geotiff(tmp_path / "plain.tif", image, crs=None)
    with pytest.warns(UserWarning):
        plain_dir = run_site(plain, tmp_path / "plain", gsd_mm=1.0).out_dir
    with pytest.raises(CracksError, match="not georeferenced"):
        compare(old_dir, plain_dir)
    with pytest.raises(CracksError, match="not an inspection output folder"):
        compare(old_dir, tmp_path)



def widened_by_the_model(tiles: list[np.ndarray]) -> list[np.ndarray]:
    """Dark pixels grown by 3 px on each side: like a CNN, a crack comes out at least a few pixels
    wide whatever the pixel size, so on coarser imagery the same crack reads wider in mm."""
    import cv2

    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    return [cv2.dilate((t.mean(axis=-1) < 90).astype(np.uint8), disk).astype(np.float32) for t in tiles]


def coarser_epoch(root, name: str, cracks, factor: int = 2):
    """The scene shifted by SHIFT (1 mm pixels), then averaged to ``factor`` mm pixels (600 px
    square at 1 mm: no side under the 256 px that thin rasters are wrapped out to)."""
    import cv2

    image, _ = scene(620, 640, cracks, seed=1)
    shifted = image[SHIFT[0]: 600 + SHIFT[0], SHIFT[1]: 600 + SHIFT[1]]
    small = cv2.resize(shifted, (600 // factor, 600 // factor), interpolation=cv2.INTER_AREA)
    path = write_geotiff(root / f"{name}.tif", small, 0.001 * factor)
    return run_site(path, root / name, predictor=widened_by_the_model).out_dir


@pytest.fixture(scope="module")
def old_at_1mm(tmp_path_factory):
    root = tmp_path_factory.mktemp("pixel-sizes")
    image, _ = scene(620, 640, [straight(30, 60.25, 300, 60.25, 4), straight(40, 200.25, 420, 200.25, 4)], seed=1)
    path = write_geotiff(root / "old.tif", image[:600, :600], 0.001)
    return run_site(path, root / "old", predictor=widened_by_the_model).out_dir, root


def test_epochs_at_different_pixel_sizes_are_registered_and_do_not_widen(old_at_1mm):
    """The same cracks flown at 2 mm per pixel: the shift is found on a common grid (the two
    epochs' own pixel grids gave a 0.39 m "shift" on the sample), and cracks that read 10 mm wide at
    1 mm and 16 mm at 2 mm (the model's few pixels either way) are unchanged, not widened."""
    old_dir, root = old_at_1mm
    new_dir = coarser_epoch(root, "same", [straight(30, 60.25, 300, 60.25, 4), straight(40, 200.25, 420, 200.25, 4)])
    result = compare(old_dir, new_dir)
    east, north = result.registration.shift_m
    assert east == pytest.approx(SHIFT[1] * 0.001, abs=0.001) and north == pytest.approx(-SHIFT[0] * 0.001, abs=0.001)
    frame = result.changes
    assert set(frame["change"]) == {"unchanged"} and len(frame) == 2
    assert (frame["width_growth_mm"] > 2.5 * 2).all()  # wider in mm by more than the noise: the old rule's "widened"
    assert result.inspection_differs == ["pixel size"]
    assert result.to_dict()["pixel_size_mm"] == {"old": 1.0, "new": 2.0}


def test_a_crack_that_widened_is_found_at_another_pixel_size(old_at_1mm):
    old_dir, root = old_at_1mm
    new_dir = coarser_epoch(root, "wider", [straight(30, 60.25, 300, 60.25, 4), straight(40, 200.25, 420, 200.25, 20)])
    frame = compare(old_dir, new_dir).changes.sort_values("old_id")
    assert list(frame["change"]) == ["unchanged", "widened"]


def test_a_large_overlap_is_registered_coarse_then_fine(epochs, monkeypatch):
    """An overlap wider than the registration window is registered whole at coarser cells first
    (a drone survey without RTK is off by metres), then refined at the pixel size."""
    import cracks.compare

    old_dir, new_dir, _, _ = epochs
    monkeypatch.setattr(cracks.compare, "MAX_REGISTRATION_PX", 128)  # 600 px wide: two steps, 4 mm then 1 mm
    assert compare(old_dir, new_dir).registration.shift_px == pytest.approx(SHIFT, abs=0.5)


def test_an_epoch_in_another_crs_is_matched_in_the_old_ones(epochs, tmp_path):
    """The new survey delivered in Web Mercator, the old in UTM: its footprint, cracks and
    orthophoto are brought into the old epoch's CRS (its footprint was labelled with the old CRS
    without being moved, and the sites "did not overlap")."""
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    old_dir, _, c_length_m, root = epochs
    with rasterio.open(root / "new.tif") as src:
        transform, width, height = calculate_default_transform(src.crs, "EPSG:3857", src.width, src.height, *src.bounds)
        profile = {**src.profile, "crs": "EPSG:3857", "transform": transform, "width": width, "height": height}
        with rasterio.open(tmp_path / "new-3857.tif", "w", **profile) as dst:
            for band in range(1, src.count + 1):
                reproject(rasterio.band(src, band), rasterio.band(dst, band), resampling=Resampling.bilinear)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Web Mercator's map scale, said in one line
        new_dir = run_site(tmp_path / "new-3857.tif", tmp_path / "e2").out_dir
    result = compare(old_dir, new_dir)
    east, north = result.registration.shift_m
    assert east == pytest.approx(SHIFT[1] * 0.001, abs=0.0015) and north == pytest.approx(-SHIFT[0] * 0.001, abs=0.0015)
    counts = result.to_dict()["counts"]
    assert counts["new"] == 1 and counts["extended"] == 1 and counts["unchanged"] == 1 and counts["gone"] == 0
    assert result.changes.crs.equals(gpd.read_file(old_dir / "cracks.gpkg", layer="centerlines").crs)


def test_cracks_where_only_one_survey_has_data_are_outside_not_new_or_gone(tmp_path):
    """A re-survey of the left half of a site: the right half's cracks were not seen again, not
    repaired; a crack crossing the edge did not grow where the other survey has no data."""
    cracks = [straight(30, 60.25, 250, 60.25, 4),  # inside both
              straight(380, 150.25, 570, 150.25, 4),  # only in the whole site
              straight(200, 240.25, 450, 240.25, 4)]  # crosses the half's edge (x = 320), mostly outside
    image, _ = scene(300, 600, cracks, seed=3)
    whole = run_site(write_geotiff(tmp_path / "whole.tif", image), tmp_path / "whole").out_dir
    half = run_site(write_geotiff(tmp_path / "half.tif", image[:, :320]), tmp_path / "half").out_dir
    forward = compare(whole, half)
    assert forward.to_dict()["counts"] == {"new": 0, "gone": 0, "extended": 0, "widened": 0, "unchanged": 2, "outside": 2}
    assert forward.to_dict()["compared_area_m2"] == pytest.approx(0.300 * 0.320, rel=0.02)
    backward = compare(half, whole).to_dict()["counts"]
    assert backward["new"] == 0 and backward["extended"] == 0 and backward["gone"] == 0
    assert backward["outside"] == 2 and backward["unchanged"] == 1  # the edge-crossing crack lies mostly outside


def test_an_orthophoto_replaced_by_the_next_flight_is_not_used_to_register_the_old_epoch(epochs, tmp_path):
    """Surveys overwrite ``site.tif`` with each flight: the old epoch's summary then names the new
    orthophoto, and correlating it with itself found no shift. Its sha256 no longer matches, so the
    two epochs' own masks are registered instead."""
    import shutil

    _, _, _, root = epochs
    site = tmp_path / "site.tif"
    shutil.copy(root / "old.tif", site)
    old_dir = run_site(site, tmp_path / "first").out_dir
    shutil.copy(root / "new.tif", site)  # the next flight, SHIFT px off, at the same path
    new_dir = run_site(site, tmp_path / "second").out_dir
    result = compare(old_dir, new_dir)
    assert result.registration.source == "mask"
    assert result.registration.shift_px == pytest.approx(SHIFT, abs=1.0)
    counts = result.to_dict()["counts"]
    assert counts["new"] == 1 and counts["extended"] == 1 and counts["gone"] == 0


def test_a_crack_free_site_compared_with_itself_writes_every_output(tmp_path):
    """A sound deck flown twice: nothing to list, and the report is still written (its table of
    largest changes failed on the empty frame's object dtype)."""
    blank, _ = scene(300, 600, [], seed=1)
    site = run_site(write_geotiff(tmp_path / "deck.tif", blank), tmp_path / "deck").out_dir
    result = compare(site, site)
    assert set(result.to_dict()["counts"].values()) == {0}
    outputs = write_comparison(result, tmp_path / "changes")
    assert outputs["report"].read_bytes()[:5] == b"%PDF-" and len(gpd.read_file(outputs["gpkg"], layer="changes")) == 0


def test_an_other_scene_at_the_same_coordinates_is_said_to_be_uncertain(epochs, tmp_path):
    """Two surveys that do not show the same ground (a mislabelled folder, a wrong CRS) still get a
    "shift" from phase correlation; its correlation after the shift says it is not a match."""
    old_dir, _, _, _ = epochs
    other, _ = scene(300, 600, [random_walk(np.random.default_rng(9), (300, 50), 1.2, 250, 3.0, step=8, wiggle=0.05)],
                     seed=7)
    other_dir = run_site(write_geotiff(tmp_path / "other.tif", other), tmp_path / "other").out_dir
    with pytest.warns(UserWarning, match="registration uncertain: the epochs correlate"):
        result = compare(old_dir, other_dir)
    assert result.registration.correlation < 0.2
    outputs = write_comparison(result, tmp_path / "changes")
    assert json.loads(outputs["json"].read_text())["registration_doubt"].startswith("the epochs correlate")
    page = subprocess.run(["pdftotext", str(outputs["report"]), "-"], capture_output=True, text=True).stdout
    assert "Registration uncertain" in page
    assert compare(old_dir, old_dir).registration_doubt is None


def test_a_shift_that_is_much_of_the_site_is_doubted():
    """Phase correlation always finds a shift; one over a quarter of the ground both epochs cover is
    no georeferencing error (the sample turned half round "registered" 0.84 m off on 2.9 x 0.96 m)."""
    from cracks.compare import Registration, registration_doubt

    area = shapely.box(0, 0, 2.88, 0.96)
    def registration(east, north, correlation=0.9):
        return Registration((0, 0), (east, north), (east, north), correlation, 0.0, "orthophoto")
    assert registration_doubt(registration(0.036, -0.020), area) is None  # the 4 cm re-flight
    assert "57% of the compared area" in registration_doubt(registration(0.838, -0.551), area)
    assert "correlate 0.05" in registration_doubt(registration(0.0, 0.0, correlation=0.05), area)
