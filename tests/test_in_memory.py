"""Whole images segmented in inspection's windows (:mod:`tiling.in_memory`)."""

from __future__ import annotations

import numpy as np

from tiling.in_memory import predict_in_windows


def test_a_pixelwise_predictor_gives_the_whole_image_result_from_bounded_windows():
    image = np.random.default_rng(0).integers(0, 256, (700, 1000, 3), dtype=np.uint8)
    seen = []

    def brightness(batch: np.ndarray) -> np.ndarray:
        seen.append(batch.shape[1:3])
        return batch[..., 0] / 255.0

    tiled = predict_in_windows(image, brightness, tile=256, overlap=64)
    assert tiled.shape == (700, 1000) and tiled.dtype == np.float32
    np.testing.assert_allclose(tiled, image[..., 0] / 255.0, atol=1e-5)  # the blend weights sum to one everywhere
    assert len(seen) > 1 and max(max(s) for s in seen) <= 256


def test_an_image_within_one_tile_goes_through_whole():
    image = np.zeros((300, 500, 3), np.uint8)
    seen = []
    predict_in_windows(image, lambda b: seen.append(b.shape) or np.zeros(b.shape[:3]), tile=1024, overlap=128)
    assert seen == [(1, 300, 500, 3)]
