"""Inspecting orthophotos: plan -> segment -> measure -> export -> report, one site at a time.

Each stage is a plain function over explicit data, so the CLI runs them in sequence and the
Prefect flow wraps the same functions as tasks. Per input ``DIR/<stem>/`` receives ``mask.tif``
(COG of crack probability), ``cracks.geojson``, ``cracks.gpkg``, ``summary.json`` and
``report.pdf``. A failing input is reported and skipped; the others are still processed.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rasterio
import shapely
from rasterio.crs import CRS

import cracks
from cracks.config import InspectConfig
from cracks.errors import CracksError, InputError, ModelError
from cracks.hashing import hash_ahead, input_sha256
from cracks.inspect.predictor import Predictor
from cracks.inspect.resume import run_key
from cracks.inspect.rows import TilePrediction
from cracks.inspect.segment import MaskWriter, segment_raster
from cracks.inspect.summary import SiteSummary
from cracks.inspect.truth import prepare_in_background, prepared_truth, truth_threshold
from cracks.measure import MeasureSettings
from cracks.memory import keep_large_arrays_out_of_the_heap, return_freed_memory
from cracks.metrics import Scores
from cracks.models import artifact
from cracks.models.artifact import LoadedModel
from cracks.models.backends import release
from cracks.models.export_record import weights_sha256  # the hash the backends' checks use (cached)
from cracks.models.hardware import resolve_device
from cracks.models.passes import Passes
from cracks.sharpness import Sharpness, raster_sharpness, soft_caveat
from cracks.standards import WIDTH_FLOOR_PX, Standard, get_standard
from cracks.timing import StageTimes
from tiling.preview import Preview
from tiling.raster import RasterInfo, open_raster
from tiling.windows import WindowGrid, plan_windows

if TYPE_CHECKING:
    from cracks.measure.region import Crack

# The measuring modules (scipy, scikit-image: about 0.7 s to import) are imported where the
# measure stage runs, not here: that keeps them off the path to the first tile, and
# warm_up_stages() imports them on a thread while the model segments.

log = logging.getLogger(__name__)
LINK_MIN_GAP_PX = 6.0  # at coarse GSDs a gap in mm is under a pixel; fragments this close are always candidates
SPACING_REACH_M = 1.0  # spacing is searched this far: past AASHTO's widest limit (3 ft), so every class is decided
TRUTH_TOLERANCE_PX = 2  # hand-drawn crack outlines are uncertain by about this much (CrackForest protocol)


@dataclass
class SitePlan:
    info: RasterInfo
    grid: WindowGrid
    out_dir: Path
    key: str
    input_sha256: str
    threshold: float
    inference: str = ""  # backend and precision, e.g. "openvino int8"

    name: str = ""  # the site's name and output folder below ``out`` (see site_name)
    times: StageTimes = field(default_factory=StageTimes)  # seconds per stage, into summary.json
    preview: Preview | None = None  # the orthophoto at report size, sampled while segmenting here
    mask_writer: MaskWriter | None = None  # the COG being copied while the site is measured

    @property
    def site(self) -> str:
        return self.name or self.info.path.stem

    @property
    def probability_path(self) -> Path:
        """Where the probabilities can be read now: the COG, or while it is being copied, its source."""
        return self.mask_writer.source if self.mask_writer is not None else self.mask_path

    def finish_mask(self) -> Path:
        """The COG, waiting for its copy if one is running."""
        if self.mask_writer is not None:
            self.mask_writer.wait()
            self.mask_writer = None
        return self.mask_path

    @property
    def mask_path(self) -> Path:
        return self.out_dir / "mask.tif"

    @property
    def work_dir(self) -> Path:
        return self.out_dir / ".work"


@dataclass
class SiteMeasurement:
    cracks: list[Crack]
    analysed_pixels: int
    footprint_px: shapely.Geometry  # valid-data outline in (col, row) pixel coordinates
    truth_scores: dict[str, float] | None = None
    spots: list[Crack] = field(default_factory=list)  # stains and blobs: own layer, outside crack statistics
    fragments: int = 0  # measured regions before linking
    sharpness: Sharpness | None = None  # how soft the imagery is (widths grow with it)


@dataclass
class SiteResult:
    input: Path
    site: str
    out_dir: Path | None = None
    outputs: dict[str, Path] = field(default_factory=dict)
    summary: SiteSummary | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def config_predictor(model: LoadedModel, config: InspectConfig) -> Predictor:
    """The predictor a job's settings ask for (batch size, threads, precision, backend, tta, half-scale check)."""
    return Predictor(model, batch_size=config.batch_size, threads=config.threads, precision=config.precision,
                     backend=config.backend, passes=config_passes(model, config))


