"""Test-time augmentation: a response that follows the image is kept, one that does not is halved."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cracks.inspect.predictor import Predictor
from cracks.models import artifact, backends
from cracks.models.tta import flip_averaged
from tests.rasters import dark_pixel_predictor

MODEL = Path(__file__).resolve().parents[1] / "models" / "default"


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
    plain, mirrored = Predictor(model), Predictor(model, tta=True)
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
