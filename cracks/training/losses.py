"""Losses for thin, rare structures: Dice + BCE by default; focal, Tversky and a skeleton-recall
term selectable; plain BCE for soft targets (mirror distillation, ``cracks/training/distill.py``)."""

from __future__ import annotations

import numpy as np
import segmentation_models_pytorch as smp
import torch
from torch import nn

from cracks.errors import SettingError

LOSSES = ("dice_bce", "dice_bce_skeleton", "focal", "tversky", "bce", "bce_decided_dice", "decided_dice_bce")
SOFT_TARGET_LOSSES = ("bce", "bce_decided_dice", "decided_dice_bce")
DECIDING_LOSSES = ("bce_decided_dice", "decided_dice_bce")  # they threshold soft targets at the teacher's threshold


class DiceBCE(nn.Module):
    """Dice handles the class imbalance (cracks are ~2-5 % of pixels); BCE keeps gradients smooth."""

    def __init__(self) -> None:
        super().__init__()
        self.dice = smp.losses.DiceLoss("binary", from_logits=True)
        self.bce = nn.BCEWithLogitsLoss()

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.dice(logits, target) + self.bce(logits, target)


def tubed_skeletons(target: torch.Tensor) -> torch.Tensor:
    """The one-pixel centerlines of a batch of masks (N, 1, H, W), widened to 3 px (a 3x3 cross)
    within the mask: a crack drawn 1-2 px wide is its own tube.

    Computed on the CPU with scikit-image: a few milliseconds for a batch of 256 px crops, small
    beside a training step, and only the masks (not the network's output) need it.
    """
    from scipy import ndimage
    from skimage.morphology import skeletonize

    masks = target.detach().float().cpu().numpy() > 0.5
    tubes = np.zeros(masks.shape, dtype=np.float32)
    cross = ndimage.generate_binary_structure(2, 1)
    for index in np.ndindex(masks.shape[:-2]):
        if masks[index].any():
            tubes[index] = ndimage.binary_dilation(skeletonize(masks[index]), structure=cross) & masks[index]
    return torch.from_numpy(tubes).to(target.device)


class SkeletonRecall(nn.Module):
    """1 - the share of the masks' centerlines that the prediction covers (Kirchhoff et al., 2024,
    "Skeleton Recall Loss for Connectivity Conserving and Resource Efficient Segmentation of
    Thin Tubular Structures").

    Why: Dice weighs a crack by its area, so a thin faint crack missed whole costs little against a
    wide one drawn a pixel too narrow; the field model misses exactly those (UAV-CrackX recall
    0.69). Counting centerline pixels weighs every crack by its length instead, whatever its width.
    """

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        tubes = tubed_skeletons(target)
        total = tubes.sum()
        if total == 0:
            return logits.sum() * 0.0  # a batch without cracks: nothing to recall, keep the graph
        covered = (torch.sigmoid(logits.float()) * tubes).sum()
        return 1.0 - covered / total


class DiceBCESkeleton(nn.Module):
    """Dice + BCE + ``weight`` x skeleton recall."""

    def __init__(self, *, weight: float = 1.0) -> None:
        super().__init__()
        self.base, self.skeleton, self.weight = DiceBCE(), SkeletonRecall(), weight

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.base(logits, target) + self.weight * self.skeleton(logits, target)


class BCEDecidedDice(nn.Module):
    """BCE on soft targets + Dice on their decisions (the targets at ``threshold``).

    For mirror distillation (``cracks/training/distill.py``): in an hour on the CPU, BCE alone kept
    the teacher's widths but did not learn the false alarms its mirror average drops, and Dice on
    the soft targets learned those and widened the crack by its fringe (README, "Session 24").
    Dice on the teacher's *decisions* pulls each pixel to the side of the threshold the teacher
    put it on, fringe and artefacts alike. ``threshold`` is the teacher's own (``build_loss``'s
    ``decision_threshold``; ``scripts/train_budget.py`` reads it from the teacher's ``model.json``). Measured
    on the CPU (README, "Session 24" and "Session 25"): 18 minutes raised DeepCrack valid Dice
    0.717 -> 0.734 and cut tining on crack-free walls 252 -> 55 px/MP, but lost the never-trained
    CrackForest (2 px 0.809 -> 0.793, under blur 0.621 -> 0.574), and 75 minutes ended below the
    teacher; so it is a tool for distillation experiments, not the shipped model's recipe.
    """

    def __init__(self, *, threshold: float = 0.7) -> None:
        super().__init__()
        if not 0.0 < threshold < 1.0:
            raise SettingError("distill_threshold", threshold, "give a probability between 0 and 1")
        self.threshold = threshold
        self.bce = nn.BCEWithLogitsLoss()
        self.dice = smp.losses.DiceLoss("binary", from_logits=True)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.bce(logits, target) + self.dice(logits, (target >= self.threshold).float())


class DecidedDiceBCE(nn.Module):
    """Dice + BCE on the soft targets' decisions alone: the teacher's decisions as hard labels.

    For mirror distillation: BCE on soft targets teaches the student the teacher's averaged
    probabilities, and averaging two views lowers them wherever the views disagree, so each
    generation's probabilities come out softer and its best threshold sinks (session 27: a second
    generation matched its teacher's decisions at 0.45, not 0.70; judged at a matched Dice it was
    no better). Hard targets keep the student's scale from softening. Measured (README, "Mirror
    distillation"; 70 minutes on the CPU): they harden it instead, the probabilities nearly binary,
    and the teacher's remaining false alarms, pushed to 1, grew tenfold on walls (stains 78 -> 761
    px/MP); a tool for experiments, not adopted.
    """

    def __init__(self, *, threshold: float = 0.7) -> None:
        super().__init__()
        if not 0.0 < threshold < 1.0:
            raise SettingError("distill_threshold", threshold, "give a probability between 0 and 1")
        self.threshold = threshold
        self.base = DiceBCE()

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.base(logits, (target >= self.threshold).float())


def build_loss(name: str, *, decision_threshold: float | None = None) -> nn.Module:
    """The training loss called ``name``. ``decision_threshold``: where ``bce_decided_dice`` and
    ``decided_dice_bce`` decide their soft targets, the teacher's threshold (None: their default of
    0.7; the others ignore it)."""
    if name == "dice_bce":
        return DiceBCE()
    if name == "dice_bce_skeleton":
        return DiceBCESkeleton()
    if name == "bce":
        return nn.BCEWithLogitsLoss()
    if name in DECIDING_LOSSES:
        deciding = BCEDecidedDice if name == "bce_decided_dice" else DecidedDiceBCE
        return deciding() if decision_threshold is None else deciding(threshold=decision_threshold)
    if name == "focal":
        return smp.losses.FocalLoss("binary")
    if name == "tversky":
        return smp.losses.TverskyLoss("binary", from_logits=True, alpha=0.3, beta=0.7)
    raise SettingError("loss", repr(name), f"unknown loss (choose {', '.join(LOSSES)})")
