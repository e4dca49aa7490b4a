"""The inspection pipeline: tiling, stitching, resume, exports, reports and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
from shapely.geometry import box

from cracks.config import InspectConfig
from cracks.errors import InputError
from cracks.hashing import file_sha256
from cracks.inspect.pipeline import SiteResult, inspect_site, plan_site, segment_site
from cracks.synthetic import random_walk, straight
from tests.rasters import CountingPredictor, dark_pixel_predictor, scene, write_geotiff
from tiling.blend import axis_weights, blend_weights
from tiling.windows import plan_windows

REPO = Path(__file__).resolve().parents[2]


class FakeMeta:
    threshold = 0.5
    normalization = {"mean": [0.5] * 3, "std": [0.5] * 3}
    arch, encoder, created, metrics = "oracle", None, "2026-01-01", {}
    width_floor_px = None


class FakeModel:
    """Stands in for a LoadedModel where tests use the dark-pixel predictor."""
    meta = FakeMeta()
    path = Path(tempfile.mkdtemp(prefix="oracle-model-"))
    (path / "model.json").write_text('{"arch": "oracle"}')


def run_site(path: Path, out: Path, predictor=dark_pixel_predictor, model=None, **overrides) -> SiteResult:
    config = InspectConfig(inputs=[path], out=out, tile=overrides.pop("tile", 128), overlap=overrides.pop("overlap", 32), **overrides)
    return inspect_site(path, config, model or FakeModel(), predictor, progress=False)


@pytest.fixture
def long_crack_site(tmp_path) -> tuple[Path, float]:
    """A 2 mm-wide crack meandering across many 128 px tiles, at 0.5 mm per pixel."""
    crack = random_walk(np.random.default_rng(2), (20, 150), 0.0, 560, 4.0, step=10, wiggle=0.08)
    assert crack.points.min() > 10 and crack.points[:, 0].max() < 610 and crack.points[:, 1].max() < 290
    image, _ = scene(300, 620, [crack])
    return write_geotiff(tmp_path / "road.tif", image, gsd_m=0.0005), crack.length


@pytest.mark.parametrize("length", [1025, 1100, 2880, 5000, 9999, 10000, 20000, 20001])
@pytest.mark.parametrize("tile,overlap", [(1024, 128), (512, 128), (256, 32)])
def test_windows_cover_raster_exactly_with_fewest_tiles(length, tile, overlap):
    grid = plan_windows(length, 700, tile, overlap)
    size, starts = grid.window_width, grid.col_starts
    assert starts[0] == 0 and starts[-1] + size == length  # exact cover, nothing hangs over the edge
    assert size <= tile and size % 32 == 0  # no padding inside the model
    assert all(size - (b - a) >= overlap for a, b in zip(starts, starts[1:]))  # overlap kept everywhere
    fewer = len(starts) - 1
    assert fewer * tile - (fewer - 1) * overlap < length  # one tile fewer could not cover the raster
    assert grid.model_pixels == len(grid.row_starts) * len(starts) * size * grid.window_height


def test_fitted_windows_save_model_pixels():
    grid = plan_windows(10_000, 10_000, 1024, 128)
    assert len(grid.col_starts) == 12 and grid.window_width == 960  # not 12 x 1024 with the last shifted back
    small = plan_windows(100, 80, 512, 64)
    assert small.n_windows == 1 and small.row(0)[0].width == 100 and small.row(0)[0].height == 80


def test_summed_weights_of_a_grid_are_the_product_of_two_axis_profiles():
    """What lets the stitcher keep no 2-D array of summed weights."""
    grid = plan_windows(1000, 700, tile=256, overlap=64)
    total = np.zeros((grid.height, grid.width), np.float64)
    for y in grid.row_starts:
        for x in grid.col_starts:
            total[y : y + grid.window_height, x : x + grid.window_width] += blend_weights(
                grid.window_height, grid.window_width, grid.overlap)
    rows = axis_weights(grid.height, grid.row_starts, grid.window_height, grid.overlap)
    cols = axis_weights(grid.width, grid.col_starts, grid.window_width, grid.overlap)
    assert len(grid.row_starts) > 2 and len(grid.col_starts) > 3
    assert np.allclose(np.outer(rows, cols), total, rtol=1e-5)


def test_blend_weights_ramp_to_one():
    w = blend_weights(128, 128, 32)
    assert w[64, 64] == 1.0 and w[0, 64] < 0.01 and w.min() > 0


def test_crack_across_tiles_is_measured_once_whole(long_crack_site, tmp_path):
    path, true_length_px = long_crack_site
    result = run_site(path, tmp_path / "out")
    s = result.summary
    assert s.n_cracks == 1
    assert s.total_length_m == pytest.approx(true_length_px * 0.0005, rel=0.03)
    assert s.by_severity["wide"]["count"] == 1  # 2 mm wide
    assert s.crs == "EPSG:32633" and s.gsd_m == pytest.approx(0.0005)


def test_tiled_equals_whole_image_for_a_local_predictor(long_crack_site, tmp_path):
    path, _ = long_crack_site
    tiled = run_site(path, tmp_path / "tiled", tile=128, overlap=32)
    whole = run_site(path, tmp_path / "whole", tile=1024, overlap=0)
    with rasterio.open(tiled.outputs["mask"]) as a, rasterio.open(whole.outputs["mask"]) as b:
        assert np.array_equal(a.read(1) > 127, b.read(1) > 127)


def test_outputs_are_valid_gis_layers(long_crack_site, tmp_path):
    path, _ = long_crack_site
    result = run_site(path, tmp_path / "out")
    out = result.out_dir
    assert {p.name for p in out.iterdir()} == {"mask.tif", "cracks.geojson", "cracks.gpkg", "summary.json", "report.pdf"}
    umask = os.umask(0)
    os.umask(umask)
    for p in out.iterdir():  # readable by whoever the umask allows, like any plainly written file
        assert p.stat().st_mode & 0o777 == 0o666 & ~umask, p
    with rasterio.open(out / "mask.tif") as src:
        assert src.crs.to_epsg() == 32633 and src.dtypes[0] == "uint8"
        assert src.profile["tiled"] and src.overviews(1) and src.compression is not None
        footprint = box(*src.bounds)
        assert src.tags()["cracks_run_key"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # GDAL must open them without complaint
        layers = {name for name, _ in pyogrio.list_layers(out / "cracks.gpkg")} - {"layer_styles"}  # QGIS styles table
        assert layers == {"centerlines", "crack_polygons", "spots", "site"}
        for layer in layers:
            frame = gpd.read_file(out / "cracks.gpkg", layer=layer, engine="pyogrio")
            assert frame.crs.to_epsg() == 32633 and frame.geometry.is_valid.all() and (len(frame) or layer == "spots")
            assert frame.geometry.within(footprint.buffer(1e-6)).all()
        lines = gpd.read_file(out / "cracks.geojson", engine="pyogrio")
    assert lines.crs.to_epsg() == 4326
    assert set(lines.columns) >= {"crack_id", "length_m", "width_mean_mm", "width_max_mm", "width_p95_mm",
                                  "orientation_deg", "orientation_class", "type", "severity"}
    lonlat_footprint = gpd.GeoSeries([footprint], crs=32633).to_crs(4326).iloc[0]
    assert lines.geometry.within(lonlat_footprint.buffer(1e-7)).all()
    x, y = lines.geometry.iloc[0].geoms[0].coords[0]
    assert 14 < x < 16 and 45 < y < 46  # UTM 33N near 500 km E, 5000 km N
    summary = json.loads((out / "summary.json").read_text())
    for key in ("site", "crs", "gsd_m", "analysed_area_m2", "n_cracks", "total_length_m", "density_m_per_m2",
                "max_width_mm", "by_severity", "condition"):
        assert key in summary
    assert summary["condition"]["rating"] in {"good", "fair", "poor"} and summary["condition"]["rule"]
    assert (out / "report.pdf").read_bytes()[:5] == b"%PDF-"


def test_report_renders_and_names_the_site(long_crack_site, tmp_path):
    path, _ = long_crack_site
    result = run_site(path, tmp_path / "out")
    text = subprocess.run(["pdftotext", str(result.outputs["report"]), "-"], capture_output=True, text=True)
    if text.returncode != 0:
        pytest.skip("pdftotext (poppler-utils) not installed")
    for phrase in ("Crack condition report: road", "Condition:", "Widest cracks", "Processing details", "EPSG:32633",
                   "Least confident cracks, to check first", "confidence", "Inference"):
        assert phrase in text.stdout


def test_partial_nodata_counts_only_valid_area(tmp_path):
    crack = straight(20, 100.25, 380, 100.25, 4)
    image, _ = scene(200, 400, [crack])
    nodata = write_geotiff(tmp_path / "nodata.tif", image, nodata_box=(slice(None), slice(200, None)))
    alpha = write_geotiff(tmp_path / "alpha.tif", image, nodata_box=(slice(None), slice(200, None)), alpha=True)
    for path in (nodata, alpha):
        s = run_site(path, tmp_path / "out").summary
        assert s.analysed_area_m2 == pytest.approx(200 * 200 * 1e-6)
        assert s.total_length_m == pytest.approx(0.18, rel=0.05)  # only the valid half of the crack


def test_uint16_striped_input(tmp_path):
    image, _ = scene(200, 300, [straight(20, 100.25, 280, 100.25, 4)])
    path = write_geotiff(tmp_path / "u16.tif", image, dtype="uint16", tiled=False)
    assert run_site(path, tmp_path / "out").summary.n_cracks == 1


def test_no_crs_gives_pixel_units_and_says_so(tmp_path):
    image, _ = scene(200, 300, [straight(20, 100.25, 280, 100.25, 4)])
    path = write_geotiff(tmp_path / "photo.tif", image, crs=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_site(path, tmp_path / "out")
    from rasterio.errors import NotGeoreferencedWarning  # GDAL's own; the CLI keeps them off the terminal

    said = [str(w.message) for w in caught if not issubclass(w.category, NotGeoreferencedWarning)]
    assert len(said) == 1 and "no CRS" in said[0], said  # once, not again per written layer
    s = result.summary
    assert s.crs is None and s.units == "px" and s.total_length_m is None
    assert s.total_length_px == pytest.approx(260, rel=0.03) and s.condition["rating"] == "unrated"
    text = subprocess.run(["pdftotext", str(result.outputs["report"]), "-"], capture_output=True, text=True).stdout
    assert "Not georeferenced" in text or not text
    # no width classes without a GSD: one row of unknown severity, its length in pixels
    assert ("unknown (no GSD)" in text and f"{s.total_length_px:,.0f} px" in text) or not text


def test_photo_with_gsd(tmp_path):
    from PIL import Image
    image, _ = scene(200, 300, [straight(20, 100.25, 280, 100.25, 4)])
    path = tmp_path / "photo.png"
    Image.fromarray(image).save(path)
    with pytest.warns(UserWarning):
        s = run_site(path, tmp_path / "out", gsd_mm=0.5).summary
    assert s.total_length_m == pytest.approx(0.13, rel=0.03) and s.by_severity["wide"]["count"] == 1


def test_interrupted_run_resumes_without_recomputing(long_crack_site, tmp_path):
    path, _ = long_crack_site
    config = InspectConfig(inputs=[path], out=tmp_path / "out", tile=128, overlap=32)
    plan = plan_site(path, config, FakeModel())
    rows = len(plan.grid.row_starts)
    per_row = len(plan.grid.col_starts)
    killed = CountingPredictor(fail_after=2 * per_row)  # killed in the third grid row
    with pytest.raises(KeyboardInterrupt):
        segment_site(plan, killed, progress=False)
    assert not plan.mask_path.exists()  # nothing half-written is visible
    assert not list(plan.out_dir.glob("*.partial*"))
    resumed = CountingPredictor()
    segment_site(plan, resumed, progress=False)
    assert resumed.tiles == (rows - 2) * per_row  # the two finished rows were not recomputed
    clean = run_site(path, tmp_path / "clean")
    with rasterio.open(plan.mask_path) as a, rasterio.open(clean.outputs["mask"]) as b:
        assert np.array_equal(a.read(1), b.read(1))
    again = CountingPredictor()
    segment_site(plan, again, progress=False)
    assert again.tiles == 0  # a finished mask is current: nothing recomputed


def test_truth_of_another_size_fails_before_the_model_runs(long_crack_site, tmp_path):
    path, _ = long_crack_site
    truth = tmp_path / "truth.tif"
    with rasterio.open(path) as src:
        profile = {**src.profile, "count": 1, "width": src.width - 32}
    with rasterio.open(truth, "w", **profile) as dst:
        dst.write(np.zeros((1, profile["height"], profile["width"]), np.uint8))
    counting = CountingPredictor()
    with pytest.raises(InputError, match=r"truth\.tif: ground truth is 588x300, the raster 620x300"):
        run_site(path, tmp_path / "out", counting, truth=truth)
    assert counting.tiles == 0  # not found out only after segmenting the whole site


def _write_truth(path: Path, like: Path, values: np.ndarray) -> Path:
    with rasterio.open(like) as src:
        profile = {**src.profile, "count": 1, "dtype": "uint8", "nodata": None}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values.astype(np.uint8)[None])
    return path


def test_a_0_1_truth_scores_like_a_0_255_one_and_small_values_are_refused(tmp_path):
    """A crack layer burnt into a raster holds 1 (gdal_rasterize -burn 1, QGIS Rasterize): read with
    the 0/255 threshold it was an empty truth, scored Dice 0 and recall 1.00 without a word."""
    crack = random_walk(np.random.default_rng(4), (20, 100), 0.0, 400, 4.0, step=10, wiggle=0.08)
    image, mask = scene(200, 460, [crack])
    path = write_geotiff(tmp_path / "road.tif", image, gsd_m=0.0005)
    scores = {}
    for name, scale in (("0-255", 255), ("0-1", 1)):
        truth = _write_truth(tmp_path / f"truth-{name}.tif", path, (mask > 0) * scale)
        result = run_site(path, tmp_path / name, truth=truth)
        scores[name] = json.loads(result.outputs["summary"].read_text())["truth"]
    assert scores["0-1"]["dice"] == pytest.approx(scores["0-255"]["dice"]) and scores["0-255"]["dice"] > 0.5
    assert scores["0-1"]["recall"] == pytest.approx(scores["0-255"]["recall"])
    assert scores["0-1"]["cracks"]["found_true_cracks"] == scores["0-255"]["cracks"]["found_true_cracks"] >= 1
    labels = _write_truth(tmp_path / "labels.tif", path, (mask > 0) + 1)  # 1 = background, 2 = crack
    counting = CountingPredictor()
    with pytest.raises(InputError, match=r"labels\.tif: ground truth holds values up to 2"):
        run_site(path, tmp_path / "labels", counting, truth=labels)
    assert counting.tiles == 0


def cli_inspect(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cracks.cli", "inspect", *args], capture_output=True, text=True, cwd=REPO)


def test_cli_says_pixel_units_once_in_one_line(tmp_path):
    from PIL import Image

    if not (REPO / "models" / "default").exists():
        pytest.skip("shipped model not present")
    image, _ = scene(200, 300, [straight(20, 100.25, 280, 100.25, 4)])
    photo = tmp_path / "photo.png"
    Image.fromarray(image).save(photo)
    result = cli_inspect(str(photo), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    # the progress bar reads "row/s" or, on a slow machine, "s/row": leave it out by its label
    lines = [line for line in result.stderr.splitlines()
             if line.strip() and not line.startswith(f"segment {photo.name}:")]
    assert lines == [f"WARNING: {photo}: no CRS or transform; results in pixel units"], lines
    # which model made the figures, whatever its folder is called (models/default changes as models ship)
    summary = json.loads((tmp_path / "out" / "photo" / "summary.json").read_text())
    assert summary["model"]["weights_sha256"] == file_sha256(REPO / "models" / "default" / "model.safetensors")


def test_raster_georeferenced_by_control_points_says_so(tmp_path):
    from rasterio.control import GroundControlPoint
    from rasterio.crs import CRS

    image, _ = scene(200, 300, [straight(20, 100.25, 280, 100.25, 4)])
    path = write_geotiff(tmp_path / "scan.tif", image, crs=None)
    with rasterio.open(path, "r+") as dst:
        dst.gcps = ([GroundControlPoint(r, c, 500_000 + c / 1000, 5_000_000 - r / 1000) for r, c in
                     ((0, 0), (0, 300), (200, 0), (200, 300))], CRS.from_epsg(32633))
    with pytest.warns(UserWarning, match="georeferenced by 4 ground control points only: warp it first"):
        s = run_site(path, tmp_path / "out").summary
    assert s.units == "px" and s.n_cracks == 1


def test_sideways_photo_says_its_outputs_are_in_the_stored_grid(tmp_path):
    from PIL import Image

    image, _ = scene(200, 300, [straight(20, 100.25, 280, 100.25, 4)])
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(image).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    with pytest.warns(UserWarning, match="EXIF orientation 6 not applied: outputs are in the stored pixel grid"):
        result = run_site(tmp_path / "phone.jpg", tmp_path / "out")
    assert result.summary.width_px == 300 and result.summary.n_cracks == 1  # measured in the grid as stored


def test_bad_inputs_fail_alone(tmp_path, long_crack_site):
    good, _ = long_crack_site
    text = tmp_path / "notes.tif"
    text.write_text("not a raster")
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.tif"
    data = good.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    two_band = tmp_path / "two.tif"
    with rasterio.open(two_band, "w", driver="GTiff", width=64, height=64, count=2, dtype="uint8") as dst:
        dst.write(np.zeros((2, 64, 64), np.uint8))
    floats = tmp_path / "float.tif"
    with rasterio.open(floats, "w", driver="GTiff", width=64, height=64, count=3, dtype="float32") as dst:
        dst.write(np.zeros((3, 64, 64), np.float32))
    model = REPO / "models" / "default"
    if not model.exists():
        pytest.skip("shipped model not present")
    result = cli_inspect(str(text), str(empty), str(truncated), str(two_band), str(floats), str(good),
                         "--out", str(tmp_path / "out"), "--tile", "256")
    assert result.returncode == 1
    errors = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    expected = {text: "not a raster", empty: "empty file", truncated: "truncated", two_band: "unsupported band count 2",
                floats: "unsupported data type float32"}
    assert len(errors) == len(expected)
    for path, problem in expected.items():
        assert any(str(path) in e and problem in e for e in errors), (path, errors)
    assert (tmp_path / "out/road/summary.json").is_file()


@pytest.mark.parametrize("strip_rows,bridge_px", [(37, 0), (100, 0), (4096, 0), (37, 2), (100, 3)])
def test_strip_wise_measurement_equals_in_memory(tmp_path, strip_rows, bridge_px):
    """Pass-by-strip (any raster size) gives the same cracks and truth scores as whole arrays."""
    from cracks.measure.raster import measure_raster, scan_mask
    from cracks.measure.region import measure_cracks
    from cracks.metrics import counts

    rng = np.random.default_rng(3)
    cracks = [random_walk(rng, (rng.uniform(20, 280), rng.uniform(20, 280)), rng.uniform(0, 6.3), 200,
                          float(rng.integers(2, 7)), step=10, wiggle=0.2) for _ in range(6)]
    image, truth = scene(300, 300, cracks)
    path = write_geotiff(tmp_path / "grid.tif", image, nodata_box=(slice(250, None), slice(None)))
    truth_path = write_geotiff(tmp_path / "truth.tif", np.repeat((truth * 255).astype(np.uint8)[..., None], 3, axis=2))
    result = run_site(path, tmp_path / "out")
    with rasterio.open(result.outputs["mask"]) as src:
        probability, valid = src.read(1), src.dataset_mask() > 0
    binary = (probability >= 128) & valid
    whole = measure_cracks(binary, 0.001, probability=probability, bridge_px=bridge_px)
    scan = scan_mask(result.outputs["mask"], 128, truth_path, (0, 2), strip_rows=strip_rows, bridge_px=bridge_px)
    strips = measure_raster(result.outputs["mask"], 128, scan, 0.001, bridge_px=bridge_px)
    assert len(whole) == len(strips) >= 2
    for a, b in zip(whole, strips):
        assert a.length_px == pytest.approx(b.length_px) and a.width_mean_px == pytest.approx(b.width_mean_px)
        assert a.polygon_px.equals(b.polygon_px)
    assert scan.valid_pixels == np.count_nonzero(valid)
    for tolerance in (0, 2):
        assert scan.truth_counts[tolerance] == counts(binary, truth & valid, tolerance)


def test_region_larger_than_the_block_limit_is_measured_in_blocks_as_one_record(tmp_path, long_crack_site):
    """A crack network wider than ``max_region_px`` is measured block by block, in bounded memory,
    and stays one record: one linear crack, its length the whole region's (the blocks' cut ends
    hook at the cut edge, so fragment linking alone left two records at 200 px blocks)."""
    from cracks.measure.raster import measure_raster, region_windows, scan_mask
    from cracks.measure.records import RecordRules, crack_records
    from cracks.measure.spacing import crack_spacings

    path, _ = long_crack_site
    result = run_site(path, tmp_path / "out")
    scan = scan_mask(result.outputs["mask"], 128, labels_path=tmp_path / "labels.tif")
    whole = measure_raster(result.outputs["mask"], 128, scan, 0.0005)
    assert len(whole) == 1 and whole[0].type == "linear"
    for side in (128, 200, 256):
        assert max(int(w.width) for r in scan.regions for w in region_windows(r, 300, 620, side)) <= side
        blocks = measure_raster(result.outputs["mask"], 128, scan, 0.0005, max_region_px=side)
        assert len(blocks) == 1 and blocks[0].type == "linear" and blocks[0].n_parts == 1
        assert blocks[0].length_px == pytest.approx(whole[0].length_px, rel=0.05)
        assert blocks[0].network_id == whole[0].network_id
        records, spots = crack_records(blocks, RecordRules(link_gap_px=60, min_length_px=60))
        assert len(records) == 1 and not spots
        # a lone crack has no spacing, whole or in blocks (the blocks' own cut ends, a few px
        # apart, measured 36-80 px before they were recorded as joins)
        assert crack_spacings(blocks, reach_px=100) == crack_spacings(whole, reach_px=100) == [None]


def test_summary_is_typed_and_round_trips_through_summary_json(tmp_path):
    """The summary the PDF, the CLI, the flows and the survey read is a SiteSummary; summary.json
    is that object written out, and reads back equal. A file that is not one is refused."""
    from cracks.errors import InputError
    from cracks.inspect.summary import SiteSummary

    image, _ = scene(200, 300, [straight(20, 100.25, 280, 100.25, 4)])
    result = run_site(write_geotiff(tmp_path / "deck.tif", image, gsd_m=0.0005), tmp_path / "out")
    assert isinstance(result.summary, SiteSummary) and result.summary.n_cracks == 1
    back = SiteSummary.read(result.out_dir / "summary.json")
    assert back == result.summary and back.outputs["report"] == "report.pdf"
    assert set(back.processing["stages_s"]) >= {"read", "model", "stitch", "cog", "measure", "vectors", "pdf"}
    (tmp_path / "other.json").write_text('{"site": "x"}')
    with pytest.raises(InputError, match="not a site summary"):
        SiteSummary.read(tmp_path / "other.json")


def test_width_histogram_spans_the_cracks_not_far_class_limits():
    """ASTM's 75 mm limit on a road with 3-9 mm cracks made every bar an invisible sliver."""
    from reports.pdf import width_axis_end

    road = width_axis_end([3.2, 5.0, 8.9], [10.0, 75.0])
    assert 10.0 < road < 12.0  # the near limit (10 mm) is in view, the far one (75 mm) is not
    assert width_axis_end([0.05, 0.4, 2.5], [0.1, 0.3, 1.0]) == pytest.approx(2.5 * 1.15)
    assert width_axis_end([], [0.1, 0.3, 1.0]) > 1.0


