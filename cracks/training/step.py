"""One optimizer step, shared by ``cracks train`` and the GPU budget runs (``scripts/train_budget.py``).

Kept apart from the training loop so that a bare GPU machine can import it without the
evaluation and measurement stack (shapely, rasterio) that the loop needs.
"""

from __future__ import annotations

import torch


def train_step(model, images, masks, loss_fn, optimizer, scaler, device_type: str, amp: bool,
               *, amp_dtype: torch.dtype | None = None) -> torch.Tensor:
    """One optimizer step (forward, loss, backward, AdamW), mixed precision when ``amp``.

    ``scaler`` (a GradScaler) guards float16 gradients; bfloat16 (``amp_dtype``, what the GPU
    budget runs use) has float32's range and needs none: pass ``scaler=None``.
    """
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(device_type, dtype=amp_dtype, enabled=amp):
        loss = loss_fn(model(images), masks)
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return loss


def freeze_norm_statistics(model: torch.nn.Module) -> int:
    """Keep every batch-norm layer's running statistics as they are (the layers in eval mode;
    their scale and shift still learn). Returns the number of layers frozen.

    Fine-tuning a model trained with large batches (64 crops on a GPU) with the small batches a
    CPU affords (8 crops, often of one domain) replaces its statistics with noisy ones: measured,
    continuing the shipped model at batch 8 on the CPU lost 0.008 mean validation Dice (DeepCrack
    0.712 -> 0.669) after 706 steps, and 0.004 after 257 steps with the statistics frozen (README).
    Call it after every ``model.train()``.
    """
    layers = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for layer in layers:
        layer.eval()
    return len(layers)
