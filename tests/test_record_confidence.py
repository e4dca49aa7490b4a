"""scripts/record_confidence.py: records scored true or false by where their centerlines lie."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from record_confidence import scored_records  # noqa: E402

from cracks.synthetic import draw_cracks, straight  # noqa: E402


def test_a_record_on_a_drawn_crack_is_true_and_one_off_it_false_each_with_its_confidence():
    drawn = straight(20, 30.25, 380, 30.25, 3)
    truth = draw_cracks((160, 400), [drawn])
    found = draw_cracks((160, 400), [straight(20, 31.25, 380, 31.25, 4), straight(40, 120.25, 300, 120.25, 3)])
    probability = np.where(found, 0.9, 0.05).astype(np.float32)
    probability[100:][found[100:]] = 0.75  # the false one, less sure
    scored = sorted(scored_records(probability, truth, 0.7), reverse=True)
    assert [(round(c, 2), t) for c, t in scored] == [(0.9, True), (0.75, False)]
    assert [t for _, t in scored_records(probability, np.zeros_like(truth), 0.7)] == [False, False]  # crack-free
