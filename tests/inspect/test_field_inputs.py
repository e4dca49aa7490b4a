"""Orthophotos as users really have them: collars, namesakes, rotated frames, palettes, bad options,
corrupt resume state, thin strips. Each asserts the right numbers or the one-line refusal, and
that no input changed."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.enums import ColorInterp
from rasterio.windows import Window
from scipy import ndimage

from cracks.config import InspectConfig
from cracks.errors import CracksError, SettingError
from cracks.inspect.pipeline import inspect_all, plan_site, segment_site
from cracks.synthetic import straight
from tests.inspect.test_pipeline import FakeModel, run_site
from tests.rasters import ORIGIN, UTM, dark_pixel_predictor, scene, write_geotiff
from tiling.raster import fill_invalid, open_raster, pixel_sizes

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample" / "road_section.tif"
SAMPLE_TRUTH = REPO / "sample" / "road_section_truth.tif"


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cracks.cli", *args], capture_output=True, text=True, cwd=REPO)


def _write(path: Path, bands: np.ndarray, transform: Affine, *, alpha: np.ndarray | None = None, crs: str = "EPSG:25832") -> Path:
    count = bands.shape[0] + (alpha is not None)
    extra = {"alpha": "UNSPECIFIED"} if alpha is None and count == 4 else {}  # a 4th band that is not transparency
    with rasterio.open(path, "w", driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=count,
                       dtype="uint8", crs=crs, transform=transform, tiled=True, blockxsize=256, blockysize=256,
                       **extra) as dst:
        if alpha is None:
            dst.write(bands)
        else:
            dst.write(np.concatenate([bands * alpha, alpha[None] * 255]).astype(np.uint8))
            dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
    return path


# --- 1. nodata collars --------------------------------------------------------------------

@pytest.fixture(scope="module")
def collared_sites(tmp_path_factory):
    """One 768 px piece of the sample site: as it is, inside a straight black collar (alpha 0), and
    with a ragged collar that also bites into the photo wherever no crack is within 10 px."""
    root = tmp_path_factory.mktemp("collars")
    with rasterio.open(SAMPLE) as src, rasterio.open(SAMPLE_TRUTH) as truth_src:
        window = Window(1000, 96, 768, 768)
        image, truth = src.read(window=window), truth_src.read(1, window=window) > 127
        transform = src.window_transform(window)
    m = 96
    reference = _write(root / "reference.tif", image, transform)
    big = np.zeros((3, 768 + 2 * m, 768 + 2 * m), np.uint8)
    big[:, m:-m, m:-m] = image
    valid = np.zeros(big.shape[1:], np.uint8)
    valid[m:-m, m:-m] = 1
    outer = transform @ Affine.translation(-m, -m)
    straight_collar = _write(root / "straight.tif", big, outer, alpha=valid)
    noise = ndimage.gaussian_filter(np.random.default_rng(0).standard_normal(big.shape[1:]), 12)
    rows, cols = np.mgrid[: big.shape[1], : big.shape[2]]
    edge = np.minimum.reduce([rows, cols, big.shape[1] - 1 - rows, big.shape[2] - 1 - cols])
    cracks = np.zeros(big.shape[1:], bool)
    cracks[m:-m, m:-m] = truth
    ragged = valid.copy()
    ragged[((edge + noise / noise.std() * 25) < m + 40) & ~ndimage.binary_dilation(cracks, iterations=10)] = 0
    ragged_collar = _write(root / "ragged.tif", big, outer, alpha=ragged)
    [*results] = inspect_all(InspectConfig(inputs=[reference, straight_collar, ragged_collar], out=root / "out"),
                             progress=False)
    assert all(r.ok for r in results), [r.error for r in results]
    return {r.input.stem: r for r in results}


def test_collars_add_no_crack_length(collared_sites):
    """The shipped model saw the collar's edge as a crack (0.96 m on a straight edge, the whole
    perimeter of a ragged one): a collar around the same pixels must not change the site's length."""
    reference = collared_sites["reference"].summary.total_length_m
    assert reference > 1.0
    for name in ("straight", "ragged"):
        length = collared_sites[name].summary.total_length_m
        assert length == pytest.approx(reference, rel=0.08), (name, length, reference)


