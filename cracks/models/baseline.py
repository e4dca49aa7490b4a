"""The original project's baseline: a plain U-Net (Ronneberger et al. 2015), trained from scratch.

Kept so that every experiment can show what the pretrained smp models add.
"""

from __future__ import annotations

import torch
from torch import nn


def _double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class PlainUNet(nn.Module):
    """Four down-sampling stages, skip connections, one output logit per pixel."""

    def __init__(self, in_channels: int = 3, classes: int = 1, base: int = 16):
        super().__init__()
        widths = [base * 2**i for i in range(5)]
        self.downs = nn.ModuleList()
        cin = in_channels
        for w in widths:
            self.downs.append(_double_conv(cin, w))
            cin = w
        self.ups = nn.ModuleList()
        self.up_convs = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.ups.append(nn.ConvTranspose2d(w * 2, w, 2, stride=2))
            self.up_convs.append(_double_conv(w * 2, w))
        self.head = nn.Conv2d(widths[0], classes, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, down in enumerate(self.downs):
            x = down(x if i == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for up, conv in zip(self.ups, self.up_convs):
            x = conv(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)
