"""Mirror distillation: the targets are the teacher's --tta probabilities, and a student trained on
them becomes mirror-consistent in one pass."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from cracks.errors import SettingError
from cracks.models import artifact
from cracks.models.factory import build_model, normalization_for
from cracks.models.tta import flip_averaged
from cracks.training.distill import check_distillation, distilled_targets, mirror_averaged_probabilities, teacher_threshold
from cracks.training.losses import build_loss


def _lopsided_net(seed: int = 0) -> nn.Module:
    """A small network whose kernels are not mirror-symmetric: its mirror pass differs from its plain one."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 5, padding=2), nn.ReLU(), nn.Conv2d(8, 1, 5, padding=2)).eval()


def _mirror_gap(net: nn.Module, images: torch.Tensor) -> float:
    with torch.no_grad():
        return float((torch.sigmoid(net(images)) - torch.sigmoid(net(images.flip(-1))).flip(-1)).abs().mean())


def test_targets_are_the_tta_average_of_the_teacher_and_mirror_with_the_image():
    teacher = _lopsided_net()
    images = torch.randn(2, 3, 24, 40)
    targets = mirror_averaged_probabilities(teacher, images)
    assert targets.shape == (2, 1, 24, 40) and targets.dtype == torch.float32
    # the same numbers as inspection's --tta (cracks.models.tta) on the same network
    def predict(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.sigmoid(teacher(torch.from_numpy(batch.copy()))).numpy()[:, 0]
    as_inspection = flip_averaged(lambda b: predict(b.transpose(0, 3, 1, 2)), images.numpy().transpose(0, 2, 3, 1))
    assert np.allclose(targets.numpy()[:, 0], as_inspection, atol=1e-6)
    # a left-right mirror of the crop gives the mirrored targets; the plain teacher does not
    assert torch.allclose(mirror_averaged_probabilities(teacher, images.flip(-1)), targets.flip(-1), atol=1e-6)
    assert _mirror_gap(teacher, images) > 0.01


def test_a_teacher_in_train_mode_is_refused():
    with pytest.raises(SettingError, match="eval mode"):
        mirror_averaged_probabilities(_lopsided_net().train(), torch.zeros(1, 3, 8, 8))


def test_label_share_mixes_the_mask_and_the_teacher():
    teacher_p = torch.full((1, 1, 2, 2), 0.4)
    masks = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    assert distilled_targets(teacher_p, masks, label_weight=0.0) is teacher_p
    assert torch.equal(distilled_targets(teacher_p, masks, label_weight=1.0), masks)
    assert torch.allclose(distilled_targets(teacher_p, masks, label_weight=0.25),
                          torch.tensor([[[[0.55, 0.3], [0.3, 0.55]]]]))
    for wrong in (-0.1, 1.5):
        with pytest.raises(SettingError, match="distill_label_weight"):
            distilled_targets(teacher_p, masks, label_weight=wrong)


def test_a_student_trained_on_the_targets_learns_the_mirror_average_in_one_pass():
    teacher = _lopsided_net()
    student = copy.deepcopy(teacher).train()
    images = torch.randn(4, 3, 32, 32)
    targets = mirror_averaged_probabilities(teacher, images)
    loss_fn = build_loss("bce")  # what distillation trains with
    optimizer = torch.optim.Adam(student.parameters(), lr=3e-3)

    def distance() -> float:
        with torch.no_grad():
            return float((torch.sigmoid(student(images)) - targets).abs().mean())

    before, gap_before = distance(), _mirror_gap(student, images)
    for _ in range(60):
        optimizer.zero_grad()
        loss_fn(student(images), targets).backward()
        optimizer.step()
    assert distance() < 0.5 * before  # its one pass is nearer the teacher's two
    assert _mirror_gap(student, images) < 0.5 * gap_before  # and nearer its own mirror


def _budget_script_with_teacher(tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    """scripts/train_budget.py distilling from the shipped model, on data that does not exist."""
    script = Path(__file__).resolve().parents[1] / "scripts" / "train_budget.py"
    return subprocess.run([sys.executable, str(script), "--data", str(tmp_path / "nothing"), "--run", "a=imagenet:1e-3",
                           "--minutes", "1", "--distill-mirror", "models/default", *options,
                           "--out", str(tmp_path / "out")], capture_output=True, text=True)


def test_the_budget_script_refuses_a_label_share_before_reading_data(tmp_path):
    done = _budget_script_with_teacher(tmp_path, "--distill-label-weight", "1.5")
    assert done.returncode == 2
    assert "--distill-label-weight 1.5: give a share between 0 and 1" in done.stderr
    assert not (tmp_path / "out").exists()


def test_distillation_takes_only_losses_that_fit_soft_targets_since_soft_dice_widens_the_masks():
    check_distillation(loss="bce", label_weight=0.0)
    check_distillation(loss="bce_decided_dice", label_weight=0.0)
    for loss in ("dice_bce", "tversky"):
        with pytest.raises(SettingError, match="--loss bce"):
            check_distillation(loss=loss, label_weight=0.0)
    # why: soft Dice's gradient on a soft target pushes a fringe pixel (target 0.5, under the 0.7
    # threshold) up, where BCE's leaves it at its target
    logits = torch.zeros(1, 1, 1, 3, requires_grad=True)  # predictions 0.5 everywhere
    target = torch.tensor([[[[1.0, 0.5, 0.0]]]])
    for name, fringe_rises in (("dice_bce", True), ("bce", False), ("bce_decided_dice", False)):
        logits.grad = None
        build_loss(name)(logits, target).backward()
        assert (logits.grad[0, 0, 0, 1] < -1e-6) == fringe_rises, name


def test_decided_dice_pulls_each_pixel_to_the_teachers_side_of_the_threshold():
    logits = torch.zeros(1, 1, 1, 3, requires_grad=True)  # the student at 0.5 everywhere
    target = torch.tensor([[[[0.9, 0.6, 0.1]]]])  # a crack, a fringe just under 0.7, background
    build_loss("bce_decided_dice")(logits, target).backward()
    crack, fringe, background = logits.grad[0, 0, 0].tolist()
    assert crack < 0 and fringe > 0 and background > 0  # up, down, down
    # BCE alone would lift the fringe towards its 0.6
    logits.grad = None
    build_loss("bce")(logits, target).backward()
    assert logits.grad[0, 0, 0, 1] < 0


def test_decided_dice_decides_at_the_teachers_own_threshold(tmp_path):
    logits = torch.zeros(1, 1, 1, 3, requires_grad=True)
    target = torch.tensor([[[[0.9, 0.6, 0.1]]]])  # the middle: crack for a teacher deciding at 0.55, not at 0.70
    pulls = []
    for threshold in (0.55, 0.70):
        logits.grad = None
        build_loss("bce_decided_dice", decision_threshold=threshold)(logits, target).backward()
        pulls.append(float(logits.grad[0, 0, 0, 1]))
    assert pulls[0] < 0 < pulls[1]  # up towards crack, then down
    # the threshold comes from the teacher's model.json unless given; a bare snapshot must be given one
    folder = tmp_path / "teacher"
    meta = artifact.ModelMeta(arch="plain-unet", encoder=None, in_channels=3,
                              normalization=normalization_for("plain-unet", None), threshold=0.55, tile_size=512)
    artifact.save(build_model("plain-unet", None, pretrained=False), meta, folder)
    assert teacher_threshold(folder, None) == 0.55 and teacher_threshold(folder, 0.8) == 0.8
    with pytest.raises(SettingError, match="without a threshold"):
        teacher_threshold(tmp_path / "run-100.safetensors", None)
    with pytest.raises(SettingError, match="between 0 and 1"):
        build_loss("bce_decided_dice", decision_threshold=1.5)


def test_the_budget_script_refuses_a_decision_threshold_without_decided_dice(tmp_path):
    done = _budget_script_with_teacher(tmp_path, "--distill-threshold", "0.6")
    assert done.returncode == 2
    assert "--distill-threshold 0.6: only --distill-mirror with --loss bce_decided_dice" in done.stderr
    assert not (tmp_path / "out").exists()


def test_decided_dice_bce_learns_the_teachers_decisions_as_hard_labels_so_the_scale_stays_sharp():
    """Where the teacher's averaged probability is 0.8, BCE on soft targets stops the student at
    0.8 (the next generation's probabilities soften); ``decided_dice_bce`` pulls it on to 1, and a
    fringe at 0.6 down to 0, at the teacher's own threshold."""
    check_distillation(loss="decided_dice_bce", label_weight=0.2)
    target = torch.tensor([[[[0.8, 0.6, 0.1]]]])  # crack, fringe under 0.7, background
    logits = torch.logit(target.clone()).requires_grad_(True)  # the student already gives the soft targets
    build_loss("bce")(logits, target).backward()
    assert logits.grad.abs().max() < 1e-6  # soft BCE: nothing more to learn
    logits.grad = None
    build_loss("decided_dice_bce")(logits, target).backward()
    crack, fringe, background = logits.grad[0, 0, 0].tolist()
    assert crack < 0 and fringe > 0 and background > 0  # crack up to 1, fringe and background down
    logits.grad = None
    build_loss("decided_dice_bce", decision_threshold=0.55)(logits, target).backward()
    assert logits.grad[0, 0, 0, 1] < 0  # a teacher deciding at 0.55 calls the fringe crack
    with pytest.raises(SettingError, match="between 0 and 1"):
        build_loss("decided_dice_bce", decision_threshold=0.0)
