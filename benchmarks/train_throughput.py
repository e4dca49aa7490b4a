"""Training throughput of the default model: images/s and time per epoch (CPU, and CUDA if present).

    .venv/bin/python benchmarks/train_throughput.py [--steps 20]

Times full optimizer steps (forward, Dice+BCE loss, backward, AdamW) on random batches after a
warm-up; the epoch estimate is for DeepCrack + CRACK500 train (8178 images). Data loading and
augmentation are excluded: they run in worker processes alongside. The CPU's fine-tuning rows
(batch-norm statistics frozen, as ``--freeze-norm`` trains) compare float32 with the bfloat16
autocast of ``scripts/train_budget.py --cpu-bf16``, and a batch of 64 in micro-batches of 8.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import torch

from cracks.models.factory import build_model
from cracks.models.hardware import cpu_model
from cracks.training.losses import build_loss
from cracks.training.step import freeze_norm_statistics, train_step

EPOCH_IMAGES = 2908 + 5270


@dataclass(frozen=True)
class Setting:
    device: torch.device
    batch: int
    crop: int
    precision: str = "fp32"  # fp32, fp16 (autocast with a gradient scaler) or bf16 (autocast)
    frozen_norm: bool = False
    micro_batch: int | None = None


def bench(setting: Setting, steps: int) -> float:
    device, batch, crop = setting.device, setting.batch, setting.crop
    model = build_model(pretrained=False).to(device)
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)
    if setting.frozen_norm:
        freeze_norm_statistics(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = build_loss("dice_bce")
    x = torch.randn(batch, 3, crop, crop, device=device)
    if device.type == "cpu":
        x = x.contiguous(memory_format=torch.channels_last)
    y = (torch.rand(batch, 1, crop, crop, device=device) > 0.95).float()
    amp = setting.precision != "fp32"
    dtype = torch.bfloat16 if setting.precision == "bf16" else torch.float16
    scaler = torch.amp.GradScaler(enabled=True) if setting.precision == "fp16" else None

    def step() -> None:
        train_step(model, x, y, loss_fn, optimizer, scaler, device.type, amp, amp_dtype=dtype,
                   micro_batch=setting.micro_batch)

    for _ in range(3):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    settings = [Setting(cpu, 16, 128), Setting(cpu, 8, 256), Setting(cpu, 8, 256, frozen_norm=True),
                Setting(cpu, 8, 256, "bf16", frozen_norm=True), Setting(cpu, 64, 256, "bf16", True, micro_batch=8)]
    if torch.cuda.is_available():
        settings += [Setting(cuda, 64, 128, "fp16"), Setting(cuda, 32, 256, "fp16")]
    print(f"CPU {cpu_model()}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    print("| device | batch | micro-batch | crop | precision | frozen norm | images/s | s/step | epoch (8178 images) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for setting in settings:
        ips = bench(setting, args.steps)
        name = torch.cuda.get_device_name() if setting.device.type == "cuda" else "cpu"
        print(f"| {name} | {setting.batch} | {setting.micro_batch or '-'} | {setting.crop} | {setting.precision} "
              f"| {setting.frozen_norm} | {ips:.1f} | {setting.batch / ips:.2f} | {EPOCH_IMAGES / ips / 60:.1f} min |",
              flush=True)


if __name__ == "__main__":
    main()
