"""Tiled inference agrees with whole-image inference: the blend leaves no seams.

Uses the shipped model on real photographs (the sample site), because a CNN's behaviour at tile
borders, where it sees less context, is exactly what the blending must hide.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from cracks.inspect.predictor import Predictor
from cracks.inspect.segment import segment_raster
from cracks.models import artifact
from cracks.models.predict import predict_probabilities
from tests.rasters import write_geotiff
from tiling.raster import open_raster
from tiling.windows import plan_windows

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "models" / "default"
SAMPLE = REPO / "sample" / "road_section.tif"


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * np.count_nonzero(a & b) / max(1, np.count_nonzero(a) + np.count_nonzero(b))


@pytest.mark.parametrize("tile,overlap,width,height,least", [
    (512, 128, 1152, 800, 0.95),  # small tiles: the field model sees less context at their borders (measured 0.957)
    (1024, 128, 2880, 960, 0.985),  # the defaults (GPU field model: measured 0.9896; previous models 0.995-0.997)
    (1024, 192, 2880, 960, 0.99),  # a wider overlap buys the last bit back (measured 0.9931)
])
def test_tiled_matches_whole_image(tmp_path, tile, overlap, width, height, least):
    """Measured with the GPU-trained field model: Dice 0.957 for 512 px tiles on the crop, 0.9896
    at the defaults and 0.9931 with a 192 px overlap on the larger crop (earlier models 0.981-0.997);
    tiles off the encoder's 32 px grid gave 0.944 (an earlier model)."""
    if not MODEL.exists() or not SAMPLE.exists():
        pytest.skip("shipped model or sample site missing")
    loaded = artifact.load(MODEL)
    with rasterio.open(SAMPLE) as src:
        image = np.moveaxis(src.read(window=Window(0, 0, width, height)), 0, -1)
    path = write_geotiff(tmp_path / "crop.tif", image, gsd_m=0.001)
    whole = predict_probabilities(loaded.model, image[None], loaded.meta.normalization)[0]
    info = open_raster(path)
    grid = plan_windows(info.width, info.height, tile, overlap)
    assert grid.n_windows >= 4  # the image really is tiled, with borders inside it
    # the reference path on both sides: this measures the seams, not the precision
    predictor = Predictor(loaded, batch_size=4, precision="fp32", backend="torch")
    target = segment_raster(info, grid, "seam-test", predictor, tmp_path / "mask.tif", tmp_path / "work", progress=False)
    with rasterio.open(target) as src:
        tiled = src.read(1)
    threshold = loaded.meta.threshold
    whole_binary = np.round(whole * 255) >= round(threshold * 255)
    tiled_binary = tiled >= round(threshold * 255)
    assert np.count_nonzero(whole_binary) > 1000  # there are cracks to agree on
    assert dice(whole_binary, tiled_binary) >= least


def test_bf16_agrees_with_fp32():
    """The bf16 path may only be offered if it keeps the masks: checked here on real photos."""
    if not MODEL.exists() or not SAMPLE.exists():
        pytest.skip("shipped model or sample site missing")
    loaded = artifact.load(MODEL)
    with rasterio.open(SAMPLE) as src:
        image = np.moveaxis(src.read(window=Window(0, 0, 512, 512)), 0, -1)
    fp32 = predict_probabilities(loaded.model, image[None], loaded.meta.normalization)[0]
    bf16 = predict_probabilities(loaded.model, image[None], loaded.meta.normalization, precision="bf16")[0]
    threshold = loaded.meta.threshold
    assert np.count_nonzero(fp32 >= threshold) > 500
    assert dice(fp32 >= threshold, bf16 >= threshold) >= 0.97
    assert np.abs(fp32 - bf16).mean() < 0.01


def test_in_memory_windows_give_what_inspection_gives(tmp_path):
    """``cracks evaluate`` segments photos larger than a tile in inspection's windows
    (:func:`tiling.in_memory.predict_in_windows`): the same probabilities as the stitched raster."""
    if not MODEL.exists() or not SAMPLE.exists():
        pytest.skip("shipped model or sample site missing")
    from cracks.training.evaluate import probability_of

    loaded = artifact.load(MODEL)
    with rasterio.open(SAMPLE) as src:
        image = np.moveaxis(src.read(window=Window(0, 0, 1600, 960)), 0, -1)
    path = write_geotiff(tmp_path / "photo.tif", image, gsd_m=0.001)
    info = open_raster(path)
    grid = plan_windows(info.width, info.height, 1024, 128)
    assert grid.n_windows == 2
    predictor = Predictor(loaded, batch_size=1, precision="fp32", backend="torch")
    target = segment_raster(info, grid, "in-memory", predictor, tmp_path / "mask.tif", tmp_path / "work", progress=False)
    with rasterio.open(target) as src:
        stitched = src.read(1).astype(np.float32)
    in_memory = probability_of(loaded.model, image, loaded.meta.normalization) * 255
    assert np.abs(in_memory - stitched).max() <= 1.01  # the stitcher stores bytes
