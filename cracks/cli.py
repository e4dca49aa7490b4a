"""The ``cracks`` command line. Each command builds a config object and calls one library function."""

from __future__ import annotations

import gc
import json
import logging
import os
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cracks.config import EvaluateConfig, ExportConfig, InspectConfig, TrainConfig
from cracks.errors import CracksError, SettingError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Crack datasets, models and orthophoto inspection.")
console = Console(stderr=True)


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _paths(text: str) -> list[Path]:
    return [Path(p.strip()) for p in text.split(",") if p.strip()]


def _limits(text: str) -> tuple[float, float, float]:
    try:
        limits = tuple(float(v) for v in text.split(","))
    except ValueError:
        limits = ()
    if len(limits) != 3 or not limits[0] < limits[1] < limits[2]:
        _fail(f"--severity-mm {text!r}: give three increasing widths in mm, e.g. 0.1,0.3,1.0")
    return limits  # type: ignore[return-value]


def run_safely(fn, *args, **kwargs):
    """Turn user-fixable problems into one clear line and a non-zero exit code.

    Only :class:`~cracks.errors.CracksError` and missing or unreadable files are the user's to
    fix; anything else is a bug and keeps its traceback.
    """
    try:
        return fn(*args, **kwargs)
    except SettingError as exc:
        _fail(exc.as_option())
    except CracksError as exc:
        _fail(str(exc))
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as exc:
        _fail(f"{exc.filename}: {exc.strerror}")