def test_site_is_measured_while_its_cog_is_copied_and_both_hold_the_same_probabilities(tmp_path, long_crack_site):
    """segment_site(cog_in_background=True) returns before the COG exists: the work folder's
    bands, read through their VRT, are the probabilities and the mask the COG then holds."""
    from cracks.inspect.pipeline import measure_site

    path, _ = long_crack_site
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(path, "r+") as src:  # a corner without data
        mask = np.full((src.height, src.width), 255, np.uint8)
        mask[:60, :90] = 0
        src.write_mask(mask)
    config = InspectConfig(inputs=[path], out=tmp_path / "out", tile=128, overlap=32)
    plan = plan_site(path, config, FakeModel())
    source = segment_site(plan, dark_pixel_predictor, progress=False, cog_in_background=True)
    assert source == plan.mask_writer.source and source.suffix == ".vrt"
    with rasterio.open(source) as vrt:
        probability, valid = vrt.read(1), vrt.dataset_mask()
        assert vrt.tags()["cracks_run_key"] == plan.key
    measurement = measure_site(plan, config)  # reads the VRT, then waits for the COG
    assert plan.mask_writer is None and not plan.work_dir.exists()
    with rasterio.open(plan.mask_path) as cog:
        assert np.array_equal(cog.read(1), probability) and np.array_equal(cog.dataset_mask(), valid)
        assert cog.tags()["cracks_run_key"] == plan.key and cog.profile["compress"] == "deflate"
    assert valid[:60, :90].max() == 0 and valid[100:, 100:].min() == 255 and probability.max() > 200
    clean = run_site(path, tmp_path / "clean").summary  # segmented, its COG written, then measured
    assert len(measurement.cracks) == clean.n_cracks >= 1
    assert sum(c.length_px for c in measurement.cracks) == pytest.approx(clean.total_length_px)


