"""Training throughput of the default model: images/s and time per epoch (CPU, and CUDA if present).

    .venv/bin/python benchmarks/train_throughput.py [--steps 20]

Times full optimizer steps (forward, Dice+BCE loss, backward, AdamW) on random batches after a
warm-up; the epoch estimate is for DeepCrack + CRACK500 train (8178 images). Data loading and
augmentation are excluded: they run in worker processes alongside.
"""

from __future__ import annotations

import argparse
import time

import torch

from cracks.models.factory import build_model
from cracks.models.hardware import cpu_model
from cracks.training.losses import build_loss
from cracks.training.step import train_step

EPOCH_IMAGES = 2908 + 5270


def bench(device: torch.device, batch: int, crop: int, steps: int, amp: bool) -> float:
    model = build_model(pretrained=False).to(device)
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = build_loss("dice_bce")
    x = torch.randn(batch, 3, crop, crop, device=device)
    y = (torch.rand(batch, 1, crop, crop, device=device) > 0.95).float()
    scaler = torch.amp.GradScaler(enabled=amp)

    def step() -> None:
        train_step(model, x, y, loss_fn, optimizer, scaler, device.type, amp)

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
    configs = [(torch.device("cpu"), 16, 128, False), (torch.device("cpu"), 8, 256, False)]
    if torch.cuda.is_available():
        configs += [(torch.device("cuda"), 64, 128, True), (torch.device("cuda"), 32, 256, True)]
    print(f"CPU {cpu_model()}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    print("| device | batch | crop | AMP | images/s | s/step | epoch (8178 images) |")
    print("|---|---|---|---|---|---|---|")
    for device, batch, crop, amp in configs:
        ips = bench(device, batch, crop, args.steps, amp)
        name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
        print(f"| {name} | {batch} | {crop} | {amp} | {ips:.1f} | {batch / ips:.2f} | {EPOCH_IMAGES / ips / 60:.1f} min |", flush=True)


if __name__ == "__main__":
    main()
