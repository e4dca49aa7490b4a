"""Facts about the networks that need no torch: names, defaults, the encoder stride.

Configs, the CLI and the OpenVINO path read these; importing them must not import PyTorch
(about 2 s and several hundred MB before any work starts).
"""

from __future__ import annotations

SMP_ENCODER = "timm-tf_efficientnet_lite0"
DEFAULT_ARCH = "unet"
DEFAULT_ENCODER = SMP_ENCODER
BASELINE_ARCH = "plain-unet"
STRIDE = 32  # every smp encoder downsamples by 32: inputs are padded to a multiple of it