def test_mask_is_zero_where_there_is_no_data(collared_sites):
    with rasterio.open(collared_sites["ragged"].outputs["mask"]) as src:
        probability, valid = src.read(1), src.dataset_mask() > 0
    assert (~valid).sum() > 100_000
    assert probability[~valid].max() == 0


def test_fill_continues_the_surface_without_a_step():
    rng = np.random.default_rng(1)
    rgb = np.clip(rng.normal(120, 12, (200, 200, 3)), 0, 255).astype(np.uint8)
    valid = np.ones((200, 200), bool)
    valid[:, 140:] = False
    rgb[~valid] = 0
    filled = fill_invalid(rgb, valid)
    assert np.array_equal(filled[valid], rgb[valid])
    inside, outside = filled[:, 100:140].astype(float), filled[:, 140:].astype(float)
    assert abs(inside.mean() - outside.mean()) < 5 and outside.std() == pytest.approx(inside.std(), rel=0.5)
    assert np.array_equal(fill_invalid(rgb, valid), filled)  # seeded by content: resume is bit-identical


# --- 2, 3. output folders ------------------------------------------------------------------

def test_namesakes_in_different_folders_keep_their_own_results(tmp_path):
    image_a, _ = scene(200, 300, [straight(20, 100.25, 280, 100.25, 4)])
    image_b, _ = scene(200, 300, [straight(20, 50.25, 120, 50.25, 4), straight(150, 150.25, 280, 150.25, 4)])
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    a, b = write_geotiff(tmp_path / "a" / "site.tif", image_a), write_geotiff(tmp_path / "b" / "site.tif", image_b)
    config = InspectConfig(inputs=[a, b], out=tmp_path / "out", tile=128, overlap=32)
    sites = {plan_site(p, config, FakeModel()).out_dir for p in (a, b)}
    assert sites == {tmp_path / "out" / "a" / "site", tmp_path / "out" / "b" / "site"}
    first = run_site(a, tmp_path / "single")
    assert first.out_dir == tmp_path / "single" / "site"
    with pytest.raises(Exception, match="holds the results of another input"):
        run_site(b, tmp_path / "single")  # same folder, other input: refused, not overwritten
    assert json.loads((first.out_dir / "summary.json").read_text())["input"] == str(a)


def test_an_input_is_never_overwritten(tmp_path):
    image, _ = scene(200, 300, [straight(20, 100.25, 280, 100.25, 4)])
    (tmp_path / "mask").mkdir()
    victim = write_geotiff(tmp_path / "mask" / "mask.tif", image)
    before = sha(victim)
    result = cli("inspect", str(victim), "--out", str(tmp_path), "--tile", "256")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "would overwrite the input" in errors[0] and str(victim) in errors[0]
    assert sha(victim) == before


# --- 4. rotated and sheared frames -----------------------------------------------------------

@pytest.mark.parametrize("degrees", [0, 30, 90])
def test_rotated_rasters_measure_like_north_up_ones(tmp_path, degrees):
    crack = straight(20, 100.25, 280, 100.25, 4)  # 260 px at 1 mm: 0.26 m
    image, _ = scene(200, 300, [crack])
    transform = Affine.translation(*ORIGIN) @ Affine.rotation(degrees) @ Affine.scale(0.001, -0.001)
    path = _write(tmp_path / f"rot{degrees}.tif", np.moveaxis(image, -1, 0), transform, crs=UTM)
    assert pixel_sizes(open_raster(path).transform) == pytest.approx((0.001, 0.001))
    result = run_site(path, tmp_path / "out")
    s = result.summary
    assert s.gsd_m == pytest.approx(0.001)
    assert s.total_length_m == pytest.approx(0.26, rel=0.03)
    assert s.analysed_area_m2 == pytest.approx(0.06, rel=1e-6)
    import geopandas as gpd
    lines = gpd.read_file(result.outputs["gpkg"], layer="centerlines")
    assert lines.length.sum() == pytest.approx(0.26, rel=0.03)  # geometry in the raster's own (rotated) frame
    assert result.outputs["report"].stat().st_size > 10_000


# --- 4b. CRSs whose units are not ground metres ---------------------------------------------------

def _lonlat_to(crs: str, lon: float, lat: float) -> tuple[float, float]:
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)


@pytest.mark.parametrize("crack", [straight(20, 100.25, 280, 100.25, 4), straight(100.25, 20, 100.25, 180, 4)],
                         ids=["east-west", "north-south"])