def config_threshold(model: LoadedModel, config: InspectConfig) -> float:
    """The job's threshold: ``--threshold``, else the model's own."""
    return config.threshold if config.threshold is not None else model.meta.threshold


def config_passes(model: LoadedModel, config: InspectConfig) -> Passes:
    """The passes around the network the job asks for (``--tta``, the half-scale check), each
    skipping the tiles where it cannot change a decision at the job's threshold."""
    return Passes.at_threshold(config_threshold(model, config), tta=config.tta, half_scale=config.half_scale)


def load_model(config: InspectConfig) -> LoadedModel:
    if not Path(config.model).exists():
        raise ModelError(config.model, "no such model folder (train one with `cracks train`, or use the shipped models/default)")
    return artifact.load(config.model, device=resolve_device(config.device), lazy=True)


OUTPUT_NAMES = ("mask.tif", "cracks.geojson", "cracks.gpkg", "summary.json", "report.pdf", ".labels.tif")


def site_name(path: Path, config: InspectConfig) -> str:
    """The site's name, which is also its output folder below ``config.out``.

    With ``config.root`` (a survey folder): the path below it without the suffix (``a/site``), so
    every orthophoto of a survey has its own, stable folder. Otherwise the file's stem, unless
    another input of the same run has the same stem (photogrammetry tools name every project's
    orthophoto alike): then the path below the clashing inputs' common folder.
    """
    path = Path(path)
    if config.root is not None:
        try:
            return path.resolve().relative_to(Path(config.root).resolve()).with_suffix("").as_posix()
        except ValueError:
            return path.stem
    namesakes = [Path(p).resolve() for p in config.inputs if Path(p).stem == path.stem]
    if len(set(namesakes)) <= 1:
        return path.stem
    common = Path(os.path.commonpath([p.parent for p in namesakes]))
    return path.resolve().relative_to(common).with_suffix("").as_posix()


def check_outputs(path: Path, out_dir: Path, config: InspectConfig, input_sha256: str) -> None:
    """Refuse to write where an input lives, or over another input's results."""
    protected = [Path(p) for p in config.inputs] + ([Path(config.truth)] if config.truth else [])
    for name in OUTPUT_NAMES:
        target = out_dir / name
        for source in protected:
            if target.exists() and source.exists() and os.path.samefile(target, source):
                raise InputError(path, f"its output {target} would overwrite the input {source}; choose another --out")
    summary = out_dir / "summary.json"
    if summary.is_file():
        try:
            previous = json.loads(summary.read_text())
        except (OSError, ValueError):
            return
        other = previous.get("input")
        if other and Path(other).resolve() != Path(path).resolve() and previous.get("input_sha256") != input_sha256:
            raise InputError(path, f"{out_dir} holds the results of another input ({other}); "
                              "choose another --out or rename the site")


def plan_site(path: Path, config: InspectConfig, model: LoadedModel, inference: str = "") -> SitePlan:
    """``inference`` names the backend and precision (``str(Predictor.choice)``); it is part of
    the run key, so a resumed run never mixes tiles from two inference paths."""
    info = open_raster(path, config.gsd_mm)
    if not info.georeferenced:
        units = f"{config.gsd_mm} mm per pixel from --gsd-mm" if config.gsd_mm else "pixel units"
        turned = (f"; EXIF orientation {info.exif_orientation} not applied: outputs are in the stored pixel grid, "
                  "turned against how viewers show the photo" if info.exif_orientation != 1 else "")
        gcps = (f"; it is georeferenced by {info.gcps} ground control points only: warp it first "
                "(gdalwarp -t_srs EPSG:...) to measure in metres" if info.gcps else "")
        warnings.warn(f"{path}: no CRS or transform; results in {units}{gcps}{turned}", stacklevel=2)
    if info.map_scale != 1.0:
        warnings.warn(f"{path}: in its CRS a map metre is {info.map_scale:.3f} m on the ground here (a projection "
                      f"like Web Mercator); lengths and widths are in ground metres", stacklevel=2)
    if config.truth:  # a truth that does not fit the raster fails now, not after segmenting
        check_truth(Path(config.truth), info)
    grid = plan_windows(info.width, info.height, config.tile, config.overlap)
    sha = input_sha256(info.path)  # started ahead by inspect_all, while the model loaded
    threshold = config_threshold(model, config)
    name = site_name(path, config)
    out_dir = Path(config.out) / name / (config.epoch or "")
    check_outputs(path, out_dir, config, sha)
    return SitePlan(info, grid, out_dir, run_key(sha, model, grid, inference), sha, threshold, inference, name)


