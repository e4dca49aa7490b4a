"""Job settings: one dataclass per job, shared by the CLI, the Prefect flows and YAML files.

The CLI fills these from options, a flow from its parameters, ``cracks experiment`` from YAML;
library functions take nothing else. Defaults here are the documented defaults everywhere.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cracks.errors import SettingError
from cracks.measure import BRIDGE_PX
from cracks.models.names import DEFAULT_ARCH, DEFAULT_ENCODER

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "default"


@dataclass
class FixConfig:
    path: Path
    layout: str = "auto"
    dry_run: bool = False
    quarantine: Path | None = None  # default: <path>.quarantine beside the dataset


@dataclass
class TrainConfig:
    data: list[Path]
    out: Path = Path("runs/train")
    layout: str = "auto"
    arch: str = DEFAULT_ARCH
    encoder: str | None = DEFAULT_ENCODER
    pretrained: bool = True
    epochs: int = 10
    batch_size: int = 8
    micro_batch: int | None = None  # crops per forward/backward; gradients add up to one step of batch_size
    crop: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    loss: str = "dice_bce"  # dice_bce | dice_bce_skeleton | focal | tversky
    schedule: str = "onecycle"  # onecycle | cosine
    seed: int = 42
    workers: int = 2
    device: str = "auto"
    amp: bool = True
    train_split: str = "train"
    valid_split: str = "valid"
    max_steps_per_epoch: int | None = None  # cap for smoke runs and budgeted experiments
    max_valid_images: int | None = None  # per dataset (evenly spread), to bound validation time
    data_weights: list[float] | None = None  # share of each dataset in every epoch; default: by size
    samples_per_epoch: int | None = None  # crops per epoch when sampling by weight; default: all train pairs
    scale: tuple[float, float] = (1.0, 1.0)  # random rescale range, e.g. (0.5, 2.0) for field imagery
    hard_negatives: float = 0.0  # probability of painting field artefacts that are not cracks
    field_photometry: bool = False  # sun, shadow, wet/dry and camera-colour augmentation
    field_optics: bool = False  # blur, coarser pixels, dull exposure and heavy JPEG on the photo; the mask stays sharp
    init_model: Path | None = None  # start from this model artifact's weights (same arch and encoder)
    freeze_norm: bool = False  # keep the batch-norm statistics of the start (fine-tuning with small batches)
    checkpoint_every: int = 50  # steps between resumable checkpoints
    resume: bool = False
    tile_size: int = 512
    half_precision_artifact: bool = False
    comet: bool = True
    comet_project: str = "concrete-cracks"
    experiment_name: str | None = None


@dataclass
class EvaluateConfig:
    model: Path
    data: list[Path]
    layout: str = "auto"
    split: str = "valid"
    tolerance: int = 2  # the tolerant columns (CrackForest protocol); strict scores are always reported
    device: str = "auto"
    max_images: int | None = None
    tta: bool = False  # score the model averaged with the mirror image, as `cracks inspect --tta` runs it
    half_scale: bool = True  # score the model checked at half scale, as `cracks inspect` runs it (cracks.models.scale_check)


@dataclass
class InspectConfig:
    inputs: list[Path]
    out: Path = Path("inspections")
    model: Path = DEFAULT_MODEL_DIR
    tile: int = 1024  # 1024 px tiles spend 1.31x the raster's pixels on the model, 512 px tiles 1.78x
    overlap: int = 128
    batch_size: int | None = None  # tiles per model call; default 1 on a CPU (as fast, least memory), 8 on CUDA
    gsd_mm: float | None = None  # ground sample distance for photos without georeferencing
    threshold: float | None = None  # default: the model's tuned threshold
    prune_mm: float | None = None  # spur length to prune; default 5 px equivalent
    min_length_px: float = 10.0
    bridge_px: int = BRIDGE_PX  # pieces of one crack separated by gaps up to ~2x this are measured as one
    road_axis_deg: float | None = None  # default: the raster's longer side
    truth: Path | None = None  # ground-truth mask to score the result against (sample site)
    device: str = "auto"
    threads: int | None = None
    backend: str = "auto"  # auto (openvino on CPUs, torch on CUDA) | torch | openvino
    precision: str = "auto"  # auto (int8 export, else bf16 where native, else fp32) | fp32 | bf16 | int8
    tta: bool = False  # average each tile with its mirror image: fewer false cracks, a second pass where it can matter
    half_scale: bool = True  # a crack must also be seen at half scale nearby (cracks.models.scale_check); a quarter pass more
    standard: str = "concrete"  # severity and condition rules: concrete | astm-d6433 | aashto-1130 (cracks.standards)
    severity_mm: tuple[float, float, float] | None = None  # custom hairline|fine|medium|wide limits instead
    link_gap_mm: float = 30.0  # fragments whose ends face each other across a shorter gap are one crack
    min_crack_mm: float = 30.0  # shorter regions are spots, not cracks (with a GSD; else min_length_px)
    min_elongation: float = 4.0  # regions shorter than this many mean widths are spots
    site_name: str | None = None
    root: Path | None = None  # name sites by their path below this folder (a survey's folder)
    epoch: str | None = None  # a subfolder per epoch below the site's folder (surveys keep every epoch)

    def __post_init__(self) -> None:
        """Refuse settings that would give wrong numbers silently (a negative GSD, NaN...)."""
        _positive("gsd_mm", self.gsd_mm)
        _positive("prune_mm", self.prune_mm, allow_zero=True)
        _positive("min_length_px", self.min_length_px, allow_zero=True)
        if self.threshold is not None and not (_finite(self.threshold) and 0 < self.threshold < 1):
            raise SettingError("threshold", self.threshold, "give a probability between 0 and 1 (exclusive)")
        for name in ("batch_size", "threads"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise SettingError(name, value, "give a whole number of at least 1")
        for name in ("tta", "half_scale"):
            if not isinstance(getattr(self, name), bool):
                raise SettingError(name, getattr(self, name), "give true or false")
        if not isinstance(self.bridge_px, int) or self.bridge_px < 0:
            raise SettingError("bridge_px", self.bridge_px, "give a whole number of pixels, 0 or more")
        if self.tile < 64 or not 0 <= self.overlap < self.tile:
            raise SettingError("tile", f"{self.tile} with --overlap {self.overlap}", "the tile must be at least "
                               "64 px and larger than the overlap (overlap 0 or more)")
        if self.road_axis_deg is not None and not _finite(self.road_axis_deg):
            raise SettingError("road_axis_deg", self.road_axis_deg, "give a finite angle in degrees")
        if self.severity_mm is not None:
            limits = tuple(self.severity_mm)
            if len(limits) != 3 or not all(_finite(v) and v > 0 for v in limits) or not limits[0] < limits[1] < limits[2]:
                raise SettingError("severity_mm", ",".join(map(str, limits)), "give three increasing positive widths in mm")
        from cracks.standards import STANDARDS

        if self.standard not in STANDARDS:
            raise SettingError("standard", self.standard, f"choose {', '.join(STANDARDS)}")
        _positive("link_gap_mm", self.link_gap_mm, allow_zero=True)
        _positive("min_crack_mm", self.min_crack_mm, allow_zero=True)
        _positive("min_elongation", self.min_elongation, allow_zero=True)
        if self.backend not in ("auto", "torch", "openvino"):
            raise SettingError("backend", self.backend, "choose auto, torch or openvino")
        if self.precision not in ("auto", "fp32", "bf16", "int8"):
            raise SettingError("precision", self.precision, "choose auto, fp32, bf16 or int8")


@dataclass
class ExportConfig:
    model: Path
    data: list[Path]  # annotated datasets for calibration and validation (not the test split)
    layout: str = "auto"
    split: str = "train"
    calibration_images: int = 150
    validation_images: int = 100
    crop: int = 512
    # Largest Dice loss allowed on each dataset's validation images. Each layer NNCF returns to
    # float costs speed, but data the model never saw loses more than the budgeted sets: measured
    # on the shipped model, a 0.01 budget (one float layer, int8 3.0 MP/s) cost CrackForest 0.025
    # of its 2 px Dice and DeepCrack valid 0.015; 0.004 (seven float layers, 2.1 MP/s) cost 0.005
    # and 0.008. Field imagery is such unseen data: accuracy first.
    max_drop: float = 0.004
    seed: int = 0


@dataclass
class SurveyConfig:
    folder: Path
    out: Path = Path("survey")
    inspect: dict[str, Any] = field(default_factory=dict)  # InspectConfig overrides
    patterns: tuple[str, ...] = ("*.tif", "*.tiff")


def _finite(value: float) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _positive(name: str, value: float | None, allow_zero: bool = False) -> None:
    if value is None:
        return
    if not _finite(value) or value < 0 or (value == 0 and not allow_zero):
        raise SettingError(name, value, f"give a finite number {'of 0 or more' if allow_zero else 'above 0'}")


T = TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build a config dataclass from plain data (YAML, flow parameters), rejecting unknown keys."""
    names = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names.keys())
    if unknown:
        raise SettingError("settings", ", ".join(unknown), f"unknown {cls.__name__} settings")
    values = dict(data)
    for key in ("path", "out", "model", "quarantine", "truth", "folder", "init_model", "root"):
        if key in values and values[key] is not None and key in names:
            values[key] = Path(values[key])
    for key in ("data", "inputs"):
        if key in values and key in names:
            items = values[key]
            items = items.split(",") if isinstance(items, str) else items
            values[key] = [Path(p) for p in items]
    for key in ("severity_mm", "scale"):
        if values.get(key) is not None:
            values[key] = tuple(values[key])
    return cls(**values)
