"""Mirror distillation: train a network to give in one pass what its teacher gives with ``--tta``.

Why: mirror averaging (``cracks/models/tta.py``) is the one measure that lowered false cracks on
every artefact and raised Dice on every domain (crack-free walls: stains 726 -> 372 px/MP, tining
252 -> 56; drone tiles 17-29 % fewer), but it doubles the network's time, so inspection offers it
as an option. A student trained on the teacher's mirror-averaged probabilities (soft targets, the
teacher frozen) learns to drop what the mirror drops, and inspection keeps one pass.

The loss must fit soft targets: BCE, whose optimum on a soft target is the target itself, or BCE
plus Dice on the teacher's decisions (``bce_decided_dice``). Soft Dice's optimum is not the target: its
gradient pushes every pixel whose target exceeds half the current Dice (about 0.4) towards 1, so
the crack's fringe, which the teacher scores 0.4-0.7 and leaves out, is learned as crack and the
masks widen. Measured (session 24, half an hour on the CPU with Dice + BCE): the predicted crack
area on DeepCrack valid went from 1.59x to 1.66x the drawn one and its Dice from 0.717 to 0.699,
while the false alarms fell as planned.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from cracks.errors import SettingError
from cracks.models import artifact
from cracks.training.losses import SOFT_TARGET_LOSSES


@torch.no_grad()
def mirror_averaged_probabilities(teacher: nn.Module, images: torch.Tensor, *, amp: bool = False,
                                  amp_dtype: torch.dtype = torch.bfloat16) -> torch.Tensor:
    """The teacher's probabilities (N, 1, H, W), float32, averaged over each normalized image and
    its left-right mirror (mirrored back): ``FlipAveraged`` on a training batch.

    The teacher must be in eval mode (its batch-norm statistics as shipped); that is checked,
    because a teacher in train mode would silently give targets that depend on the batch.
    """
    if teacher.training:
        raise SettingError("teacher", type(teacher).__name__, "put the teacher in eval mode first")
    with torch.autocast(images.device.type, dtype=amp_dtype, enabled=amp):
        direct = torch.sigmoid(teacher(images).float())
        mirrored = torch.sigmoid(teacher(images.flip(-1)).float()).flip(-1)
    return (direct + mirrored) * 0.5


def _check_label_weight(label_weight: float) -> None:
    if not 0.0 <= label_weight <= 1.0:
        raise SettingError("distill_label_weight", label_weight, "give a share between 0 and 1")


def check_distillation(*, loss: str, label_weight: float) -> None:
    """Refuse, before a run reads its data, a label share outside [0, 1] and a loss that does not
    fit soft targets (see the module's note on Dice)."""
    _check_label_weight(label_weight)
    if loss not in SOFT_TARGET_LOSSES:
        raise SettingError("loss", loss, f"distillation's soft targets need --loss {', '.join(SOFT_TARGET_LOSSES)} "
                                         "(soft Dice on soft targets widens the masks)")


def teacher_threshold(teacher: str | Path, given: float | None) -> float:
    """Where the teacher decides crack: ``given``, else its model folder's ``model.json`` threshold.

    ``bce_decided_dice`` thresholds the teacher's probabilities; another teacher's threshold (the
    shipped model's 0.70 was once hard-coded) would decide its fringe on the wrong side. A bare
    ``.safetensors`` snapshot carries no threshold, so one must be given.
    """
    if given is not None:
        return given
    path = Path(teacher)
    if path.is_dir():
        return artifact.read_meta(path).threshold
    raise SettingError("distill_threshold", "(none)", f"{teacher} is a snapshot without a threshold: give the teacher's")


def distilled_targets(teacher_probabilities: torch.Tensor, masks: torch.Tensor, *, label_weight: float) -> torch.Tensor:
    """Soft targets: ``label_weight`` x the mask + the rest x the teacher's probabilities.

    0 is pure distillation (the labels unused), 1 the labels alone (ordinary training)."""
    _check_label_weight(label_weight)
    if label_weight == 0.0:
        return teacher_probabilities
    return label_weight * masks.float() + (1.0 - label_weight) * teacher_probabilities