GDAL_CACHE_MB = 128  # GDAL's block cache defaults to 5 % of RAM, which alone grows RSS by ~1 GB on big rasters


def raster_env() -> rasterio.Env:
    """GDAL settings for the inspection stages: a bounded block cache (every read is windowed once)."""
    return rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB * 1024 * 1024)


def segment_site(plan: SitePlan, predictor: Callable, rows: Callable[[list[int]], Iterator[list[TilePrediction]]] | None = None,
                 progress: bool = True, *, cog_in_background: bool = False) -> Path:
    """Segment the site into its probability COG (``plan.mask_path``). With ``cog_in_background``
    the COG is still being copied when this returns (``plan.mask_writer``): measure the site
    from ``plan.probability_path`` meanwhile, and ``plan.finish_mask()`` before publishing."""
    if rows is None:  # tiles read here: sample the report's overview on the way
        plan.preview = Preview.of_raster(plan.info.width, plan.info.height)
    try:
        with raster_env():
            result = segment_raster(plan.info, plan.grid, plan.key, predictor, plan.mask_path, plan.work_dir, rows=rows,
                                    progress=progress, times=plan.times, preview=plan.preview,
                                    in_background=cog_in_background)
        if isinstance(result, MaskWriter):
            plan.mask_writer = result
        return plan.probability_path
    finally:
        release(predictor)  # the model's working memory is not needed to measure (peak RSS)
        return_freed_memory()


def check_truth(path: Path, info: RasterInfo) -> None:
    try:
        with rasterio.open(path) as src:
            shape = (src.height, src.width)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(path, f"ground truth is not a raster ({exc})") from exc
    if shape != (info.height, info.width):
        raise InputError(path, f"ground truth is {shape[1]}x{shape[0]}, the raster {info.width}x{info.height}")
    truth_threshold(path)  # refuses a truth of values 2-127 before the model runs


def measure_settings(config: InspectConfig, pixel_size_m: float | None) -> MeasureSettings:
    """The job's measuring settings in this site's pixels. Every region is measured
    (``min_length_px=0``): the short ones become spots (:mod:`cracks.measure.records`), not nothing."""
    prune_px = config.prune_mm / 1000 / pixel_size_m if (config.prune_mm and pixel_size_m) else 5.0
    return MeasureSettings(prune_px=prune_px, min_length_px=0.0, road_axis_deg=config.road_axis_deg,
                           bridge_px=config.bridge_px)


def measure_site(plan: SitePlan, config: InspectConfig, strip_rows: int = 512) -> SiteMeasurement:
    """Measure every crack in the site's mask, strip by strip (bounded memory, any raster size).

    Reads the probabilities while their COG may still be being copied (:func:`segment_site`), and
    returns once the COG is written too."""
    from cracks.measure.raster import measure_raster, scan_mask

    threshold_u8 = round(plan.threshold * 255)
    truth = Path(config.truth) if config.truth else None  # checked by plan_site, before segmenting
    labels = plan.out_dir / ".labels.tif"
    probability = plan.probability_path
    try:
        with raster_env(), plan.times.measure("measure"):
            scan = scan_mask(probability, threshold_u8, truth, (0, TRUTH_TOLERANCE_PX), strip_rows=strip_rows,
                             truth_threshold=truth_threshold(truth) if truth is not None else 127,
                             bridge_px=config.bridge_px, labels_path=labels)
            pixel = plan.info.pixel_size_m
            regions = measure_raster(probability, threshold_u8, scan, pixel, measure_settings(config, pixel))
            sharpness = raster_sharpness(plan.info)
    finally:
        labels.unlink(missing_ok=True)
        return_freed_memory()
        plan.finish_mask()
    found, spots = site_records(regions, config, pixel)
    measurement = SiteMeasurement(found, scan.valid_pixels, scan.footprint_px, spots=spots, fragments=len(regions),
                                  sharpness=sharpness)
    if truth is not None:
        s = Scores.from_counts(*scan.truth_counts[0])
        near = Scores.from_counts(*scan.truth_counts[TRUTH_TOLERANCE_PX])
        measurement.truth_scores = {"dice": s.dice, "iou": s.iou, "precision": s.precision, "recall": s.recall,
                                    f"dice_tolerance_{TRUTH_TOLERANCE_PX}px": near.dice, "truth": str(truth),
                                    "cracks": crack_level(found, truth, plan, config)}
    return measurement


