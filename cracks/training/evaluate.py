"""Scoring a model on annotated pairs: shared by validation during training and `cracks evaluate`."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from torch import nn
from tqdm import tqdm

from cracks.config import EvaluateConfig
from cracks.data.layouts import Pair, read_pairs, select
from cracks.data.masks import read_image, read_mask
from cracks.errors import CracksError
from cracks.models import artifact
from cracks.models.predict import pick_device, predict_probabilities
from cracks.training.metrics import EvaluationResult, ThresholdSweep

log = logging.getLogger(__name__)


def iter_predictions(
    model: nn.Module, pairs: Sequence[Pair], normalization: dict[str, list[float]], progress: bool = False,
    precision: str = "fp32",
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(image, truth, probability)`` per pair, whole images at native size."""
    model.eval()
    for pair in tqdm(pairs, desc="evaluate", unit="img", disable=not progress, leave=False):
        image, truth = read_image(pair.image), read_mask(pair.mask, pair.mask_threshold)
        if image.shape[:2] != truth.shape:
            raise CracksError(pair.mask, f"mask size {truth.shape} differs from image {image.shape[:2]}")
        yield image, truth, predict_probabilities(model, image[None], normalization, precision=precision)[0]


def sweep(
    model: nn.Module, pairs: Sequence[Pair], normalization: dict[str, list[float]], tolerance: int = 0, progress: bool = False
) -> ThresholdSweep:
    result = ThresholdSweep(tolerance=tolerance)
    for _, truth, probability in iter_predictions(model, pairs, normalization, progress):
        result.add(probability, truth)
    return result


def gather_pairs(data: Sequence[Path], layout: str, split: str | None) -> list[Pair]:
    pairs: list[Pair] = []
    for root in data:
        scan = read_pairs(root, layout)
        log.info("%s: layout %s, masks %s", root, scan.layout, scan.mask_encoding.name)
        chosen = select(scan.pairs, split)
        if not chosen:
            splits = sorted({p.split for p in scan.annotated})
            raise CracksError(root, f"no annotated pairs in split {split!r} (splits here: {', '.join(splits) or 'none'}; use 'all' for every pair)")
        pairs.extend(chosen)
    return pairs


def evaluate(config: EvaluateConfig, progress: bool = True) -> EvaluationResult:
    """Score a model artifact at its saved threshold, plus ODS/OIS over a threshold sweep."""
    loaded = artifact.load(config.model, device=pick_device(config.device))
    pairs = gather_pairs(config.data, config.layout, config.split)
    if config.max_images:
        pairs = pairs[: config.max_images]
    result = sweep(loaded.model, pairs, loaded.meta.normalization, config.tolerance, progress)
    return result.result(loaded.meta.threshold)
