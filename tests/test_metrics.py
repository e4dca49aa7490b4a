"""Metrics against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from cracks.metrics import Scores, ThresholdSweep, counts


def test_hand_computed_counts():
    truth = np.array([[1, 1, 0, 0]], bool)
    pred = np.array([[1, 0, 1, 0]], bool)
    assert counts(pred, truth) == (1, 1, 1)
    s = Scores.from_counts(1, 1, 1)
    assert s.dice == pytest.approx(2 / 4) and s.iou == pytest.approx(1 / 3)
    assert s.precision == pytest.approx(0.5) and s.recall == pytest.approx(0.5)


def test_empty_masks():
    empty = np.zeros((4, 4), bool)
    assert Scores.from_counts(*counts(empty, empty)) == Scores(1.0, 1.0, 1.0, 1.0)
    full = np.ones((4, 4), bool)
    s = Scores.from_counts(*counts(full, empty))  # everything predicted, nothing there
    assert s.dice == 0.0 and s.precision == 0.0 and s.recall == 1.0
    s = Scores.from_counts(*counts(empty, full))  # nothing predicted, everything there
    assert s.dice == 0.0 and s.precision == 1.0 and s.recall == 0.0


def test_tolerance_accepts_near_misses():
    truth = np.zeros((10, 10), bool)
    truth[5, 2:8] = True
    shifted = np.roll(truth, 1, axis=0)
    assert Scores.from_counts(*counts(shifted, truth)).dice == 0.0
    assert Scores.from_counts(*counts(shifted, truth, tolerance=1)).dice == 1.0
    assert Scores.from_counts(*counts(np.roll(truth, 3, axis=0), truth, tolerance=2)).dice == 0.0


def test_ods_and_ois():
    # image A is best cut at 0.3, image B at 0.7: OIS picks each image's best, ODS one shared threshold
    truth_a = np.array([[1, 1, 0, 0]], bool)
    prob_a = np.array([[0.4, 0.4, 0.1, 0.1]])
    truth_b = np.array([[1, 0, 0, 0]], bool)
    prob_b = np.array([[0.9, 0.6, 0.6, 0.1]])
    sweep = ThresholdSweep(thresholds=np.array([0.3, 0.5, 0.7]))
    sweep.add(prob_a, truth_a)
    sweep.add(prob_b, truth_b)
    result = sweep.result(threshold=0.5)
    assert result.ois_f1 == pytest.approx(1.0)
    # at 0.3: A perfect (2 TP), B: TP 1 FP 2 -> total TP 3 FP 2 FN 0 -> F1 6/8
    # at 0.5: A: TP 0 FN 2; B: TP 1 FP 2 -> TP 1 FP 2 FN 2 -> 2/(2+2+2) = 1/3
    # at 0.7: A: FN 2; B: TP 1 -> TP 1 FN 2 -> 2/4
    assert result.ods_f1 == pytest.approx(0.75) and result.best_threshold == 0.3
    assert result.dice == pytest.approx(1 / 3) and result.n_images == 2
