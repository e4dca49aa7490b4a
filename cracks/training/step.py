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