def crack_level(found: list[Crack], truth: Path, plan: SitePlan, config: InspectConfig) -> dict | None:
    """Crack-level scores of the records against the truth mask (None above crackeval.MAX_PIXELS)."""
    from cracks.crackeval import crack_level_scores

    pixel = plan.info.pixel_size_m
    prepared = prepared_truth(truth, pixel)
    if prepared is None:
        return None
    standard = site_standard(config)
    return crack_level_scores(found, prepared, severity=standard.width_class if pixel else None).to_dict()


def site_standard(config: InspectConfig) -> Standard:
    return get_standard(config.standard, config.severity_mm)


def site_records(regions: list[Crack], config: InspectConfig, pixel_size_m: float | None) -> tuple[list[Crack], list[Crack]]:
    """Measured regions -> (cracks, spots): the configured mm rules in this site's pixels, severity by the standard."""
    from cracks.measure.records import RecordRules, classify, crack_records
    from cracks.measure.spacing import crack_spacings

    mm_to_px = (lambda mm: mm / 1000 / pixel_size_m) if pixel_size_m else (lambda mm: 0.0)
    rules = RecordRules(link_gap_px=max(mm_to_px(config.link_gap_mm), LINK_MIN_GAP_PX) if config.link_gap_mm else 0,
                        min_length_px=max(config.min_length_px, mm_to_px(config.min_crack_mm)),
                        min_elongation=config.min_elongation)
    cracks, spots = crack_records(regions, rules)
    if pixel_size_m:
        spacings = crack_spacings(cracks, reach_px=SPACING_REACH_M / pixel_size_m)
        for crack, spacing_px in zip(cracks, spacings):
            crack.spacing_m = None if spacing_px is None else spacing_px * pixel_size_m
    return classify(cracks, site_standard(config).grade), classify(spots, lambda c: ("spot", "shape"))


def summarize_site(plan: SitePlan, measurement: SiteMeasurement, model: LoadedModel, config: InspectConfig,
                   seconds: float) -> SiteSummary:
    info, found = plan.info, measurement.cracks
    pixel = info.pixel_size_m
    area_m2 = measurement.analysed_pixels * pixel * pixel if pixel else None
    standard = site_standard(config)
    by_severity = {name: {"count": 0, "length_m": 0.0} for name in (*standard.classes, "unknown")}
    for c in found:
        by_severity[c.severity]["count"] += 1
        by_severity[c.severity]["length_m"] += c.length_m or 0.0
    if pixel:
        by_severity.pop("unknown")
    total_m = sum(c.length_m for c in found) if pixel else None
    density = total_m / area_m2 if (pixel and area_m2) else None
    crs = None
    if info.crs_wkt:
        crs = f"EPSG:{info.epsg}" if info.epsg else info.crs_wkt
    condition = standard.rate(by_severity, density)
    floor_px = model.meta.width_floor_px or WIDTH_FLOOR_PX
    caveats = [c for c in (standard.width_caveat(pixel, floor_px=floor_px), soft_caveat(measurement.sharpness, pixel)) if c]
    for caveat in caveats:  # the rating stands, but what its widths can mean here is said with it
        warnings.warn(f"{info.path}: {caveat}", stacklevel=2)
    if caveats:
        condition["caveat"] = "; ".join(caveats)
    return SiteSummary(
        site=config.site_name or plan.site,
        input=str(info.path),
        input_sha256=plan.input_sha256,
        crs=crs,
        georeferenced=info.georeferenced,
        units=info.units,
        gsd_m=pixel,
        width_px=info.width,
        height_px=info.height,
        analysed_area_m2=area_m2,
        analysed_area_px=measurement.analysed_pixels,
        n_cracks=len(found),
        total_length_m=total_m,
        total_length_px=float(sum(c.length_px for c in found)),
        density_m_per_m2=density,
        max_width_mm=max((c.width_max_mm for c in found), default=0.0) if pixel else None,
        max_width_px=max((c.width_max_px for c in found), default=0.0),
        by_severity=by_severity,
        n_spots=len(measurement.spots),
        n_fragments_linked=measurement.fragments - len(found) - len(measurement.spots),
        condition=condition,
        standard={"key": standard.key, "title": standard.title, "source": standard.source,
                  "classes": list(standard.classes), "limits_mm": list(standard.limits_mm),
                  "width_statistic": standard.width_field, "spacing_limits_m": list(standard.spacing_limits_m),
                  "note": standard.note, "description": standard.describe()},
        truth=measurement.truth_scores,
        imagery={"sharpness": measurement.sharpness.to_dict()} if measurement.sharpness else None,
        model={"path": str(model.path), "arch": model.meta.arch, "encoder": model.meta.encoder,
               "weights_sha256": model_weights_sha256(model),
               "threshold": plan.threshold, "trained": model.meta.created,
               "valid_metrics": model.meta.metrics.get("valid", {}), "width_floor_px": floor_px,
               "width_floor_measured": model.meta.width_floor_px is not None},
        processing={"tile": plan.grid.tile, "overlap": plan.grid.overlap, "windows": plan.grid.n_windows,
                    "window_px": [plan.grid.window_width, plan.grid.window_height],
                    "inference": plan.inference, "map_scale": info.map_scale,
                    "seconds": round(seconds, 2), "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    "package_version": cracks.__version__, "severity_limits_mm": list(standard.limits_mm),
                    "link_gap_mm": config.link_gap_mm, "min_crack_mm": config.min_crack_mm,
                    "min_elongation": config.min_elongation},
    )


