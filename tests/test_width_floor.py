"""A model's width floor (cracks.training.width_floor) and where it is kept (model.json)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cracks.errors import ModelError
from cracks.models import artifact
from cracks.training.width_floor import MIN_RECORDS, record_widths, width_floor


def lines(widths: list[int], size: int = 400) -> np.ndarray:
    """Probabilities of horizontal cracks of these widths (px), 300 px long, 1.0 inside, 0 outside."""
    probability = np.zeros((size, size), np.float32)
    for i, width in enumerate(widths):
        probability[40 + 60 * i: 40 + 60 * i + width, 50:350] = 1.0
    return probability


def test_record_widths_are_the_drawn_widths_and_short_specks_are_left_out():
    probability = lines([1, 3, 5, 9])
    probability[390:395, 10:20] = 1.0  # a 10 px speck: no record of 20 px or more
    widths = sorted(record_widths(probability, 0.5))
    assert len(widths) == 4
    assert np.allclose(widths, [1, 3, 5, 9], atol=0.5)
    as_uint8 = sorted(record_widths((probability * 255).astype(np.uint8), 0.5))  # inspection's predictions
    assert np.allclose(as_uint8, widths)


def test_floor_is_the_first_percentile_and_needs_enough_records():
    widths = [3.0] * 10 + [8.0] * 990
    assert width_floor(widths).px == pytest.approx(np.percentile(widths, 1), abs=0.05)
    assert width_floor(widths).records == 1000
    too_few = width_floor([2.0] * (MIN_RECORDS - 1))
    assert too_few.px is None and too_few.records == MIN_RECORDS - 1


def test_update_meta_sets_a_field_and_keeps_the_rest(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    written = {"arch": "unet", "encoder": "e", "in_channels": 3, "normalization": {"mean": [0.5] * 3, "std": [0.5] * 3},
               "threshold": 0.6, "exports": {"int8": {"file": "model.int8.xml"}}, "a_field_of_a_later_version": 7}
    (folder / "model.json").write_text(json.dumps(written))
    artifact.update_meta(folder, width_floor_px=2.5)
    assert json.loads((folder / "model.json").read_text()) == {**written, "width_floor_px": 2.5}
    assert artifact.read_meta(folder).width_floor_px == 2.5
    with pytest.raises(ModelError, match="not a model artifact"):
        artifact.update_meta(tmp_path / "elsewhere", width_floor_px=1.0)
    assert not (tmp_path / "elsewhere").exists()
