"""Turning images into crack probabilities with a loaded model."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cracks.errors import SettingError
from cracks.models.hardware import cpu_has_native_bf16, resolve_device
from cracks.models.names import STRIDE

__all__ = ["STRIDE", "cpu_has_native_bf16", "pick_device", "predict_probabilities"]


def pick_device(device: str = "auto") -> torch.device:
    return torch.device(resolve_device(device))


def normalize(batch_uint8: np.ndarray, normalization: dict[str, list[float]]) -> torch.Tensor:
    """NxHxWx3 uint8 -> Nx3xHxW float tensor."""
    x = torch.from_numpy(np.require(batch_uint8, requirements=["C", "W"])).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(normalization["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(normalization["std"]).view(1, -1, 1, 1)
    return (x - mean) / std


@torch.inference_mode()
def predict_logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Pad to a multiple of the encoder stride (reflect), run, crop back."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % STRIDE, (-w) % STRIDE
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return model(x)[..., :h, :w]


TORCH_PRECISIONS = ("fp32", "bf16")


def autocast(device: torch.device, precision: str):
    """fp16 autocast on CUDA; bf16 autocast on the CPU when asked (AVX-512 BF16 / AMX make it fast)."""
    if precision not in TORCH_PRECISIONS:
        raise SettingError("precision", repr(precision), f"unknown precision (choose {', '.join(TORCH_PRECISIONS)})")
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16 if precision == "bf16" else torch.float16)
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")


def predict_probabilities(
    model: nn.Module, batch_uint8: np.ndarray, normalization: dict[str, list[float]], device: torch.device | None = None,
    precision: str = "fp32",
) -> np.ndarray:
    """NxHxWx3 uint8 images -> NxHxW float32 probabilities."""
    device = device or next(model.parameters()).device
    x = normalize(batch_uint8, normalization).to(device)
    if device.type == "cpu":
        x = x.contiguous(memory_format=torch.channels_last)
    with autocast(device, precision):
        logits = predict_logits(model, x)
    return torch.sigmoid(logits.float())[:, 0].cpu().numpy()
