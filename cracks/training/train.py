"""The training loop: resumable, tracked, selecting the best model by validation Dice.

Resuming works at step granularity because CPU epochs are long: every ``checkpoint_every``
steps the model, optimizer, scheduler and position are saved (atomically). The batch order of
each epoch is a pure function of ``seed + epoch``, so a resumed run sees exactly the batches
the killed run had not reached yet.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from cracks.atomic import atomic_path, write_json
from cracks.config import TrainConfig
from cracks.data.dataset import CrackDataset, init_loader_worker
from cracks.data.layouts import Pair, gather_pairs
from cracks.errors import ModelError, SettingError
from cracks.models import artifact
from cracks.models.factory import build_model, normalization_for
from cracks.models.predict import pick_device
from cracks.training.augment import train_transform
from cracks.training.evaluate import score_validation
from cracks.training.hard_negatives import PAINTERS
from cracks.training.losses import build_loss
from cracks.training.sampling import domain_name, epoch_batches, sample_weights, spread
from cracks.training.step import check_micro_batch, freeze_norm_statistics, train_step
from cracks.training.tracking import Tracker
from cracks.training.width_floor import model_width_floor

log = logging.getLogger(__name__)
CHECKPOINT = "checkpoints/last.pt"


@dataclass
class TrainResult:
    model_dir: Path
    best_dice: float
    threshold: float
    epochs_run: int
    history: list[dict[str, float]] = field(default_factory=list)
    comet_archive: Path | None = None
    seconds: float = 0.0


def manifest_sha256(pairs: list[Pair]) -> str:
    """Identifies the training data: names and sizes of every image and mask, in order."""
    digest = hashlib.sha256()
    for p in sorted(pairs, key=lambda p: str(p.image)):
        for path in (p.image, p.mask):
            digest.update(f"{path.name}:{path.stat().st_size};".encode())
    return digest.hexdigest()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int):
    total = max(1, config.epochs * steps_per_epoch)
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total, pct_start=0.1)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    raise SettingError("schedule", repr(config.schedule), "unknown schedule (choose onecycle, cosine)")


def _params(config: TrainConfig) -> dict:
    return {k: (str(v) if isinstance(v, Path) else [str(x) for x in v] if k == "data" else v)
            for k, v in dataclasses.asdict(config).items()}


def _initial_weights(config: TrainConfig) -> dict[str, torch.Tensor]:
    """The weights of ``config.init_model``, refused when its network is not the one being trained."""
    loaded = artifact.load(config.init_model)
    if (loaded.meta.arch, loaded.meta.encoder) != (config.arch, config.encoder):
        raise ModelError(config.init_model, f"is a {loaded.meta.arch}/{loaded.meta.encoder} model; "
                          f"this run trains {config.arch}/{config.encoder}")
    return {k: v.float() for k, v in loaded.model.state_dict().items()}


def train(config: TrainConfig) -> TrainResult:
    check_micro_batch(config.micro_batch, batch_size=config.batch_size)
    started = time.monotonic()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(config.seed)
    device = pick_device(config.device)
    use_amp = config.amp and device.type == "cuda"

    train_by_domain = {domain_name(root): gather_pairs([root], config.layout, config.train_split) for root in config.data}
    valid_by_domain = {domain_name(root): spread(gather_pairs([root], config.layout, config.valid_split),
                                                 config.max_valid_images) for root in config.data}
    train_pairs = [p for pairs in train_by_domain.values() for p in pairs]
    valid_pairs = [p for pairs in valid_by_domain.values() for p in pairs]
    normalization = normalization_for(config.arch, config.encoder)
    transform = train_transform(config.crop, scale=config.scale, hard_negatives=config.hard_negatives,
                                field_photometry=config.field_photometry, field_optics=config.field_optics)
    dataset = CrackDataset(train_pairs, normalization, transform)
    weights = sample_weights([len(p) for p in train_by_domain.values()], config.data_weights)

    model = build_model(config.arch, config.encoder, pretrained=config.pretrained and not config.init_model)
    if config.init_model:
        model.load_state_dict(_initial_weights(config))
    model = model.to(device)
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)
    loss_fn = build_loss(config.loss)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    def batches_of(epoch: int) -> list[list[int]]:
        return epoch_batches(len(dataset), config.batch_size, config.seed, epoch, config.max_steps_per_epoch,
                             weights=weights, samples=config.samples_per_epoch)

    steps_per_epoch = len(batches_of(0))
    scheduler = _scheduler(config, optimizer, steps_per_epoch)
    scaler = torch.amp.GradScaler(enabled=use_amp)

    state = {"epoch": 0, "step": 0, "best_dice": -1.0, "threshold": 0.5, "history": []}
    checkpoint = out / CHECKPOINT
    if config.resume and checkpoint.is_file():
        saved = torch.load(checkpoint, map_location=device, weights_only=True)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        scaler.load_state_dict(saved["scaler"])
        state = json.loads(saved["state"])
        print(f"resumed from {checkpoint} at epoch {state['epoch'] + 1} step {state['step']}", flush=True)
    elif config.resume:
        print(f"no checkpoint at {checkpoint}: starting fresh", flush=True)

    def save_checkpoint() -> None:
        with atomic_path(checkpoint) as tmp:
            torch.save({
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "state": json.dumps(state),
            }, tmp)

    manifest_hash = manifest_sha256(train_pairs + valid_pairs)
    run_name = config.experiment_name or out.name
    tracker = Tracker.start(config.comet, out, config.comet_project, run_name,
                            {**_params(config), "train_images": len(train_pairs), "valid_images": len(valid_pairs)})
    model_dir = out / "model"

    for epoch in range(state["epoch"], config.epochs):
        batches = batches_of(epoch)
        loader = DataLoader(dataset, batch_sampler=batches[state["step"]:], num_workers=config.workers,
                            worker_init_fn=init_loader_worker, persistent_workers=False)
        model.train()
        if config.freeze_norm:
            freeze_norm_statistics(model)
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch",
                   initial=state["step"], total=len(batches))
        running = 0.0
        for images, masks in bar:
            images = images.to(device, non_blocking=True)
            masks = masks.to(device, non_blocking=True)
            if device.type == "cpu":
                images = images.contiguous(memory_format=torch.channels_last)
            loss = train_step(model, images, masks, loss_fn, optimizer, scaler, device.type, use_amp,
                              micro_batch=config.micro_batch)
            scheduler.step()
            state["step"] += 1
            running = 0.9 * running + 0.1 * loss.item() if state["step"] > 1 else loss.item()
            bar.set_postfix(loss=f"{running:.3f}")
            if config.checkpoint_every and state["step"] % config.checkpoint_every == 0:
                save_checkpoint()

        def overlay(name: str, i: int, image, truth, probability) -> None:
            if i < 2:
                tracker.log_overlay(f"valid-{name}-{i}", image, truth, probability >= state["threshold"], epoch + 1)

        validation = score_validation(model, valid_by_domain, normalization, on_prediction=overlay)
        threshold, per_domain, scores = validation.threshold, validation.per_domain, validation.pooled
        metrics = {"loss": running, "val_dice": scores.dice, "val_iou": scores.iou, "val_precision": scores.precision,
                   "val_recall": scores.recall, "val_ois_f1": scores.ois_f1, "threshold": threshold,
                   **{f"val_dice_{name}": result.dice for name, result in per_domain.items()}}
        state["history"].append({"epoch": epoch + 1, **metrics})
        tracker.log_metrics(metrics, epoch + 1)
        print(f"epoch {epoch + 1}: loss {running:.4f} val dice {scores.dice:.4f} (mean over domains) "
              f"(threshold {threshold:.2f}); " + ", ".join(f"{n} {r.dice:.4f}" for n, r in per_domain.items()), flush=True)
        if scores.dice > state["best_dice"]:
            state["best_dice"], state["threshold"] = scores.dice, threshold
            meta = artifact.ModelMeta(
                arch=config.arch, encoder=config.encoder, in_channels=3, normalization=normalization,
                threshold=threshold, tile_size=config.tile_size,
                training={"datasets": [str(p) for p in config.data], "train_split": config.train_split,
                          "valid_split": config.valid_split, "manifest_sha256": manifest_hash,
                          "train_images": len(train_pairs), "valid_images": len(valid_pairs),
                          "epoch": epoch + 1, "epochs": config.epochs, "batch_size": config.batch_size,
                          "micro_batch": config.micro_batch,
                          "crop": config.crop, "loss": config.loss, "lr": config.lr, "schedule": config.schedule,
                          "seed": config.seed, "pretrained": config.pretrained, "device": device.type,
                          "data_weights": config.data_weights, "samples_per_epoch": config.samples_per_epoch,
                          "scale": list(config.scale), "hard_negatives": config.hard_negatives,
                          "hard_negative_kinds": list(PAINTERS) if config.hard_negatives else [],
                          "field_photometry": config.field_photometry, "field_optics": config.field_optics,
                          "init_model": str(config.init_model) if config.init_model else None},
                metrics={"valid": scores.to_dict(), **{f"valid:{n}": r.to_dict() for n, r in per_domain.items()}},
            )
            artifact.save(model, meta, model_dir, half=config.half_precision_artifact)
        state["epoch"], state["step"] = epoch + 1, 0
        save_checkpoint()
        write_json(out / "history.json", state["history"])

    if model_dir.is_dir():  # the best epoch's model carries its width floor (cracks.training.width_floor)
        best = artifact.load(model_dir, device=device)
        floor = model_width_floor(best.model, [p for pairs in valid_by_domain.values() for p in pairs],
                                  normalization, best.meta.threshold)
        artifact.update_meta(model_dir, width_floor_px=floor.px)
        print(f"width floor: {floor.px if floor.px is not None else 'not measured'} px "
              f"({floor.records} validation records)", flush=True)
    tracker.log_model("crack-segmentation", model_dir)
    archive = tracker.end()
    if archive:
        print(f"Comet offline archive: {archive} (send it with `comet upload {archive}`)", flush=True)
    return TrainResult(model_dir, state["best_dice"], state["threshold"], len(state["history"]),
                       state["history"], archive, time.monotonic() - started)