@app.command()
def fix(
    path: Annotated[Path, typer.Argument(help="Dataset folder.")],
    layout: Annotated[str, typer.Option(help="auto, kaggle, deepcrack, crackforest, folders or beside.")] = "auto",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would change; change nothing.")] = False,
    quarantine: Annotated[Optional[Path], typer.Option(help="Where removed files go (default: PATH.quarantine).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Repair a crack dataset: pair, quarantine broken files, binarize masks, flag suspicious pairs."""
    from cracks.config import FixConfig
    from cracks.data.fix import fix_dataset

    report = run_safely(fix_dataset, FixConfig(path, layout, dry_run, quarantine))
    if json_out:
        print(json.dumps(report.to_dict(), indent=2))
        return
    # escaped: "[kaggle, masks 0/255]" is rich markup, and was silently dropped from the title
    title = f"cracks fix {'(dry run) ' if dry_run else ''}{report.root} [{report.layout}, masks {report.mask_encoding}]"
    table = Table(title=escape(title))
    table.add_column("action")
    table.add_column("count", justify="right")
    for kind, count in report.counts.items():
        table.add_row(kind, str(count))
    table.add_row("pairs kept", str(report.pairs))
    table.add_row("unannotated images", str(report.unannotated))
    Console().print(table)
    for action in report.actions[:20]:
        print(f"{'would ' if dry_run else ''}{action.kind}: {action.path} ({action.reason})")
    for flag in report.flags[:20]:
        print(f"flagged: {flag.path} ({flag.reason})")
    extra = max(0, len(report.actions) - 20) + max(0, len(report.flags) - 20)
    if extra:
        print(f"... {extra} more in fix-report.json" if not dry_run else f"... {extra} more (use --json)")


def _floats(option: str, text: str | None, count: int | None = None) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if not values or (count and len(values) != count) or not all(0 < v < float("inf") for v in values):
        _fail(f"{option} {text!r}: give {count or 'one or more'} positive comma-separated numbers")
    return values


_TRAIN = TrainConfig(data=[])


@app.command()
def train(
    data: Annotated[str, typer.Option(help="Dataset folder(s), comma-separated.")],
    out: Annotated[Path, typer.Option(help="Run folder: checkpoints, model/, Comet archive.")] = _TRAIN.out,
    layout: str = _TRAIN.layout,
    arch: Annotated[str, typer.Option(help="unet, unetplusplus, fpn, linknet, deeplabv3plus, manet, segformer, plain-unet.")] = _TRAIN.arch,
    encoder: str = _TRAIN.encoder,
    pretrained: bool = _TRAIN.pretrained,
    init_model: Annotated[Optional[Path], typer.Option(help="Start from this model artifact (same arch and encoder).")] = None,
    freeze_norm: Annotated[bool, typer.Option("--freeze-norm", help="Keep the start's batch-norm statistics: for "
                                              "fine-tuning with small batches, e.g. on a CPU.")] = _TRAIN.freeze_norm,
    epochs: int = _TRAIN.epochs,
    batch_size: int = _TRAIN.batch_size,
    micro_batch: Annotated[Optional[int], typer.Option(help="Crops per forward/backward pass, adding up to one step of "
                                                       "--batch-size (with --freeze-norm: large batches on a CPU).")] = None,
    crop: int = _TRAIN.crop,
    lr: float = _TRAIN.lr,
    loss: Annotated[str, typer.Option(help="dice_bce, dice_bce_skeleton (adds skeleton recall: thin cracks count by length), focal or tversky.")] = _TRAIN.loss,
    schedule: Annotated[str, typer.Option(help="onecycle or cosine.")] = _TRAIN.schedule,
    data_weights: Annotated[Optional[str], typer.Option(help="Share of each dataset per epoch, e.g. 1,1,1.5,0.8 (default: by size).")] = None,
    samples_per_epoch: Annotated[Optional[int], typer.Option(help="Crops per epoch when --data-weights is given.")] = None,
    scale: Annotated[str, typer.Option(help="Random rescale range MIN,MAX, e.g. 0.5,2 for field imagery.")] = "1,1",
    hard_negatives: Annotated[float, typer.Option(help="Probability of painting field artefacts (lane markings, joints, kerbs, seams, collars, shadows, formwork, stains, tining, joints across tining).")] = _TRAIN.hard_negatives,
    field_photometry: Annotated[bool, typer.Option("--field-photometry", help="Sun, shadow, wet/dry, camera-colour augmentation.")] = False,
    field_optics: Annotated[bool, typer.Option("--field-optics", help="Blur, coarser pixels, dull exposure and heavy JPEG on the photo; the mask stays sharp.")] = False,
    seed: int = _TRAIN.seed,
    workers: int = _TRAIN.workers,
    device: str = _TRAIN.device,
    max_steps_per_epoch: Optional[int] = None,
    max_valid_images: Annotated[Optional[int], typer.Option(help="Validation images per dataset (evenly spread).")] = None,
    checkpoint_every: Annotated[int, typer.Option(help="Steps between resumable checkpoints.")] = _TRAIN.checkpoint_every,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT/checkpoints/last.pt.")] = False,
    half: Annotated[bool, typer.Option("--half", help="Store the artifact in float16.")] = False,
    comet: bool = _TRAIN.comet,
) -> None:
    """Train a segmentation model; the best epoch by validation Dice (mean over datasets) is saved to OUT/model."""
    from cracks.training.train import train as run_train

    scale_range = _floats("--scale", scale, 2)
    if not 0 <= hard_negatives <= 1:
        _fail(f"--hard-negatives {hard_negatives}: give a probability between 0 and 1")
    config = TrainConfig(data=_paths(data), out=out, layout=layout, arch=arch, encoder=encoder, pretrained=pretrained,
                         init_model=init_model, freeze_norm=freeze_norm, epochs=epochs, batch_size=batch_size,
                         micro_batch=micro_batch, crop=crop,
                         lr=lr, loss=loss,
                         schedule=schedule, data_weights=_floats("--data-weights", data_weights),
                         samples_per_epoch=samples_per_epoch, scale=tuple(scale_range), hard_negatives=hard_negatives,
                         field_photometry=field_photometry, field_optics=field_optics, seed=seed, workers=workers, device=device,
                         max_steps_per_epoch=max_steps_per_epoch, max_valid_images=max_valid_images,
                         checkpoint_every=checkpoint_every, resume=resume, half_precision_artifact=half, comet=comet)
    result = run_safely(run_train, config)
    print(f"best validation dice {result.best_dice:.4f} at threshold {result.threshold:.2f}; model: {result.model_dir}")


_EVALUATE = EvaluateConfig(model=Path(), data=[])


@app.command()
def evaluate(
    model: Annotated[Path, typer.Option(help="Model artifact folder.")],
    data: Annotated[str, typer.Option(help="Dataset folder(s), comma-separated.")],
    layout: str = _EVALUATE.layout,
    split: Annotated[str, typer.Option(help="Split to score; 'all' for every annotated pair.")] = _EVALUATE.split,
    tolerance: Annotated[int, typer.Option(help="Pixel tolerance of the tolerant columns.")] = _EVALUATE.tolerance,
    device: str = _EVALUATE.device,
    tta: Annotated[bool, typer.Option("--tta", help="Score the model averaged with the mirror image, as `inspect --tta` runs it.")] = _EVALUATE.tta,
    half_scale: Annotated[bool, typer.Option("--half-scale/--no-half-scale", help="Score the model checked at half scale, as `inspect --half-scale` runs it.")] = _EVALUATE.half_scale,
    json_out: Annotated[bool, typer.Option("--json", help="Print exactly one JSON object.")] = False,
) -> None:
    """Score a model per domain: Dice, IoU, precision, recall at its threshold, strict and with a
    pixel tolerance; false crack pixels per MP on crack-free images; pooled ODS and OIS F1."""
    from cracks.sharpness import SOFT_RISE_PX
    from cracks.training.evaluate import evaluate as run_evaluate

    if tolerance < 0:
        _fail(f"--tolerance {tolerance}: give 0 or more pixels")
    result = run_safely(run_evaluate, EvaluateConfig(model, _paths(data), layout, split, tolerance, device, tta=tta,
                                                       half_scale=half_scale),
                        progress=not json_out)
    if json_out:
        print(json.dumps(result.to_dict()))
        return
    passes = [name for name, on in (("mirror-averaged", result.passes.tta), ("checked at half scale", result.passes.half_scale)) if on]
    table = Table(title=escape(f"{model} at threshold {result.overall.threshold:.2f}" + (f", {', '.join(passes)}" if passes else "")))
    for column in ("domain", "images", "Dice", f"Dice {tolerance} px", "precision", "recall", "false px/MP (crack-free)",
                   "crack precision", "crack recall", "records per crack", "length error"):
        table.add_column(column, justify="left" if column == "domain" else "right")
    for d in result.domains:
        c = d.cracks or {}
        table.add_row(escape(d.domain), str(d.strict.n_images), f"{d.strict.dice:.3f}", f"{d.tolerant.dice:.3f}",
                      f"{d.strict.precision:.3f}", f"{d.strict.recall:.3f}",
                      "-" if d.false_px_per_mp is None else f"{d.false_px_per_mp:.0f} ({d.crack_free_images})",
                      *((f"{c['precision']:.2f}", f"{c['recall']:.2f}", f"{c['records_per_true_crack']:.2f}",
                         f"{c['length_error']:+.0%}") if c else ("",) * 4))
    o = result.overall
    table.add_row("all (pooled)", str(o.n_images), f"{o.dice:.3f}", "", f"{o.precision:.3f}", f"{o.recall:.3f}", "",
                  "", "", "", "")
    Console().print(table)
    print(f"pooled: ODS F1 {o.ods_f1:.4f} (threshold {o.best_threshold:.2f}), OIS F1 {o.ois_f1:.4f}")
    floors = [(d.domain, d.width_floor) for d in result.domains] + [("all", result.width_floor)]
    print("width floor (1st percentile of the records' mean widths; a crack narrower is measured about that wide): "
          + ", ".join(f"{name} {f.px:.1f} px ({f.records} records)" if f.px is not None else f"{name} - ({f.records} records)"
                      for name, f in floors))
    print(f"soft photos (edge rise over {SOFT_RISE_PX:g} px: cracks come out wider than drawn): "
          + ", ".join(f"{d.domain} {d.sharpness['soft']} of {d.sharpness['measured']}"
                      + (f" (median rise {d.sharpness['median_edge_rise_px']:.2f} px)" if d.sharpness["measured"] else "")
                      for d in result.domains))


@app.command()
def experiment(
    config: Annotated[Path, typer.Argument(help="YAML file with `defaults:` and `runs:`.")],
    out: Annotated[Path, typer.Option(help="Folder for runs and the comparison table.")] = Path("runs/experiment"),
) -> None:
    """Train several configurations under one budget and write a comparison table."""
    from cracks.training.experiment import run_experiment

    result = run_safely(run_experiment, config, out)
    print(result.table_markdown)
    print(f"table: {result.table_path}")


@app.command()
def inspect(
    inputs: Annotated[list[Path], typer.Argument(help="GeoTIFF orthophotos or JPEG/PNG photos.")],
    out: Annotated[Path, typer.Option(help="Output folder; one subfolder per input.")] = InspectConfig.out,
    model: Annotated[Optional[Path], typer.Option(help="Model artifact folder (default: the shipped model).")] = None,
    tile: Annotated[int, typer.Option(help="Tile size in pixels.")] = InspectConfig.tile,
    overlap: Annotated[int, typer.Option(help="Overlap of neighbouring tiles in pixels (hides seams).")] = InspectConfig.overlap,
    batch_size: Annotated[Optional[int], typer.Option(help="Tiles per model call (default 1 on a CPU, 8 on CUDA).")] = None,
    gsd_mm: Annotated[Optional[float], typer.Option(help="Ground sample distance in mm/px for inputs without georeferencing.")] = None,
    threshold: Annotated[Optional[float], typer.Option(help="Decision threshold (default: the model's tuned one).")] = None,
    truth: Annotated[Optional[Path], typer.Option(help="Ground-truth mask to score the result against.")] = None,
    road_axis_deg: Annotated[Optional[float], typer.Option(help="Road direction, degrees from the raster x axis (default: its longer side).")] = None,
    standard: Annotated[str, typer.Option(help="Severity and condition rules: concrete, astm-d6433 (pavement) or aashto-1130 (bridge RC).")] = InspectConfig.standard,
    severity_mm: Annotated[Optional[str], typer.Option(help="Custom limits hairline|fine|medium|wide in mm instead of --standard, e.g. 0.2,0.5,2.")] = None,
    link_gap_mm: Annotated[float, typer.Option(help="Join crack fragments facing each other across gaps up to this (0: never).")] = InspectConfig.link_gap_mm,
    min_crack_mm: Annotated[float, typer.Option(help="Shorter regions are spots, not cracks.")] = InspectConfig.min_crack_mm,
    backend: Annotated[str, typer.Option(help="auto (openvino on a CPU, torch on CUDA), torch or openvino.")] = InspectConfig.backend,
    precision: Annotated[str, typer.Option(help="auto (the model's int8 export, else bf16 where the CPU runs it natively, else fp32), fp32, bf16 or int8.")] = InspectConfig.precision,
    tta: Annotated[bool, typer.Option("--tta", help="Average each tile with its mirror image: fewer false cracks (an earlier model: crack-free walls 117 -> 11 px/MP); a second pass of the network on each tile where it can change a decision.")] = InspectConfig.tta,
    half_scale: Annotated[bool, typer.Option("--half-scale/--no-half-scale", help="Keep a crack pixel only where the network also sees a crack within 48 px in the tile at half resolution: stains, tining and kerbs on walls all but vanish (README, Half-scale check); a quarter pass more on tiles with cracks.")] = InspectConfig.half_scale,
    threads: Optional[int] = InspectConfig.threads,
    device: str = InspectConfig.device,
) -> None:
    """Tile, segment, stitch and measure orthophotos; write mask.tif, GeoJSON, GeoPackage, summary and PDF."""
    from cracks.config import DEFAULT_MODEL_DIR
    from cracks.inspect.pipeline import inspect_all

    config = run_safely(InspectConfig, inputs=list(inputs), out=out, model=model or DEFAULT_MODEL_DIR, tile=tile,
                        overlap=overlap, batch_size=batch_size, gsd_mm=gsd_mm, threshold=threshold, truth=truth,
                        road_axis_deg=road_axis_deg, threads=threads, device=device,
                        standard=standard, severity_mm=_limits(severity_mm) if severity_mm else None,
                        link_gap_mm=link_gap_mm, min_crack_mm=min_crack_mm, precision=precision, backend=backend, tta=tta,
                        half_scale=half_scale)
    results = run_safely(inspect_all, config)
    for r in results:
        if r.ok:
            s = r.summary
            length = f"{s.total_length_m:.2f} m" if s.total_length_m is not None else f"{s.total_length_px:.0f} px"
            print(f"{r.site}: {s.n_cracks} cracks, {length}, condition {s.condition['rating']} -> {r.out_dir}")
            for name, path in r.outputs.items():
                print(f"  {name:8} {path}")
        else:
            console.print(f"[bold red]error:[/] {escape(str(r.error))}", highlight=False, soft_wrap=True)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@app.command()
def survey(
    folder: Annotated[Path, typer.Argument(help="Folder of orthophotos, searched recursively (see --pattern).")],
    out: Annotated[Path, typer.Option(help="Survey folder: sites/, survey-index.geojson/.csv, survey-state.json.")] = Path("survey"),
    model: Annotated[Optional[Path], typer.Option(help="Model artifact folder (default: the shipped model).")] = None,
    standard: Annotated[str, typer.Option(help="concrete, astm-d6433 or aashto-1130.")] = InspectConfig.standard,
    gsd_mm: Annotated[Optional[float], typer.Option(help="Ground sample distance for inputs without georeferencing.")] = None,
    tile: int = InspectConfig.tile,
    overlap: int = InspectConfig.overlap,
    tta: Annotated[bool, typer.Option("--tta", help="Average each tile with its mirror image (see inspect). Change "
                                      "reports name epochs inspected with and without it.")] = InspectConfig.tta,
    half_scale: Annotated[bool, typer.Option("--half-scale/--no-half-scale", help="Check each tile at half scale (see inspect). "
                                             "Change reports name epochs inspected with and without it.")] = InspectConfig.half_scale,
    pattern: Annotated[Optional[list[str]], typer.Option(help="File names to inspect, any case; repeat for several "
                                                        "(default *.tif and *.tiff; e.g. --pattern '*.jpg' for photos).")] = None,
) -> None:
    """Inspect the new, changed and failed orthophotos of a folder and rewrite the survey index;
    unchanged ones (same sha256) keep their results. The Prefect `survey` deployment runs the same."""
    from cracks.config import DEFAULT_MODEL_DIR, SurveyConfig
    from cracks.inspect.survey import run_survey, survey_inspect_config

    settings = {"model": model or DEFAULT_MODEL_DIR, "standard": standard, "gsd_mm": gsd_mm, "tile": tile, "overlap": overlap,
                "tta": tta, "half_scale": half_scale}
    config = SurveyConfig(folder, out, inspect=settings, patterns=tuple(pattern) if pattern else SurveyConfig.patterns)
    run_safely(survey_inspect_config, config, [])  # refuse bad settings before any work
    result = run_safely(run_survey, config)
    print(f"{result.inspected} inspected, {result.unchanged} unchanged, {len(result.failed)} failed; index: {result.index}")
    if result.failed:
        raise typer.Exit(1)


@app.command()
def compare(
    old: Annotated[Path, typer.Argument(help="Inspection output folder of the earlier survey (summary.json, cracks.gpkg).")],
    new: Annotated[Path, typer.Argument(help="Inspection output folder of the later survey of the same site.")],
    out: Annotated[Path, typer.Option(help="Where changes.gpkg/.geojson/.json and change-report.pdf go.")] = Path("changes"),
) -> None:
    """Which cracks are new, gone, extended or widened between two surveys of one site."""
    from cracks.compare import compare as run_compare
    from cracks.compare import write_comparison

    result = run_safely(run_compare, old, new)
    outputs = run_safely(write_comparison, result, out)
    counts = result.to_dict()["counts"]
    print(", ".join(f"{n} {c}" for c, n in counts.items()) + f"; shift {result.registration.shift_px[1]:+.1f}, "
          f"{result.registration.shift_px[0]:+.1f} px (col, row)")
    if result.inspection_differs:
        differs = ", ".join(result.inspection_differs)
        logging.getLogger("cracks").warning(
            "the epochs were inspected differently (%s): part of any change may be the inspection's", differs)
    for name, path in outputs.items():
        print(f"  {name:8} {path}")


@app.command()
def export(
    model: Annotated[Path, typer.Argument(help="Model artifact folder to add an int8 export to.")],
    data: Annotated[str, typer.Option(help="Annotated dataset folder(s), comma-separated, for calibration and validation.")],
    layout: str = "auto",
    split: Annotated[str, typer.Option(help="Split to draw images from; keep the test split out.")] = "train",
    calibration_images: int = ExportConfig.calibration_images,
    validation_images: int = ExportConfig.validation_images,
    max_drop: Annotated[float, typer.Option(help="Largest Dice loss allowed on any one dataset's validation images.")] = ExportConfig.max_drop,
) -> None:
    """Quantize a model to int8 for OpenVINO, keeping validation Dice within --max-drop; inspect then uses it."""
    from cracks.models.export import export_int8

    config = ExportConfig(model=model, data=_paths(data), layout=layout, split=split, calibration_images=calibration_images,
                          validation_images=validation_images, max_drop=max_drop)
    result = run_safely(export_int8, config)
    print(f"{result.path}: validation Dice {result.dice_float:.4f} (float) -> {result.dice_int8:.4f} (int8), "
          f"{result.calibration_images} calibration + {result.validation_images} validation images; per dataset: "
          + ", ".join(f"{name} {f:.4f} -> {q:.4f}" for name, (f, q) in result.per_domain.items())
          + f" (worst loss {result.drop:.4f}, budget {config.max_drop:g})")


def quiet_gdal() -> None:
    """GDAL's own warnings (one per block of a damaged file) go to the debug log, not the terminal:
    every problem is reported once, as our one line."""
    logging.getLogger("rasterio").setLevel(logging.ERROR)
    logging.getLogger("rasterio._env").setLevel(logging.CRITICAL)
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)


def plain_warnings() -> None:
    """Warnings meant for the user (``no CRS or transform; results in px``) print as one line,
    like the log's, without the source line of whichever call happened to raise them."""
    import warnings

    warnings.formatwarning = lambda message, category, *_args, **_kw: f"WARNING: {message}\n"


@app.callback()
def _setup() -> None:
    # Runs before every command, also through the `cracks` console script (which calls `app` from `main`).
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    quiet_gdal()
    plain_warnings()


def single_threaded_blas() -> None:
    """OpenBLAS on one thread, unless the user chose otherwise (``OPENBLAS_NUM_THREADS``); set
    before numpy is first imported, which the command's own imports do not.

    numpy and SciPy each load an OpenBLAS that starts a thread per core, and those threads spin
    (``sched_yield``) for a while after they start: on two cores they took CPU from loading the
    model and reading the first tiles, where every core is busy, and no command does BLAS work
    that more threads would speed up. ``benchmarks/startup_timeline.py`` with
    ``OPENBLAS_NUM_THREADS=2`` and without: loading the predictor 0.28-0.38 -> 0.22-0.29 s."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main() -> None:
    """The ``cracks`` console script: the command, then an exit without a last garbage collection.

    Tearing the interpreter down after a command collected garbage over every object of every
    module imported (OpenVINO, GDAL, pandas and the rest): 0.22 s after each inspection, a tenth
    of the sample site's run (``perf`` of the exit). Frozen first (:func:`gc.freeze`), they are
    out of the collector's sight, and the exit is otherwise the usual one."""
    single_threaded_blas()
    try:
        app()
    finally:
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
