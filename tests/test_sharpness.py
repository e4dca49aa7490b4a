"""How soft imagery is told from sharp: the edge rise, and what inspection says about it."""

from __future__ import annotations

import shutil
import subprocess
import warnings

import cv2
import numpy as np
import pytest

from cracks.metrics import EvaluationResult
from cracks.sharpness import (
    SHARP_RISE_PX,
    SOFT_RISE_PX,
    Sharpness,
    edge_rises,
    image_sharpness,
    raster_sharpness,
    sharpness_of,
    soft_caveat,
)
from cracks.synthetic import straight, texture
from cracks.training.evaluate import DomainScores
from tests.inspect.test_pipeline import run_site
from tests.rasters import scene, write_geotiff
from tiling.raster import open_raster


def pavers(height: int = 480, width: int = 640, seed: int = 0) -> np.ndarray:
    """A textured surface with sharp-edged patches of other greys (pavers, patches, markings), RGB,
    as a sharp camera sees it (its own blur: a Gaussian of 0.6 px)."""
    rng = np.random.default_rng(seed)
    grey = cv2.cvtColor(texture(height, width, rng, contrast=10).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    for _ in range(60):
        x, y = rng.integers(0, width), rng.integers(0, height)
        w, h = rng.integers(10, 120, size=2)
        cv2.rectangle(grey, (int(x), int(y)), (int(x + w), int(y + h)), int(rng.integers(40, 230)), thickness=-1)
    return np.repeat(cv2.GaussianBlur(grey, (0, 0), 0.6)[..., None], 3, axis=2)


def blurred(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigma) if sigma else image


def test_blur_lengthens_the_edge_rise_and_a_soft_photo_is_called_soft():
    photo = pavers()
    found = {sigma: image_sharpness(blurred(photo, sigma)) for sigma in (0, 0.7, 1.5, 2.5)}
    rises = [s.edge_rise_px for s in found.values()]
    assert rises == sorted(rises) and len(set(rises)) == 4  # strictly softer with every blur
    assert found[0].edge_rise_px < 2.0 and not found[0].soft
    assert found[1.5].soft and found[2.5].soft


def test_a_featureless_surface_claims_no_sharpness():
    rng = np.random.default_rng(1)
    smooth = np.clip(np.linspace(90, 160, 640)[None, :] + rng.normal(0, 2, (480, 640)), 0, 255).astype(np.uint8)
    found = image_sharpness(smooth)
    assert found.edge_rise_px is None and not found.soft
    assert soft_caveat(found, 0.001) is None and soft_caveat(None, 0.001) is None


def test_edges_in_the_fill_under_nodata_are_not_measured():
    """Only pixels with data are measured: sharp edges where there is none (a collar's black
    step, whatever fills it) never make a soft orthophoto look sharp."""
    photo = cv2.cvtColor(pavers(seed=3), cv2.COLOR_RGB2GRAY)
    valid = np.zeros(photo.shape, bool)
    valid[:, 320:] = True  # half of the window is collar
    collared = np.where(valid, cv2.GaussianBlur(photo, (0, 0), 2.0), photo)
    masked, unmasked = sharpness_of(edge_rises(collared, valid)), sharpness_of(edge_rises(collared))
    assert masked.soft and not unmasked.soft


def test_evaluation_counts_the_soft_photos_of_a_domain():
    result = EvaluationResult(0.8, 0.7, 0.8, 0.8, 0.8, 0.8, 0.7, 4, 0.7)
    scores = DomainScores("walls", result, result, 2, 0, None, edge_rises=[1.5, 2.8, None, 1.7])
    assert scores.sharpness == {"measured": 3, "soft": 1, "median_edge_rise_px": 1.7}
    assert scores.to_dict()["sharpness"] == scores.sharpness
    assert DomainScores("none", result, result, 2, 0, None).sharpness["median_edge_rise_px"] is None


def test_the_caveat_gives_the_rise_on_the_ground():
    caveat = soft_caveat(Sharpness(3.2, 5000), 0.002)
    assert "soft" in caveat and "3.2 px (6.4 mm)" in caveat and "too large" in caveat and "upper bounds" in caveat
    assert soft_caveat(Sharpness(SOFT_RISE_PX, 5000), 0.002) is None  # at the limit still sharp enough
    assert soft_caveat(Sharpness(SHARP_RISE_PX, 5000), None) is None


def test_an_orthophoto_is_measured_from_windows_spread_over_it(tmp_path):
    """Windows of valid data only: the collar's black edge (a perfect step) does not count."""
    photo = np.concatenate([pavers(seed=s) for s in range(3)], axis=1)[:, :1700]  # 480 x 1700
    sharp = write_geotiff(tmp_path / "sharp.tif", photo, nodata_box=(slice(None), slice(0, 300)))
    soft = write_geotiff(tmp_path / "soft.tif", blurred(photo, 2.0), nodata_box=(slice(None), slice(0, 300)))
    found_sharp, found_soft = raster_sharpness(open_raster(sharp)), raster_sharpness(open_raster(soft))
    assert not found_sharp.soft and found_sharp.edge_rise_px < 2.0 and found_sharp.edges >= 200
    assert found_soft.soft and found_soft.edge_rise_px > 3.0


def test_inspecting_a_soft_orthophoto_says_so(tmp_path):
    image, _ = scene(240, 600, [straight(20, 120.25, 580, 120.25, 8)])
    image = np.maximum(image, pavers(240, 600, seed=4) // 2 + 60)  # sharp edges beside the crack
    sharp = run_site(write_geotiff(tmp_path / "sharp.tif", image, gsd_m=0.0005), tmp_path / "a",
                     standard="astm-d6433")
    assert sharp.summary.imagery["sharpness"]["soft"] is False and "caveat" not in sharp.summary.condition
    with pytest.warns(UserWarning, match=r"soft.tif: the imagery is soft"):
        soft = run_site(write_geotiff(tmp_path / "soft.tif", blurred(image, 2.0), gsd_m=0.0005), tmp_path / "b",
                        standard="astm-d6433")
    sharpness = soft.summary.imagery["sharpness"]
    assert sharpness["soft"] is True and sharpness["edge_rise_px"] > SOFT_RISE_PX
    assert "widths come out too large" in soft.summary.condition["caveat"]
    if shutil.which("pdftotext"):  # poppler-utils; the report is still written without it
        text = " ".join(subprocess.run(["pdftotext", str(soft.outputs["report"]), "-"], capture_output=True,
                                       text=True).stdout.split())
        assert "Resolution: the imagery is soft" in text and "Imagery sharpness edges rise over" in text
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a sharp site has nothing to warn of
        run_site(write_geotiff(tmp_path / "sharp2.tif", image, gsd_m=0.0005), tmp_path / "c", standard="astm-d6433")
