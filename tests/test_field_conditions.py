"""scripts/field_conditions.py: the survey degradations it scores the model under."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from cracks.synthetic import crack_scene

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
conditions = importlib.import_module("field_conditions")


@pytest.mark.parametrize("name", sorted(conditions.CONDITIONS))
def test_each_condition_degrades_a_photo_reproducibly(name):
    image, _ = crack_scene(96, 128, seed=2, n_cracks=2)
    one = conditions.CONDITIONS[name](image, np.random.default_rng(7))
    two = conditions.CONDITIONS[name](image, np.random.default_rng(7))
    assert one.shape == image.shape and one.dtype == np.uint8 and np.array_equal(one, two)
    assert np.array_equal(one, image) == (name == "clean")


def test_the_shadow_darkens_part_of_the_photo_to_forty_percent():
    image = np.full((64, 64, 3), 200, np.uint8)
    shaded = conditions.CONDITIONS["shadow"](image, np.random.default_rng(1))
    assert set(np.unique(shaded)) == {80, 200} and 0.2 < (shaded == 80).mean() < 0.8