def model_weights_sha256(model: LoadedModel) -> str | None:
    """The SHA-256 of the model's weights file: which model made a survey's figures, whatever its
    folder is called (``models/default`` changes with each shipped model); None for a model
    without a saved weights file."""
    return weights_sha256(model.path) if model.path and (model.path / artifact.WEIGHTS).is_file() else None


def export_site(plan: SitePlan, measurement: SiteMeasurement, summary: SiteSummary) -> dict[str, Path]:
    from reports import vector
    from reports.styles import severity_colours

    info = plan.info
    crs = CRS.from_wkt(info.crs_wkt) if info.georeferenced else None
    lines = vector.centerlines_frame(measurement.cracks, info.transform, crs)
    polygons = vector.polygons_frame(measurement.cracks, info.transform, crs)
    spots = vector.polygons_frame(measurement.spots, info.transform, crs)
    import geopandas as gpd

    site = gpd.GeoDataFrame(
        [{"site": summary.site, "n_cracks": summary.n_cracks, "total_length_m": summary.total_length_m,
          "density_m_per_m2": summary.density_m_per_m2, "condition": summary.condition["rating"],
          "geometry": vector.to_map(measurement.footprint_px, info.transform)}],
        geometry="geometry", crs=crs)
    outputs = {
        "mask": plan.mask_path,
        "geojson": vector.write_geojson(lines, plan.out_dir / "cracks.geojson", info.georeferenced,
                                        name=summary.site, gsd_m=info.pixel_size_m),
        "gpkg": vector.write_geopackage({"centerlines": lines, "crack_polygons": polygons, "spots": spots, "site": site},
                                        plan.out_dir / "cracks.gpkg", severity_colours(summary.standard["classes"])),
    }
    return outputs


def report_site(plan: SitePlan, measurement: SiteMeasurement, summary: SiteSummary) -> Path:
    from reports.pdf import write_report

    return write_report(plan.info, measurement, summary, plan.out_dir / "report.pdf", preview=plan.preview)


def publish_site(plan: SitePlan, measurement: SiteMeasurement, summary: SiteSummary) -> dict[str, Path]:
    """Write everything a user opens: GIS layers, ``summary.json`` (listing the outputs), the PDF."""
    with raster_env():
        return _publish(plan, measurement, summary)


def _publish(plan: SitePlan, measurement: SiteMeasurement, summary: SiteSummary) -> dict[str, Path]:
    with plan.times.measure("vectors"):
        outputs = export_site(plan, measurement, summary)
    outputs["summary"] = plan.out_dir / "summary.json"
    outputs["report"] = plan.out_dir / "report.pdf"
    summary.outputs = {k: v.name for k, v in outputs.items()}
    with plan.times.measure("pdf"):
        report_site(plan, measurement, summary)
    summary.processing["stages_s"] = plan.times.to_dict()
    summary.write(outputs["summary"])  # last: a summary.json means every output is there
    return outputs


RowRunner = Callable[[SitePlan, list[int]], Iterator[list[TilePrediction]]]
StageRunner = Callable[..., Any]


def run_here(stage: str, fn: Callable, *args: Any) -> Any:
    """The default stage runner: call the stage in this process."""
    return fn(*args)