def test_web_mercator_is_measured_in_ground_metres(tmp_path, crack):
    """Web Mercator's metres are 1/cos(latitude) ground metres: at 50 degrees, a crack taken in
    map metres would come out 56 % too long."""
    image, _ = scene(200, 300, [crack])
    stretch = 1 / math.cos(math.radians(50.0))
    mercator = Affine.translation(*_lonlat_to("EPSG:3857", 8.0, 50.0)) @ Affine.scale(0.001 * stretch, -0.001 * stretch)
    path = _write(tmp_path / "mercator.tif", np.moveaxis(image, -1, 0), mercator, crs="EPSG:3857")
    twin = _write(tmp_path / "utm.tif", np.moveaxis(image, -1, 0), Affine.translation(*ORIGIN) @ Affine.scale(0.001, -0.001),
                  crs=UTM)
    with pytest.warns(UserWarning, match=r"a map metre is 0\.64\d m on the ground"):
        s = run_site(path, tmp_path / "out").summary
    reference = run_site(twin, tmp_path / "ref").summary
    assert s.gsd_m == pytest.approx(0.001, rel=0.003) and s.processing["map_scale"] == pytest.approx(1 / stretch, rel=0.003)
    assert s.total_length_m == pytest.approx(reference.total_length_m, rel=0.005)
    assert s.max_width_mm == pytest.approx(reference.max_width_mm, rel=0.005)
    page = subprocess.run(["pdftotext", str(tmp_path / "out" / "mercator" / "report.pdf"), "-"], capture_output=True, text=True).stdout
    assert "on the ground (a map metre is 0.64" in " ".join(page.split()) or not page


def test_square_degree_pixels_are_refused_with_the_way_out(tmp_path):
    image, _ = scene(200, 300, [straight(20, 100.25, 280, 100.25, 4)])
    degrees = Affine.translation(8.0, 50.0) @ Affine.scale(1e-8, -1e-8)  # 0.7 x 1.1 mm on the ground
    path = _write(tmp_path / "lonlat.tif", np.moveaxis(image, -1, 0), degrees, crs="EPSG:4326")
    with pytest.raises(CracksError, match=r"lonlat\.tif: pixels are 0\.71\d x 1\.11 mm on the ground .* gdalwarp -t_srs EPSG:32632"):
        open_raster(path)


def test_geographic_pixels_square_on_the_ground_are_measured(tmp_path):
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    east = geod.fwd(8.0, 50.0, 90, 1.0)[0] - 8.0  # degrees per ground metre
    north = geod.fwd(8.0, 50.0, 0, 1.0)[1] - 50.0
    image, _ = scene(200, 300, [straight(20, 100.25, 280, 100.25, 4)])
    transform = Affine.translation(8.0, 50.0) @ Affine.scale(0.001 * east, -0.001 * north)
    path = _write(tmp_path / "lonlat.tif", np.moveaxis(image, -1, 0), transform, crs="EPSG:4326")
    s = run_site(path, tmp_path / "out").summary
    assert s.gsd_m == pytest.approx(0.001, rel=0.002) and s.total_length_m == pytest.approx(0.26, rel=0.03)


def test_utm_keeps_its_grid_units(tmp_path):
    """UTM's scale (0.9996 here) is what surveyors measure in: no correction, no warning."""
    image, _ = scene(100, 100, [])
    path = _write(tmp_path / "utm.tif", np.moveaxis(image, -1, 0), Affine.translation(*ORIGIN) @ Affine.scale(0.001, -0.001),
                  crs=UTM)
    info = open_raster(path)
    assert info.pixel_size_m == 0.001 and info.map_scale == 1.0


# --- 5. palette and four-band rasters ---------------------------------------------------------

