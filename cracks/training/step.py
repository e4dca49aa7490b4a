"""One optimizer step, shared by ``cracks train`` and the GPU budget runs (``scripts/train_budget.py``).

Kept apart from the training loop so that a bare GPU machine can import it without the
evaluation and measurement stack (shapely, rasterio) that the loop needs.
"""

from __future__ import annotations

import torch

from cracks.errors import SettingError


def check_micro_batch(micro_batch: int | None, *, batch_size: int | None = None) -> None:
    """Refuse a micro-batch below one crop or above the batch it divides (None: the whole batch).

    One check for ``cracks train``, ``scripts/train_budget.py`` and :func:`train_step`, so that a
    wrong value stops a run before its data is read, with the same words everywhere."""
    if micro_batch is None:
        return
    if micro_batch < 1 or (batch_size is not None and micro_batch > batch_size):
        upper = f"--batch-size ({batch_size})" if batch_size is not None else "the batch size"
        raise SettingError("micro_batch", micro_batch, f"give between 1 and {upper} crops")


def train_step(model, images, masks, loss_fn, optimizer, scaler, device_type: str, amp: bool,
               *, amp_dtype: torch.dtype | None = None, micro_batch: int | None = None) -> torch.Tensor:
    """One optimizer step (forward, loss, backward, AdamW), mixed precision when ``amp``.

    ``scaler`` (a GradScaler) guards float16 gradients; bfloat16 (``amp_dtype``, what the GPU
    budget runs use) has float32's range and needs none: pass ``scaler=None``.

    ``micro_batch`` splits the batch into chunks of that many crops whose gradients add up before
    the one optimizer step, each loss weighted by its share of the batch: a CPU holds the
    activations of 8 crops of 256 px, not of the 64 that the GPU recipe steps on. With batch-norm
    statistics frozen (:func:`freeze_norm_statistics`) nothing else depends on the batch, so the
    step is the large batch's step up to how the loss pools its pixels (Dice is pooled per chunk).
    Returns the batch's loss.
    """
    optimizer.zero_grad(set_to_none=True)
    check_micro_batch(micro_batch)  # a last, smaller batch may be shorter than one micro-batch
    size = len(images)
    chunk = size if micro_batch is None else micro_batch
    total = torch.zeros((), device=images.device)
    for start in range(0, size, chunk):
        part = slice(start, start + chunk)
        with torch.autocast(device_type, dtype=amp_dtype, enabled=amp):
            loss = loss_fn(model(images[part]), masks[part]) * (len(images[part]) / size)
        (loss if scaler is None else scaler.scale(loss)).backward()
        total += loss.detach().float()
    if scaler is None:
        optimizer.step()
    else:
        scaler.step(optimizer)
        scaler.update()
    return total


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