def inspect_site(path: Path, config: InspectConfig, model: LoadedModel, predictor: Callable | None = None,
                 progress: bool = True, *, inference: str | None = None, run_rows: RowRunner | None = None,
                 run_stage: StageRunner = run_here) -> SiteResult:
    """Inspect one orthophoto: plan, segment, measure, summarize, publish. The one orchestration.

    Callers choose *how* stages run, never *which*: ``run_rows(plan, rows)`` yields the
    predictions of the grid rows still to segment, in order (default: this process's threaded
    row pipeline with ``predictor``; the Prefect flow runs them as tasks, on Dask workers if
    configured); ``run_stage(name, fn, *args)`` runs each stage (the flow makes each a Prefect
    task with retries). ``inference`` is the backend and precision chosen once (part of the
    resume key); workers are handed it, never choosing again.
    """
    started = time.monotonic()
    if inference is None:
        predictor = predictor or config_predictor(model, config)
        inference = str(getattr(predictor, "choice", "custom predictor"))
    plan = run_stage("plan", plan_site, Path(path), config, model, inference)
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    if config.truth:
        prepare_in_background(Path(config.truth), plan.info.pixel_size_m)  # while the model segments
    rows = (lambda todo: run_rows(plan, todo)) if run_rows is not None else None
    run_stage("segment", partial(segment_site, cog_in_background=True), plan, predictor, rows, progress)
    measurement = run_stage("measure", measure_site, plan, config)
    summary = summarize_site(plan, measurement, model, config, time.monotonic() - started)
    outputs = run_stage("publish", publish_site, plan, measurement, summary)
    return SiteResult(Path(path), plan.site, plan.out_dir, outputs, summary, seconds=time.monotonic() - started)


def warm_up_stages() -> threading.Thread:
    """Import what the stages after segmentation need (scipy and scikit-image for measuring,
    reportlab, geopandas for publishing: about a second and a half) on a background thread,
    while the model segments and the main thread mostly waits for it.

    The garbage collector pauses meanwhile, and then every object alive is frozen out of its
    sight (:func:`gc.freeze`; :func:`inspect_all` thaws them when it returns): the full
    collection that the imports' half million objects set off took 78-86 ms with the GIL held,
    in the first grid row of the 100 MP benchmark (``benchmarks/cpu_timeline.py``), and nothing
    those modules made is garbage."""
    collecting = gc.isenabled()
    gc.disable()

    def work() -> None:
        try:
            import cracks.measure.raster  # noqa: F401
            import cracks.measure.records  # noqa: F401
            import cracks.measure.spacing  # noqa: F401
            import reports.pdf  # noqa: F401
            import reports.vector  # noqa: F401
        except Exception:  # noqa: BLE001 - the stage that needs it will import again and report
            pass
        finally:
            gc.freeze()
            if collecting:
                gc.enable()

    thread = threading.Thread(target=work, name="warm-up-stages", daemon=True)
    try:
        thread.start()
    except RuntimeError:  # no thread to be had: nothing warmed up, the collector as it was
        if collecting:
            gc.enable()
        raise
    return thread


def inspect_all(config: InspectConfig, progress: bool = True) -> list[SiteResult]:
    """Inspect every input; a bad input becomes a failed result, never a stopped run."""
    keep_large_arrays_out_of_the_heap()  # before any worker thread exists
    warm_up = warm_up_stages()
    try:
        return _inspect_inputs(config, progress)
    finally:
        warm_up.join()
        gc.unfreeze()  # what the warm-up froze is collected as usual again


def _inspect_inputs(config: InspectConfig, progress: bool) -> list[SiteResult]:
    inputs = [Path(path) for path in config.inputs]
    if inputs:
        hash_ahead(inputs[0])
    model = load_model(config)
    predictor = config_predictor(model, config)
    results = []
    for i, path in enumerate(inputs):
        if i + 1 < len(inputs):
            hash_ahead(inputs[i + 1])  # while this site is inspected
        try:
            results.append(inspect_site(Path(path), config, model, predictor, progress))
        except CracksError as exc:
            log.info("%s", exc)  # the caller prints it: one line per problem
            results.append(SiteResult(Path(path), site_name(Path(path), config), error=str(exc)))
        except OSError as exc:  # disk full, read-only output: this site fails, outputs stay whole, the next goes on
            where = exc.filename or config.out
            problem = f"cannot write the outputs ({exc.strerror or exc})"
            log.info("%s: %s", where, problem)
            results.append(SiteResult(Path(path), site_name(Path(path), config), error=f"{where}: {problem}"))
    return results
