"""int8 exports of a model, for fast CPU inference with OpenVINO, kept within a Dice budget.

Plain post-training quantization costs this model 0.09 Dice on DeepCrack valid (0.824 -> 0.730):
a few layers do not survive 8 bits (measured: the first depthwise convolution and the decoder
block that joins the half-resolution skip). NNCF's accuracy-controlled quantization finds such
layers itself: it quantizes with calibration images, measures Dice on validation images, and
returns the most sensitive layers to floating point until the drop is within ``max_drop``. That
works for any architecture a user trains, not only the shipped one.

The export lives beside the weights (``model.int8.xml`` + ``.bin``, OpenVINO IR: a graph and raw
tensors, no code) and is recorded in ``model.json`` under ``exports`` with the sha256 of the
weights it was made from; a retrained model therefore never runs a stale export.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cracks.atomic import write_json
from cracks.data.masks import read_image, read_mask
from cracks.errors import InputError
from cracks.hashing import cached_file_sha256
from cracks.models import artifact
from cracks.models.export_record import INT8_FILE, weights_sha256
from cracks.models.names import STRIDE

if TYPE_CHECKING:  # the job's settings object; models never import the config layer at run time
    from cracks.config import ExportConfig

log = logging.getLogger(__name__)


@dataclass
class ExportResult:
    path: Path
    dice_float: float
    dice_int8: float
    calibration_images: int
    validation_images: int

    @property
    def drop(self) -> float:
        return self.dice_float - self.dice_int8


def _crop(image: np.ndarray, size: int) -> np.ndarray:
    """Top-left crop to at most ``size`` and to a multiple of the encoder stride."""
    h = min(size, image.shape[0]) // STRIDE * STRIDE
    w = min(size, image.shape[1]) // STRIDE * STRIDE
    return image[:h, :w]


def _samples(config: ExportConfig) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[tuple[np.ndarray, np.ndarray]]]:
    """Disjoint calibration and validation (image, mask) crops from the annotated pairs."""
    from cracks.data.layouts import gather_pairs

    pairs = [p for p in gather_pairs(config.data, config.layout, config.split) if p.mask is not None]
    need = config.calibration_images + config.validation_images
    if len(pairs) < 2:
        raise InputError(config.data[0], f"needs annotated images for calibration and validation; found {len(pairs)}")
    order = np.random.default_rng(config.seed).permutation(len(pairs))[:need]
    n_cal = max(1, round(len(order) * config.calibration_images / need))
    chosen = [pairs[i] for i in order]

    def load(pair):
        image, mask = read_image(pair.image), read_mask(pair.mask, pair.mask_threshold)
        return _crop(image, config.crop), _crop(mask, config.crop)

    return [load(p) for p in chosen[:n_cal]], [load(p) for p in chosen[n_cal:]]


def _inputs(image: np.ndarray, normalization: dict[str, list[float]]) -> np.ndarray:
    mean = np.array(normalization["mean"], np.float32).reshape(1, 3, 1, 1)
    std = np.array(normalization["std"], np.float32).reshape(1, 3, 1, 1)
    return ((image[None].transpose(0, 3, 1, 2).astype(np.float32) / 255 - mean) / std).astype(np.float32)


def _dice(compiled, samples, normalization, threshold: float) -> float:
    """Dice over all validation pixels at the model's threshold (compared on logits)."""
    logit_threshold = float(np.log(threshold / (1 - threshold)))
    inter = total = 0
    for image, truth in samples:
        predicted = compiled({0: _inputs(image, normalization)})[0][0, 0] > logit_threshold
        inter += int((predicted & truth).sum())
        total += int(predicted.sum() + truth.sum())
    return 2 * inter / total if total else 1.0


def export_int8(config: ExportConfig) -> ExportResult:
    """Quantize ``config.model`` to int8 with accuracy control and record it in its model.json."""
    import nncf
    import openvino as ov

    from cracks.models.hardware import cpu_has_native_bf16
    from cracks.models.openvino_ir import to_openvino

    model_dir = Path(config.model)
    loaded = artifact.load(model_dir)
    norm, threshold = loaded.meta.normalization, loaded.meta.threshold
    calibration, validation = _samples(config)
    if not validation:
        raise InputError(config.data[0], "too few annotated images to keep some for validation")
    network = to_openvino(loaded.model)
    quantized = nncf.quantize_with_accuracy_control(
        network,
        nncf.Dataset(calibration, lambda s: _inputs(s[0], norm)),
        nncf.Dataset(validation),
        validation_fn=lambda compiled, samples: _dice(compiled, samples, norm, threshold),
        max_drop=config.max_drop,
        drop_type=nncf.DropType.ABSOLUTE,
        subset_size=len(calibration),
    )
    core = ov.Core()
    hint = {"INFERENCE_PRECISION_HINT": "bf16" if cpu_has_native_bf16() else "f32"}
    dice_float = _dice(core.compile_model(network, "CPU", {"INFERENCE_PRECISION_HINT": "f32"}), validation, norm, threshold)
    dice_int8 = _dice(core.compile_model(quantized, "CPU", hint), validation, norm, threshold)

    target = model_dir / INT8_FILE
    tmp = Path(tempfile.mkdtemp(prefix=".export.", dir=model_dir))
    try:
        ov.save_model(quantized, str(tmp / INT8_FILE), compress_to_fp16=False)
        for suffix in (".bin", ".xml"):  # the graph last: a half-written pair is never picked up
            os.replace(tmp / target.with_suffix(suffix).name, target.with_suffix(suffix))
            os.chmod(target.with_suffix(suffix), 0o644)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    meta_path = model_dir / artifact.METADATA
    meta = json.loads(meta_path.read_text())
    meta.setdefault("exports", {})["int8"] = {
        "file": INT8_FILE,
        "backend": "openvino",
        "weights_sha256": weights_sha256(model_dir),
        "files_sha256": {p.name: cached_file_sha256(p) for p in (target, target.with_suffix(".bin"))},
        "made": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "calibration": {"datasets": [str(p) for p in config.data], "split": config.split, "images": len(calibration),
                        "crop": config.crop, "seed": config.seed},
        "validation": {"images": len(validation), "dice_float": dice_float, "dice_int8": dice_int8,
                       "max_drop": config.max_drop, "threshold": threshold},
    }
    write_json(meta_path, meta)
    return ExportResult(target, dice_float, dice_int8, len(calibration), len(validation))