def test_palette_raster_is_read_through_its_colour_map(tmp_path):
    image, _ = scene(200, 300, [straight(20, 100.25, 280, 100.25, 4)])
    grey = image.mean(axis=2).astype(np.uint8)
    levels = (grey // 4).astype(np.uint8)  # 64 palette entries; index values alone would be dark
    path = tmp_path / "palette.tif"
    with rasterio.open(path, "w", driver="GTiff", width=300, height=200, count=1, dtype="uint8", crs=UTM,
                       transform=Affine.translation(*ORIGIN) @ Affine.scale(0.001, -0.001)) as dst:
        dst.write(levels, 1)
        dst.write_colormap(1, {i: (i * 4, i * 4, i * 4, 255) for i in range(256)})
    assert open_raster(path).palette is not None
    s = run_site(path, tmp_path / "out").summary
    assert s.n_cracks == 1 and s.total_length_m == pytest.approx(0.26, rel=0.03)


def test_untagged_fourth_band_is_ignored_not_taken_for_alpha(tmp_path):
    image, _ = scene(200, 300, [straight(20, 100.25, 280, 100.25, 4)])
    bands = np.concatenate([np.moveaxis(image, -1, 0), np.zeros((1, 200, 300), np.uint8)])  # e.g. NIR = 0
    path = _write(tmp_path / "rgbn.tif", bands, Affine.translation(*ORIGIN) @ Affine.scale(0.001, -0.001), crs=UTM)
    assert not open_raster(path).has_alpha
    s = run_site(path, tmp_path / "out").summary
    assert s.analysed_area_m2 == pytest.approx(0.06) and s.n_cracks == 1


# --- 7. options ---------------------------------------------------------------------------------

@pytest.mark.parametrize("option, value, problem", [
    ("--gsd-mm", "-1", "above 0"), ("--gsd-mm", "nan", "finite"), ("--gsd-mm", "inf", "finite"),
    ("--threshold", "1.5", "between 0 and 1"), ("--threads", "-2", "at least 1"), ("--batch-size", "0", "at least 1"),
    ("--severity-mm", "1,0.3,2", "increasing"),
])
def test_bad_numbers_in_options_are_refused_in_one_line(tmp_path, option, value, problem):
    result = cli("inspect", str(SAMPLE), "--out", str(tmp_path), option, value)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and problem in lines[0], result.stderr
    assert not any(tmp_path.iterdir())


def test_config_refuses_what_the_cli_refuses():
    with pytest.raises(SettingError, match="gsd_mm"):
        InspectConfig(inputs=[], gsd_mm=-1)
    with pytest.raises(SettingError, match="threshold"):
        InspectConfig(inputs=[], threshold=float("nan"))


# --- 8. corrupt resume state ----------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["state", "band"])
def test_corrupt_resume_state_is_recomputed_not_fatal(tmp_path, damage):
    crack = straight(20, 100.25, 580, 300.25, 4)
    image, _ = scene(400, 600, [crack])
    path = write_geotiff(tmp_path / "site.tif", image)
    config = InspectConfig(inputs=[path], out=tmp_path / "out", tile=128, overlap=32)
    plan = plan_site(path, config, FakeModel())

    class Killed(Exception):
        pass

    tiles_done = []

    def dies_after_two_rows(tiles):
        if len(tiles_done) + len(tiles) > 2 * len(plan.grid.col_starts):
            raise Killed
        tiles_done.extend(tiles)
        return dark_pixel_predictor(tiles)

    with pytest.raises(Killed):
        segment_site(plan, dies_after_two_rows, progress=False)
    victim = plan.work_dir / ("state.npz" if damage == "state" else "bands.tif")
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    segment_site(plan, dark_pixel_predictor, progress=False)
    clean = run_site(path, tmp_path / "clean")
    with rasterio.open(plan.mask_path) as a, rasterio.open(clean.outputs["mask"]) as b:
        assert np.array_equal(a.read(1), b.read(1))


# --- 10. thin rasters -------------------------------------------------------------------------------

def test_thin_strip_is_inspected_like_a_crop_of_the_whole(tmp_path):
    """A 64 px strip of the sample site gets most of the crack pixels of those rows of the whole site,
    and a 200 px strip no ghost of the crack that touches its opposite edge.

    Measured with the shipped model (``scripts/thin_context.py``): Dice 0.665 with the strip
    wrapped out to 256 px, 0.568 mirrored; 0.668 wrapped with a 4 px mirrored seam at each side
    (``with_context``); an
    earlier model 0.61 wrapped, 0.51 wrapped to 512 px; the one before 0.73 wrapped, 0.65
    mirrored, 0.05 edge-replicated (no context at all)."""
    if not (REPO / "models" / "default" / "model.json").is_file():
        pytest.skip("shipped model not present")
    from scipy import ndimage

    windows = {"strip": Window(0, 160, 1440, 64), "band": Window(0, 0, 1440, 200), "whole": Window(0, 0, 1440, 480)}
    with rasterio.open(SAMPLE) as src:
        paths = [_write(tmp_path / f"{name}.tif", src.read(window=w), src.window_transform(w)) for name, w in windows.items()]
    results = {r.input.stem: r for r in inspect_all(InspectConfig(inputs=paths, out=tmp_path / "out"), progress=False)}
    threshold = round(results["strip"].summary.model["threshold"] * 255)
    masks = {}
    for name, result in results.items():
        with rasterio.open(result.outputs["mask"]) as src:
            masks[name] = src.read(1) >= threshold
    thin, full = masks["strip"], masks["whole"][160:224]
    assert full.sum() > 500
    dice = 2 * (thin & full).sum() / (thin.sum() + full.sum())
    assert dice > 0.55, dice
    # Ghosts: crack pixels in the band's outer rows that the whole site has nowhere near
    # (wrapped context alone: 123 here, in the columns of the crack at the band's bottom edge; 0 now).
    ghosts = masks["band"] & ~ndimage.binary_dilation(masks["whole"][:200], iterations=3)
    assert ghosts[:6].sum() + ghosts[-6:].sum() < 20, ghosts[:6].sum() + ghosts[-6:].sum()



# --- 9. disk full ------------------------------------------------------------------------------------

def test_disk_full_fails_one_site_leaves_no_partial_file_and_goes_on(tmp_path, monkeypatch):
    import errno

    import cracks.inspect.pipeline as inspection
    import cracks.inspect.summary as site_summary

    image, _ = scene(200, 300, [straight(20, 100.25, 280, 100.25, 4)])
    first, second = write_geotiff(tmp_path / "first.tif", image), write_geotiff(tmp_path / "second.tif", image)
    real_write_json = site_summary.write_json

    def full_disk_once(path, data):
        if "first" in str(path):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_write_json(path, data)

    monkeypatch.setattr(site_summary, "write_json", full_disk_once)  # the summary is written last
    monkeypatch.setattr(inspection, "load_model", lambda config: FakeModel())
    monkeypatch.setattr(inspection, "Predictor", lambda *a, **k: dark_pixel_predictor)
    results = inspection.inspect_all(InspectConfig(inputs=[first, second], out=tmp_path / "out", tile=128, overlap=32),
                                     progress=False)
    assert not results[0].ok and "No space left on device" in results[0].error and "first" in results[0].error
    assert results[1].ok and (tmp_path / "out" / "second" / "summary.json").is_file()
    assert not (tmp_path / "out" / "first" / "summary.json").exists()
    assert not list((tmp_path / "out").rglob("*.partial*"))


@pytest.mark.parametrize("kind", ["rgb", "nodata", "alpha", "uint16", "grey"])
def test_windows_read_as_the_bands_they_hold(tmp_path, kind):
    """GDAL interleaves the window's pixels itself, and a raster without a mask skips asking for
    one: the same pixels and validity as reading its bands and transposing them."""
    from tiling.raster import open_raster, read_window

    image, _ = scene(300, 400, [straight(20, 100.25, 380, 200.25, 4)])
    if kind == "grey":
        path = tmp_path / "grey.tif"
        with rasterio.open(path, "w", driver="GTiff", width=400, height=300, count=1, dtype="uint8") as dst:
            dst.write(image[..., 0], 1)
    else:
        path = write_geotiff(tmp_path / f"{kind}.tif", image, dtype="uint16" if kind == "uint16" else "uint8",
                             nodata_box=(slice(0, 40), slice(0, 90)) if kind in ("nodata", "alpha") else None,
                             alpha=kind == "alpha")
    info = open_raster(path, 1.0)
    window = Window(32, 16, 256, 192)  # overlaps the corner without data
    with rasterio.open(path) as src:
        rgb, valid = read_window(src, info, window)
        bands = np.moveaxis(src.read(info.rgb_bands, window=window), 0, -1)
        mask = src.dataset_mask(window=window) > 0
    expected = np.clip(bands.astype(np.float32) * info.scale, 0, 255).astype(np.uint8) if kind == "uint16" else bands
    assert rgb.shape == (192, 256, 3) and rgb.flags["C_CONTIGUOUS"] and rgb.dtype == np.uint8
    assert np.array_equal(valid, mask) and valid.all() == (kind not in ("nodata", "alpha"))
    assert np.array_equal(rgb[valid], expected[valid])  # pixels without data are filled, not kept
