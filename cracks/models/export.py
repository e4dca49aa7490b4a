"""int8 exports of a model, for fast CPU inference with OpenVINO, kept within a Dice budget.

Plain post-training quantization costs this model 0.09 Dice on DeepCrack valid (0.824 -> 0.730):
a few layers do not survive 8 bits (measured: the first depthwise convolution and the decoder
block that joins the half-resolution skip). NNCF's accuracy-controlled quantization finds such
layers itself: it quantizes with calibration images, measures Dice on validation images, and
returns the most sensitive layers to floating point until the drop is within ``max_drop``. That
works for any architecture a user trains, not only the shipped one.

The budget holds for *every* dataset given, not for their pooled pixels: calibration and validation
images are drawn evenly from each, and the drop NNCF controls is the worst dataset's. (Pooled, the
wide cracks of CRACK500 hid a 0.018 loss on DeepCrack's thin ones, whose Dice hangs on one pixel
of width.)

The export lives beside the weights (``model.int8.xml`` + ``.bin``, OpenVINO IR: a graph and raw
tensors, no code) and is recorded in ``model.json`` under ``exports`` with the sha256 of the
weights it was made from; a retrained model therefore never runs a stale export.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cracks.data.masks import read_image
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

    per_domain: dict[str, tuple[float, float]]  # dataset -> (Dice float, Dice int8)

    @property
    def drop(self) -> float:
        """The worst dataset's Dice loss (what ``max_drop`` bounds)."""
        return max((f - q for f, q in self.per_domain.values()), default=self.dice_float - self.dice_int8)


def _crop(image: np.ndarray, size: int) -> np.ndarray:
    """Top-left crop to at most ``size`` and to a multiple of the encoder stride."""
    h = min(size, image.shape[0]) // STRIDE * STRIDE
    w = min(size, image.shape[1]) // STRIDE * STRIDE
    return image[:h, :w]


Sample = tuple[np.ndarray, np.ndarray, int]  # image crop, mask crop, index of its dataset


def _samples(config: ExportConfig) -> tuple[list[Sample], list[Sample]]:
    """Disjoint calibration and validation crops, the same share from each dataset."""
    from cracks.data.layouts import gather_pairs

    rng = np.random.default_rng(config.seed)
    share = len(config.data)
    calibration, validation = [], []
    for index, root in enumerate(config.data):
        pairs = [p for p in gather_pairs([root], config.layout, config.split) if p.mask is not None]
        if len(pairs) < 2:
            raise InputError(root, f"needs annotated images for calibration and validation; found {len(pairs)}")
        n_cal = max(1, round(config.calibration_images / share))
        n_val = max(1, round(config.validation_images / share))
        order = rng.permutation(len(pairs))[: n_cal + n_val]
        n_cal = min(n_cal, len(order) - 1)  # a small dataset still keeps one for validation

        def load(pair, index=index):
            image, mask = read_image(pair.image), pair.read_mask()
            return _crop(image, config.crop), _crop(mask, config.crop), index

        calibration += [load(pairs[i]) for i in order[:n_cal]]
        validation += [load(pairs[i]) for i in order[n_cal:]]
    return calibration, validation


def _inputs(image: np.ndarray, normalization: dict[str, list[float]]) -> np.ndarray:
    mean = np.array(normalization["mean"], np.float32).reshape(1, 3, 1, 1)
    std = np.array(normalization["std"], np.float32).reshape(1, 3, 1, 1)
    return ((image[None].transpose(0, 3, 1, 2).astype(np.float32) / 255 - mean) / std).astype(np.float32)


def _dice(compiled, samples: list[Sample], normalization, threshold: float) -> dict[int, float]:
    """Dice of each dataset's validation pixels, and of all of them (key -1), at the model's
    threshold (compared on logits)."""
    logit_threshold = float(np.log(threshold / (1 - threshold)))
    counts: dict[int, list[int]] = {}
    for image, truth, index in samples:
        predicted = compiled({0: _inputs(image, normalization)})[0][0, 0] > logit_threshold
        for key in (index, -1):
            inter_total = counts.setdefault(key, [0, 0])
            inter_total[0] += int((predicted & truth).sum())
            inter_total[1] += int(predicted.sum() + truth.sum())
    return {key: 2 * inter / total if total else 1.0 for key, (inter, total) in counts.items()}


def _worst_change(scores: dict[int, float], reference: dict[int, float]) -> tuple[float, None]:
    """NNCF's metric: 1 plus the most negative per-dataset Dice change against the float model.
    It is 1 for the float model itself (NNCF divides by it), so NNCF's drop (reference metric minus
    int8 metric) is the worst dataset's loss. (For one item, NNCF ranking layers, the change of
    that item's dataset.) The ``None``: NNCF asks for each item's value itself."""
    return 1.0 + min(scores[key] - reference[key] for key in scores if key >= 0), None


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
    core = ov.Core()
    reference = _dice(core.compile_model(network, "CPU", {"INFERENCE_PRECISION_HINT": "f32"}), validation, norm, threshold)
    quantized = nncf.quantize_with_accuracy_control(
        network,
        nncf.Dataset(calibration, lambda s: _inputs(s[0], norm)),
        nncf.Dataset(validation),
        validation_fn=lambda compiled, samples: _worst_change(_dice(compiled, samples, norm, threshold), reference),
        max_drop=config.max_drop,
        drop_type=nncf.DropType.ABSOLUTE,
        subset_size=len(calibration),
        # full bias correction: slower to export (19 minutes here, beside a training), but the all-int8
        # start loses less (worst dataset -0.009 instead of -0.013 on the shipped model), so fewer
        # layers go back to float for the same budget: 5 instead of 7, one 1024 px tile 2.30
        # instead of 1.84 MP/s (same run), CrackForest 2 px Dice 0.817 against 0.818
        fast_bias_correction=False,
    )
    hint = {"INFERENCE_PRECISION_HINT": "bf16" if cpu_has_native_bf16() else "f32"}
    scores = _dice(core.compile_model(quantized, "CPU", hint), validation, norm, threshold)
    per_domain = {Path(config.data[key]).resolve().name: (reference[key], scores[key]) for key in reference if key >= 0}

    target = model_dir / INT8_FILE
    tmp = Path(tempfile.mkdtemp(prefix=".export.", dir=model_dir))
    try:
        ov.save_model(quantized, str(tmp / INT8_FILE), compress_to_fp16=False)
        for suffix in (".bin", ".xml"):  # the graph last: a half-written pair is never picked up
            os.replace(tmp / target.with_suffix(suffix).name, target.with_suffix(suffix))
            os.chmod(target.with_suffix(suffix), 0o644)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    exports = artifact.read_meta(model_dir).exports
    exports["int8"] = {
        "file": INT8_FILE,
        "backend": "openvino",
        "weights_sha256": weights_sha256(model_dir),
        "files_sha256": {p.name: cached_file_sha256(p) for p in (target, target.with_suffix(".bin"))},
        "made": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "calibration": {"datasets": [str(p) for p in config.data], "split": config.split, "images": len(calibration),
                        "crop": config.crop, "seed": config.seed},
        "validation": {"images": len(validation), "dice_float": reference[-1], "dice_int8": scores[-1],
                       "per_dataset": {name: {"dice_float": f, "dice_int8": q} for name, (f, q) in per_domain.items()},
                       "max_drop": config.max_drop, "max_drop_applies_to": "each dataset", "threshold": threshold},
    }
    artifact.update_meta(model_dir, exports=exports)
    return ExportResult(target, reference[-1], scores[-1], len(calibration), len(validation), per_domain)
