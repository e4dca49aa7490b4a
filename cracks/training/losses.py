"""Losses for thin, rare structures: Dice + BCE by default; focal and Tversky selectable."""

from __future__ import annotations

import segmentation_models_pytorch as smp
import torch
from torch import nn

from cracks.errors import SettingError


class DiceBCE(nn.Module):
    """Dice handles the class imbalance (cracks are ~2-5 % of pixels); BCE keeps gradients smooth."""

    def __init__(self) -> None:
        super().__init__()
        self.dice = smp.losses.DiceLoss("binary", from_logits=True)
        self.bce = nn.BCEWithLogitsLoss()

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.dice(logits, target) + self.bce(logits, target)


def build_loss(name: str) -> nn.Module:
    if name == "dice_bce":
        return DiceBCE()
    if name == "focal":
        return smp.losses.FocalLoss("binary")
    if name == "tversky":
        return smp.losses.TverskyLoss("binary", from_logits=True, alpha=0.3, beta=0.7)
    raise SettingError("loss", repr(name), "unknown loss (choose dice_bce, focal, tversky)")