def test_failed_cog_copy_fails_the_site_and_keeps_its_bands_for_a_rerun(tmp_path, long_crack_site, monkeypatch):
    """Disk full while GDAL copies the COG on its thread: the error reaches the site (one line,
    nothing half-written published) and the rerun only copies again, segmenting nothing."""
    import cracks.inspect.segment as segment
    from cracks.inspect.pipeline import inspect_all

    path, _ = long_crack_site
    real_copy = segment._copy_cog

    def disk_full(source, target):
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr(segment, "_copy_cog", disk_full)
    config = InspectConfig(inputs=[path], out=tmp_path / "out", tile=128, overlap=32)
    monkeypatch.setattr("cracks.inspect.pipeline.load_model", lambda config: FakeModel())
    monkeypatch.setattr("cracks.inspect.pipeline.config_predictor", lambda model, config: dark_pixel_predictor)
    [failed] = inspect_all(config, progress=False)
    assert not failed.ok and "No space left on device" in failed.error
    site = tmp_path / "out" / "road"
    assert not (site / "mask.tif").exists() and not (site / "summary.json").exists()
    assert (site / ".work" / "bands.tif").is_file()
    monkeypatch.setattr(segment, "_copy_cog", real_copy)
    counting = CountingPredictor()
    monkeypatch.setattr("cracks.inspect.pipeline.config_predictor", lambda model, config: counting)
    [done] = inspect_all(config, progress=False)
    assert done.ok and counting.tiles == 0 and (site / "mask.tif").is_file() and not (site / ".work").exists()


