"""Flows ``train``, ``evaluate`` and ``export`` (same code paths as the ``cracks`` commands)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from cracks.config import EvaluateConfig, ExportConfig, TrainConfig
from cracks.models.export import export_int8
from cracks.models.names import DEFAULT_ARCH, DEFAULT_ENCODER
from cracks.training.evaluate import evaluate as evaluate_model
from cracks.training.train import train as train_model

DEFAULT_DATA = ["../shared/data/deepcrack", "../shared/data/crack500"]
FIELD_DATA = DEFAULT_DATA + ["../shared/data/uav-crackx", "../shared/data/concrete-walls"]


@flow(name="train", log_prints=True)
def train(
    data: list[str] = FIELD_DATA,
    out: str = str(TrainConfig.out),
    arch: str = DEFAULT_ARCH,
    encoder: str | None = DEFAULT_ENCODER,
    init_model: str | None = None,
    freeze_norm: bool = TrainConfig.freeze_norm,
    epochs: int = TrainConfig.epochs,
    batch_size: int = TrainConfig.batch_size,
    crop: int = TrainConfig.crop,
    lr: float = TrainConfig.lr,
    loss: str = TrainConfig.loss,
    data_weights: list[float] | None = None,
    samples_per_epoch: int | None = None,
    scale: tuple[float, float] = TrainConfig.scale,
    hard_negatives: float = TrainConfig.hard_negatives,
    field_photometry: bool = TrainConfig.field_photometry,
    field_optics: bool = TrainConfig.field_optics,
    max_steps_per_epoch: int | None = None,
    max_valid_images: int | None = None,
    resume: bool = True,
    device: str = TrainConfig.device,
    comet: bool = TrainConfig.comet,
) -> dict:
    """Resumes by default: a re-run of a crashed deployment continues from its last checkpoint."""
    config = TrainConfig(data=[Path(p) for p in data], out=Path(out), arch=arch, encoder=encoder,
                         init_model=Path(init_model) if init_model else None, freeze_norm=freeze_norm, epochs=epochs,
                         batch_size=batch_size,
                         crop=crop, lr=lr, loss=loss, data_weights=data_weights, samples_per_epoch=samples_per_epoch,
                         scale=tuple(scale), hard_negatives=hard_negatives, field_photometry=field_photometry,
                         field_optics=field_optics,
                         max_steps_per_epoch=max_steps_per_epoch, max_valid_images=max_valid_images,
                         resume=resume, device=device, comet=comet, workers=1)
    result = train_model(config)
    get_run_logger().info("best validation dice %.4f at threshold %.2f -> %s", result.best_dice, result.threshold, result.model_dir)
    return {"model_dir": str(result.model_dir), "best_dice": result.best_dice, "threshold": result.threshold,
            "comet_archive": str(result.comet_archive) if result.comet_archive else None}


@flow(name="evaluate", log_prints=True)
def evaluate(model: str = "models/default", data: list[str] = ["../shared/data/deepcrack"], split: str = EvaluateConfig.split,
             layout: str = EvaluateConfig.layout, tolerance: int = EvaluateConfig.tolerance) -> dict:
    result = evaluate_model(EvaluateConfig(Path(model), [Path(p) for p in data], layout, split, tolerance), progress=False)
    get_run_logger().info("%s on %s/%s: %s", model, data, split, result.to_dict())
    return result.to_dict()


@flow(name="export", log_prints=True)
def export(model: str = "models/default", data: list[str] = DEFAULT_DATA, split: str = "train",
           max_drop: float = ExportConfig.max_drop) -> dict:
    """int8 export for fast CPU inspection, validation Dice kept within ``max_drop`` (cracks export)."""
    result = export_int8(ExportConfig(Path(model), [Path(p) for p in data], split=split, max_drop=max_drop))
    get_run_logger().info("%s: validation Dice %.4f (float) -> %.4f (int8)", result.path, result.dice_float, result.dice_int8)
    return {"path": str(result.path), "dice_float": result.dice_float, "dice_int8": result.dice_int8}
