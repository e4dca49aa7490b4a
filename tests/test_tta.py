"""Test-time augmentation: a response that follows the image is kept, one that does not is halved."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from cracks.inspect.predictor import Predictor
from cracks.inspect.rows import to_u8
from cracks.models import artifact, backends
from cracks.models.passes import Passes, mirror_cut
from cracks.models.tta import FlipAveraged, flip_averaged
from tests.rasters import dark_pixel_predictor

MODEL = Path(__file__).resolve().parents[1] / "models" / "default"
SAMPLE = Path(__file__).resolve().parents[1] / "sample" / "road_section.tif"


def test_mirror_average_keeps_what_follows_the_image_and_halves_what_does_not():
    rng = np.random.default_rng(0)
    tiles = rng.integers(100, 200, (2, 64, 96, 3), dtype=np.uint8)
    tiles[0, 30:33, 10:80] = 20  # a dark crack
    follows = lambda batch: np.stack(dark_pixel_predictor(list(batch)))  # noqa: E731 - mirrors with the image

    def left_edge(batch: np.ndarray) -> np.ndarray:  # fires on the tile's left border whatever it shows
        out = np.zeros(batch.shape[:3], np.float32)
        out[:, :, :8] = 1.0
        return out

    assert np.array_equal(flip_averaged(follows, tiles), follows(tiles))
    averaged = flip_averaged(left_edge, tiles)
    assert averaged.dtype == np.float32 and averaged.shape == (2, 64, 96)
    assert np.allclose(averaged[:, :, :8], 0.5) and np.allclose(averaged[:, :, -8:], 0.5)
    assert not averaged[:, :, 8:-8].any()


def test_tta_is_part_of_the_inference_choice_and_runs_the_mirror():
    if not MODEL.exists():
        pytest.skip("shipped model missing")
    model = artifact.load(MODEL, lazy=True)
    plain, mirrored = Predictor(model), Predictor(model, passes=Passes(tta=True))
    assert str(mirrored.choice) == str(plain.choice) + " + tta"  # a different resume key from the plain run
    for choice in (plain.choice, mirrored.choice):
        assert backends.BackendChoice.parse(str(choice)) == choice  # how flow workers get the plan's choice
    rng = np.random.default_rng(1)
    tile = rng.integers(0, 255, (160, 224, 3), dtype=np.uint8)
    tile[70:74, 20:200] //= 4  # something crack-like
    direct = plain([tile])[0].astype(np.float32)
    mirror = plain([np.ascontiguousarray(tile[:, ::-1])])[0].astype(np.float32)[:, ::-1]
    assert np.abs(mirrored([tile])[0] - (direct + mirror) / 2).max() < 2e-3  # float16 outputs
    assert np.abs(direct - mirror).max() > 0.01  # the two passes differ: the average is not a no-op here


def test_mirror_cut_is_where_no_mirror_can_lift_a_tile_over_the_threshold():
    """Below ``mirror_cut(t)`` a plain probability averaged with any mirror (< 1) stays under
    ``t``, in floats and in inspection's rounded uint8 (``to_u8`` against ``round(t * 255)``)."""
    assert mirror_cut(0.70) == 0.392 and mirror_cut(0.5) == 0.0 and mirror_cut(0.3) == 0.0
    mirror = np.float32(1 - 1e-7)  # the highest a sigmoid gives short of 1
    for threshold in np.arange(0.51, 0.99, 0.01):
        m = mirror_cut(float(threshold))
        plain = np.nextafter(np.float32(m), np.float32(0))  # just under the cut
        averaged = (plain + mirror) / 2
        assert averaged < threshold and to_u8(np.array([averaged]))[0] < round(threshold * 255)
        assert (m + 1) / 2 > threshold - 0.01  # and the cut is not needlessly low


def test_tiles_below_mirror_from_skip_the_mirror_and_keep_every_decision():
    """A flat tile whose plain pass stays under 0.392 is left alone, even against a mirror that
    says 1 everywhere; a tile that reaches it is averaged as before; the calls are counted."""
    calls: list[int] = []

    def network(batch: np.ndarray) -> np.ndarray:  # the plain view: 0.95 on dark pixels, 0.39 elsewhere
        calls.append(len(batch))
        out = np.where(batch.mean(axis=3) < 50, 0.95, 0.39).astype(np.float32)
        out[:, :, -4:] = 1.0 if len(calls) % 2 == 0 else out[:, :, -4:]  # the mirror pass fires on its right edge
        return out

    rng = np.random.default_rng(2)
    tiles = rng.integers(100, 200, (2, 32, 48, 3), dtype=np.uint8)
    tiles[0, 10:12, 5:40] = 10  # a crack in the first tile only
    full = flip_averaged(network, tiles)
    calls.clear()
    backend = FlipAveraged(network, mirror_from=mirror_cut(0.70))
    skipped = backend(tiles)
    assert calls == [2, 1] and (backend.tiles, backend.mirrored) == (2, 1)  # the mirror ran on the first tile only
    assert np.array_equal(skipped[0], full[0])
    assert np.array_equal(skipped[1], network(tiles[1:2])[0])  # the flat tile keeps its plain probabilities
    threshold_u8 = round(0.70 * 255)
    assert np.array_equal(to_u8(skipped) >= threshold_u8, to_u8(full) >= threshold_u8)  # every decision the same
    assert (to_u8(full[1]) < threshold_u8).all() and full[1, :, :4].max() > 0.69  # though the mirror nearly lifted it


def test_inspection_tta_skips_by_the_job_threshold_and_keys_it():
    """``--tta`` keys the cut of its threshold (a run at another threshold does not reuse its
    tiles), flow workers parse it back, and ``--threshold 0.5`` mirrors every tile."""
    if not (MODEL.exists() and SAMPLE.exists()):
        pytest.skip("shipped model or sample site missing")
    from cracks.config import InspectConfig
    from cracks.inspect.pipeline import config_predictor

    model = artifact.load(MODEL, lazy=True)
    predictor = config_predictor(model, InspectConfig(inputs=[], tta=True, half_scale=False))  # the mirror alone
    assert str(predictor.choice).endswith(" + tta from 0.392") and predictor.choice.passes.mirror_from == 0.392
    assert backends.BackendChoice.parse(str(predictor.choice)) == predictor.choice
    assert str(config_predictor(model, InspectConfig(inputs=[], tta=True, threshold=0.5, half_scale=False)).choice).endswith(" + tta")
    assert config_predictor(model, InspectConfig(inputs=[], half_scale=False)).choice.passes == Passes()  # no tta: nothing to skip
    with rasterio.open(SAMPLE) as src:  # the sample site's cracked road, and a bare patch of the same grey
        cracked = np.moveaxis(src.read(window=Window(0, 0, 256, 256)), 0, -1)
    rng = np.random.default_rng(3)
    flat = (np.median(cracked, axis=(0, 1)) + rng.normal(0, 3, cracked.shape)).clip(0, 255).astype(np.uint8)
    predictor([flat, cracked])
    assert (predictor.run.tiles, predictor.run.mirrored) == (2, 1)  # the real network: bare concrete needs no mirror