def test_run_stopped_while_measuring_leaves_a_whole_cog_and_reruns_without_segmenting(tmp_path, long_crack_site, monkeypatch):
    """Ctrl-C while measuring (the COG being copied beside it): the copy still ends, whole, no
    partial file is left, and the rerun measures from it with no tile segmented again."""
    import cracks.measure.raster as raster

    path, _ = long_crack_site
    real_scan = raster.scan_mask

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(raster, "scan_mask", stopped)
    with pytest.raises(KeyboardInterrupt):
        run_site(path, tmp_path / "out")
    site = tmp_path / "out" / "road"
    assert (site / "mask.tif").is_file() and not (site / "summary.json").exists()
    assert not list(site.glob("*.partial*")) and not (site / ".work").exists()
    monkeypatch.setattr(raster, "scan_mask", real_scan)
    counting = CountingPredictor()
    result = run_site(path, tmp_path / "out", predictor=counting)
    assert result.ok and counting.tiles == 0 and result.summary.n_cracks >= 1


def test_a_site_without_nodata_has_a_mask_without_a_mask_band_and_measures_the_same(tmp_path):
    """Without nodata every pixel is valid: ``mask.tif`` has no mask (GDAL reads it as all valid;
    nothing spent on a band of 255s), and the probabilities and every figure are those of the
    same photo with an alpha band that marks all of it valid (the masked path)."""
    crack = random_walk(np.random.default_rng(6), (30, 40), 0.3, 500, 4.0, step=10, wiggle=0.1)
    image, _ = scene(300, 540, [crack])
    plain = write_geotiff(tmp_path / "plain.tif", image, gsd_m=0.0005)
    alpha = write_geotiff(tmp_path / "alpha.tif", image, gsd_m=0.0005, alpha=True)
    results = {name: run_site(path, tmp_path / name) for name, path in (("plain", plain), ("alpha", alpha))}
    with rasterio.open(results["plain"].outputs["mask"]) as a, rasterio.open(results["alpha"].outputs["mask"]) as b:
        assert a.mask_flag_enums == ([rasterio.enums.MaskFlags.all_valid],)
        assert b.mask_flag_enums == ([rasterio.enums.MaskFlags.per_dataset],)
        assert np.array_equal(a.read(1), b.read(1)) and a.read(1).max() > 200
        assert a.overviews(1) == b.overviews(1)
    plain_summary, alpha_summary = results["plain"].summary, results["alpha"].summary
    assert plain_summary.n_cracks == alpha_summary.n_cracks >= 1
    assert plain_summary.analysed_area_px == alpha_summary.analysed_area_px == 300 * 540
    assert plain_summary.total_length_m == pytest.approx(alpha_summary.total_length_m)


@pytest.mark.parametrize("collecting", [True, False])
def test_inspection_leaves_the_garbage_collector_as_it_found_it(tmp_path, collecting):
    """The warm-up pauses the collector and freezes what its imports made; when the inspection
    returns, nothing is frozen and collection is on or off as before."""
    import gc

    from cracks.inspect.pipeline import inspect_all

    (gc.enable if collecting else gc.disable)()
    try:
        [result] = inspect_all(InspectConfig(inputs=[tmp_path / "missing.tif"], out=tmp_path / "out"), progress=False)
        assert not result.ok and "missing.tif" in result.error
        assert gc.isenabled() is collecting and gc.get_freeze_count() == 0
    finally:
        gc.enable()
