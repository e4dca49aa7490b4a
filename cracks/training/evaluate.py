"""Scoring a model on annotated pairs: shared by validation during training and `cracks evaluate`."""

from __future__ import annotations

import dataclasses
import logging
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from torch import nn
from tqdm import tqdm

from cracks.config import EvaluateConfig, InspectConfig
from cracks.data.layouts import Pair, gather_pairs
from cracks.data.masks import read_image
from cracks.errors import InputError, SettingError
from cracks.measure.records import RecordRules, crack_records
from cracks.metrics import EvaluationResult, ThresholdSweep, macro_best_threshold, macro_dice_at, macro_dice_curve
from cracks.models import artifact
from cracks.models.passes import Passes
from cracks.models.predict import pick_device, predict_probabilities
from cracks.sharpness import SOFT_RISE_PX, image_sharpness
from cracks.training.width_floor import WidthFloor, record_widths, width_floor
from tiling.in_memory import predict_in_windows

log = logging.getLogger(__name__)


def iter_predictions(
    model: nn.Module, pairs: Sequence[Pair], normalization: dict[str, list[float]], progress: bool = False,
    precision: str = "fp32", *, passes: Passes = Passes(),
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(image, truth, probability)`` per pair, whole images at native size, through the
    ``passes`` around the network (:mod:`cracks.models.passes`; on every tile, for sweeps over
    thresholds, unless they say otherwise)."""
    model.eval()
    for pair in tqdm(pairs, desc="evaluate", unit="img", disable=not progress, leave=False):
        image, truth = read_image(pair.image), pair.read_mask()
        if image.shape[:2] != truth.shape:
            raise InputError(pair.mask, f"mask size {truth.shape} differs from image {image.shape[:2]}")
        yield image, truth, probability_of(model, image, normalization, precision=precision, passes=passes)


def probability_of(model: nn.Module, image: np.ndarray, normalization: dict[str, list[float]], *,
                   precision: str = "fp32", passes: Passes = Passes()) -> np.ndarray:
    """HxW probabilities of one HxWx3 uint8 image through the ``passes`` around the network (the
    mirror average, the half-scale check: :mod:`cracks.models.passes`). For scores at one threshold,
    ``Passes.at_threshold`` skips the windows where a pass cannot change a decision, as inspection
    does; with the passes' default cuts (0.0) every window runs them, for sweeps over thresholds.

    Images larger than inspection's tile (full-size survey and drone photos) are segmented in
    inspection's windows and blended like an orthophoto: memory stays bounded, and the scores
    are those of what ``cracks inspect`` would deliver for the photo. Photos under 256 px on a side
    (the datasets' crops) are scored as they are, whereas inspection makes up context for them
    (``cracks.inspect.rows.with_context``; README model card, "Limits")."""
    def plain(batch: np.ndarray) -> np.ndarray:
        return predict_probabilities(model, batch, normalization, precision=precision)

    return predict_in_windows(image, passes.around(plain), tile=InspectConfig.tile, overlap=InspectConfig.overlap)


def sweep(
    model: nn.Module, pairs: Sequence[Pair], normalization: dict[str, list[float]], tolerance: int = 0, progress: bool = False
) -> ThresholdSweep:
    result = ThresholdSweep(tolerance=tolerance)
    for _, truth, probability in iter_predictions(model, pairs, normalization, progress):
        result.add(probability, truth)
    return result


@dataclass
class ValidationScores:
    """Scores on several validation domains at the one threshold chosen for all of them."""

    threshold: float
    macro_dice: float  # mean Dice over the domains at ``threshold``
    per_domain: dict[str, EvaluationResult]
    pooled: EvaluationResult  # pooled pixel counts, with ``dice`` the macro Dice where there are several domains
    macro_curve: dict[float, float]  # mean Dice over the domains at every threshold of the grid


def score_validation(
    model: nn.Module, valid_by_domain: dict[str, Sequence[Pair]], normalization: dict[str, list[float]],
    *, on_prediction: Callable[[str, int, np.ndarray, np.ndarray, np.ndarray], None] | None = None,
    threshold: float | None = None,
) -> ValidationScores:
    """One threshold for every domain: the best mean Dice over domains, so no domain's size rules it.

    The rule ``cracks train`` selects epochs by and ``scripts/adopt_snapshot.py`` adopts GPU
    snapshots by. ``on_prediction(domain, index, image, truth, probability)`` sees each prediction
    (the trainer logs overlays with it). ``threshold`` fixes the shared threshold instead (a
    multiple of 0.05); the scores are then that threshold's.
    """
    sweeps = {name: ThresholdSweep() for name in valid_by_domain}
    for name, pairs in valid_by_domain.items():
        for i, (image, truth, probability) in enumerate(iter_predictions(model, pairs, normalization)):
            sweeps[name].add(probability, truth)
            if on_prediction is not None:
                on_prediction(name, i, image, truth, probability)
    if threshold is None:
        threshold, macro_dice = macro_best_threshold(list(sweeps.values()))
    else:
        macro_dice = macro_dice_at(list(sweeps.values()), threshold)
    pooled = ThresholdSweep.merged(list(sweeps.values())).result(threshold)
    if len(sweeps) > 1:
        pooled = dataclasses.replace(pooled, dice=macro_dice)
    return ValidationScores(threshold, macro_dice, {name: sweep.result(threshold) for name, sweep in sweeps.items()},
                            pooled, macro_dice_curve(list(sweeps.values())))


def domain_of(root: Path, pair: Pair) -> str:
    """The domain a pair is scored in: its dataset, split further where the imagery differs.

    UAV-CrackX by optical zoom (file names start ``x4_`` or ``x16_``: the same road at two
    ground sample distances); every other dataset is one domain.
    """
    name = Path(root).resolve().name
    zoom = pair.image.name.split("_", 1)[0]
    if name.startswith("uav-crackx") and zoom in ("x4", "x16"):
        return f"{name} {zoom}"
    return name


@dataclass
class DomainScores:
    """One domain's figures at the model's threshold.

    ``false_px_per_mp``: predicted crack pixels per megapixel on the domain's crack-free images
    (None when it has none): the false alarms an inspector would see on a sound surface.
    """

    domain: str
    strict: EvaluationResult
    tolerant: EvaluationResult
    tolerance: int
    crack_free_images: int
    false_px_per_mp: float | None
    cracks: dict[str, float] | None = None  # crack-level scores (cracks.crackeval), summed over the images
    record_widths: list[float] = field(default_factory=list, repr=False)  # mean widths (px) of its records
    edge_rises: list[float | None] = field(default_factory=list, repr=False)  # each photo's sharpness (None: unknown)

    @property
    def width_floor(self) -> WidthFloor:
        """How narrow the model's cracks come out on this domain (cracks.training.width_floor)."""
        return width_floor(self.record_widths)

    @property
    def sharpness(self) -> dict[str, float | int | None]:
        """How many of the domain's photos are soft (:mod:`cracks.sharpness`): on them the model
        marks a crack's blurred band, wider than the crack (README, "Soft imagery is named too")."""
        measured = [r for r in self.edge_rises if r is not None]
        return {"measured": len(measured), "soft": sum(r > SOFT_RISE_PX for r in measured),
                "median_edge_rise_px": round(float(np.median(measured)), 2) if measured else None}

    def to_dict(self) -> dict:
        return {"domain": self.domain, "n_images": self.strict.n_images, **self.strict.to_dict(), "cracks": self.cracks,
                "width_floor": dataclasses.asdict(self.width_floor), "sharpness": self.sharpness,
                f"dice_{self.tolerance}px": self.tolerant.dice, f"precision_{self.tolerance}px": self.tolerant.precision,
                f"recall_{self.tolerance}px": self.tolerant.recall, "crack_free_images": self.crack_free_images,
                "false_px_per_mp": self.false_px_per_mp}


@dataclass
class Evaluation:
    overall: EvaluationResult  # every pair pooled, as in papers
    domains: list[DomainScores]
    passes: Passes = Passes()  # what the probabilities went through around the network

    @property
    def width_floor(self) -> WidthFloor:
        """The floor over every domain's records pooled: what ``model.json`` records for the valid splits."""
        return width_floor([w for d in self.domains for w in d.record_widths])

    def to_dict(self) -> dict:
        return {**self.overall.to_dict(), "tta": self.passes.tta, "half_scale": self.passes.half_scale,
                "width_floor": dataclasses.asdict(self.width_floor), "domains": [d.to_dict() for d in self.domains]}


PIXEL_RECORD_RULES = RecordRules(link_gap_px=10.0, min_length_px=10.0, min_elongation=4.0)  # datasets carry no GSD


def image_crack_scores(probability: np.ndarray, truth: np.ndarray, threshold: float):
    """Crack-level scores of one image: the inspection's records (linked, spots apart) against its truth."""
    from cracks.crackeval import crack_level_scores
    from cracks.measure.region import measure_cracks
    regions = measure_cracks(probability >= threshold, bridge_px=2, min_length_px=0)
    records, _ = crack_records(regions, PIXEL_RECORD_RULES)
    return crack_level_scores(records, truth)


def _crack_totals(scores: list) -> dict[str, float] | None:
    if not scores:
        return None
    total = {k: float(sum(getattr(s, k) for s in scores)) for k in
             ("true_cracks", "records", "matched_records", "found_true_cracks", "records_on_two_cracks",
              "true_length_px", "record_length_px")}
    return {**total,
            "precision": total["matched_records"] / total["records"] if total["records"] else 1.0,
            "recall": total["found_true_cracks"] / total["true_cracks"] if total["true_cracks"] else 1.0,
            "records_per_true_crack": total["matched_records"] / total["found_true_cracks"] if total["found_true_cracks"] else 0.0,
            "length_error": ((total["record_length_px"] - total["true_length_px"]) / total["true_length_px"]
                             if total["true_length_px"] else 0.0)}


def score_domains(
    model: nn.Module, normalization: dict[str, list[float]], threshold: float, pairs_by_domain: dict[str, list[Pair]],
    *, tolerance: int = 2, progress: bool = False, crack_level: bool = False, passes: Passes = Passes(),
) -> tuple[EvaluationResult, list[DomainScores]]:
    """Strict and tolerant scores per domain (one model pass feeds both), and the pooled result;
    with ``crack_level``, also the records an inspection would make, scored crack by crack, and
    each photo's sharpness."""
    pooled = ThresholdSweep()
    domains = []
    for domain, pairs in pairs_by_domain.items():
        strict, tolerant = ThresholdSweep(), ThresholdSweep(tolerance=tolerance)
        free_images, free_pixels, free_false = 0, 0, 0
        crack_scores, widths, rises = [], [], []
        for image, truth, probability in iter_predictions(model, pairs, normalization, progress, passes=passes):
            for target in (pooled, strict, tolerant):
                target.add(probability, truth)
            if not truth.any():
                free_images += 1
                free_pixels += truth.size
                free_false += int(np.count_nonzero(probability >= threshold))
            if crack_level:
                crack_scores.append(image_crack_scores(probability, truth, threshold))
                widths += record_widths(probability, threshold)
                rises.append(image_sharpness(image).edge_rise_px)
        domains.append(DomainScores(domain, strict.result(threshold), tolerant.result(threshold), tolerance, free_images,
                                    free_false / free_pixels * 1e6 if free_pixels else None, _crack_totals(crack_scores),
                                    widths, rises))
    return pooled.result(threshold), domains


def evaluate(config: EvaluateConfig, progress: bool = True) -> Evaluation:
    """Score a model artifact at its saved threshold, pooled and per domain, plus ODS/OIS."""
    loaded = artifact.load(config.model, device=pick_device(config.device))
    by_domain: dict[str, list[Pair]] = {}
    budget = config.max_images
    for root in config.data:
        for pair in gather_pairs([root], config.layout, config.split):
            if budget is not None and sum(map(len, by_domain.values())) >= budget:
                break
            by_domain.setdefault(domain_of(root, pair), []).append(pair)
    passes = Passes(tta=config.tta, half_scale=config.half_scale)  # on every tile: the scores sweep thresholds
    overall, domains = score_domains(loaded.model, loaded.meta.normalization, loaded.meta.threshold, by_domain,
                                     tolerance=config.tolerance, progress=progress, crack_level=True, passes=passes)
    return Evaluation(overall, domains, passes)


@dataclass
class HardNegativePainting:
    """One held-back painting of a hard negative: the image as painted (unpainted for ``none``)
    and where a predicted crack pixel is a false one (more than the margin from a true crack)."""

    pair: Pair
    kind: str
    image: np.ndarray
    far: np.ndarray


def hard_negative_paintings(
    pairs: Sequence[Pair], *, kinds: Sequence[str] | None = None, seed: int = 2024, margin_px: int = 5, paintings: int = 3,
) -> Iterator[HardNegativePainting]:
    """The card's held-back paintings, image by image: the bare image (``none``), then each kind
    (default: every painter) ``paintings`` times, each kind from its own stream seeded by its
    name, so that a kind added later, or a subset asked for, leaves the others' paintings as they
    were. :func:`hard_negative_false_px` scores them; ``scripts/hard_negative_sheet.py`` shows them."""
    from scipy import ndimage

    from cracks.training.hard_negatives import PAINTERS, paint

    if paintings < 1:
        raise SettingError("paintings", paintings, "paint each kind at least once per image")
    kinds = ("none", *(PAINTERS if kinds is None else kinds))
    unknown = set(kinds) - {"none", *PAINTERS}
    if unknown:
        raise SettingError("kinds", ", ".join(sorted(unknown)), f"unknown hard negatives (choose from {', '.join(PAINTERS)})")
    streams = {kind: np.random.default_rng([seed, zlib.crc32(kind.encode())]) for kind in kinds}
    for pair in pairs:
        image, truth = read_image(pair.image), pair.read_mask()
        far = ~ndimage.binary_dilation(truth, iterations=margin_px)
        for kind in kinds:
            for _ in range(1 if kind == "none" else paintings):
                painted = image if kind == "none" else paint(image, truth.astype(np.uint8), kind, streams[kind])[0]
                yield HardNegativePainting(pair, kind, painted, far)


def hard_negative_false_px(
    model: nn.Module, normalization: dict[str, list[float]], threshold: float, pairs: Sequence[Pair],
    *, seed: int = 2024, margin_px: int = 5, tta: bool = False, paintings: int = 3, kinds: Sequence[str] | None = None,
    half_scale: bool = False,
) -> dict[str, float]:
    """Predicted crack pixels per MP caused by each synthetic hard negative, held back from training.

    Each kind of artefact (:mod:`cracks.training.hard_negatives`; ``kinds``, default all) is
    painted ``paintings`` times on every image with a seed training never draws (one painting per
    image let a single unlucky stain or kerb decide a column: the same model read 4 or 132 px/MP
    by the seed alone); only pixels more than ``margin_px`` from a true crack count, so cracks in
    road photos do not count against the model. The unpainted images give the ``none`` row: what
    the model marks on the bare surfaces.
    """
    false_px: dict[str, int] = {}
    pixels = 0
    passes = Passes.at_threshold(threshold, tta=tta, half_scale=half_scale)  # decisions at one threshold: skip as inspection does
    model.eval()
    for painting in hard_negative_paintings(pairs, kinds=kinds, seed=seed, margin_px=margin_px, paintings=paintings):
        if painting.kind == "none":
            pixels += painting.far.size
        probability = probability_of(model, painting.image, normalization, passes=passes)
        false_px[painting.kind] = false_px.get(painting.kind, 0) + int(np.count_nonzero((probability >= threshold) & painting.far))
    return {kind: count / (pixels * (1 if kind == "none" else paintings)) * 1e6 for kind, count in false_px.items()}
