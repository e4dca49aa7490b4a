"""The training losses on drawn masks: what each one counts."""

from __future__ import annotations

import pytest
import torch

from cracks.errors import SettingError
from cracks.training.losses import SkeletonRecall, build_loss, tubed_skeletons


def two_cracks() -> torch.Tensor:
    """One image: a wide crack (12 px x 200 px) and a thin one (2 px x 100 px)."""
    mask = torch.zeros(1, 1, 128, 256)
    mask[0, 0, 20:32, 20:220] = 1
    mask[0, 0, 90:92, 60:160] = 1
    return mask


def logits_of(mask: torch.Tensor) -> torch.Tensor:
    return (mask * 2 - 1) * 20.0  # a sure prediction of exactly this mask


def test_a_missed_thin_crack_costs_skeleton_recall_its_share_of_length_not_of_area():
    truth = two_cracks()
    wide_only = truth.clone()
    wide_only[0, 0, 80:100] = 0
    dice = build_loss("dice_bce").dice
    skeleton = SkeletonRecall()
    # Dice barely notices the thin crack (200 of 2,600 crack pixels) ...
    assert dice(logits_of(wide_only), truth).item() < 0.05
    # ... skeleton recall counts it by its length: about a third of the centerlines (100 of ~290 px)
    missed = skeleton(logits_of(wide_only), truth).item()
    assert 0.25 < missed < 0.4
    assert skeleton(logits_of(truth), truth).item() < 1e-6


def test_tubed_skeletons_are_three_pixels_wide_whatever_the_crack_width():
    tubes = tubed_skeletons(two_cracks())[0, 0]
    assert tubes[20:32, 100].sum() == 3  # across the 12 px crack
    assert tubes[88:94, 110].sum() == 2  # across the 2 px crack: the crack itself
    assert tubes[:, 240:].sum() == 0 and tubes[50:80].sum() == 0


def test_skeleton_loss_trains_and_a_batch_without_cracks_gives_zero_with_a_gradient():
    loss = build_loss("dice_bce_skeleton")
    logits = torch.zeros(2, 1, 64, 64, requires_grad=True)
    empty = torch.zeros(2, 1, 64, 64)
    value = SkeletonRecall()(logits, empty)
    value.backward()
    assert value.item() == 0.0 and logits.grad is not None
    truth = torch.zeros(2, 1, 64, 64)
    truth[:, :, 30:33, 5:60] = 1
    logits = torch.zeros(2, 1, 64, 64, requires_grad=True)
    loss(logits, truth).backward()
    assert logits.grad[:, :, 31, 10:50].lt(0).all()  # pushed up along the crack


def test_an_unknown_loss_is_refused_with_the_choices():
    with pytest.raises(SettingError, match="dice_bce_skeleton"):
        build_loss("clDice")
