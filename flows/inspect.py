"""Flows ``inspect`` and ``survey``: the inspection stages as Prefect tasks.

Segmentation runs as one task per chunk of grid rows, so with a Dask task runner the tiles are
segmented on the cluster's workers while the flow stitches, measures, exports and reports.
Set ``CRACKS_DASK_ADDRESS`` (a scheduler address, or ``local`` for a LocalCluster on this
machine) to use Dask; unset, everything runs in-process.
"""

from __future__ import annotations

import os
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from cracks.config import DEFAULT_MODEL_DIR, InspectConfig, SurveyConfig
from cracks.errors import CracksError
from cracks.inspect import pipeline as inspection
from cracks.inspect import survey as survey_lib
from cracks.inspect.predictor import cached_predictor
from cracks.inspect.rows import segment_row
from cracks.memory import keep_large_arrays_out_of_the_heap
from cracks.models import backends

ROWS_PER_TASK = 2


def io_errors_only(task, task_run, state) -> bool:
    """Retry a task after an I/O error (a busy disk, a network share), never after a bad input:
    a CracksError is deterministic and would fail the same way three times."""
    try:
        state.result()
    except CracksError:
        return False
    except OSError:
        return True
    except Exception:
        return False
    return False


def _call(fn, *args):
    return fn(*args)


plan_task = task(name="plan windows", retries=2, retry_delay_seconds=2, retry_condition_fn=io_errors_only,
                 cache_policy=NONE)(_call)
measure_task = task(name="measure", cache_policy=NONE)(_call)
publish_task = task(name="publish", retries=2, retry_delay_seconds=2, retry_condition_fn=io_errors_only,
                    cache_policy=NONE)(_call)  # GIS layers, summary.json and the PDF: file writes, retried
STAGE_TASKS = {"plan": plan_task, "measure": measure_task, "publish": publish_task}


def run_stage(stage: str, fn, *args):
    """Each stage of ``inspection.inspect_site`` as a Prefect task; segmentation stays in the flow,
    which stitches rows as their tasks finish (on Dask workers when configured)."""
    return STAGE_TASKS[stage](fn, *args) if stage in STAGE_TASKS else fn(*args)


@task(name="segment rows", cache_policy=NONE)
def segment_task(plan: inspection.SitePlan, rows: list[int], model: str, batch_size: int | None, threads: int | None,
                 device: str = "auto"):
    choice = backends.BackendChoice.parse(plan.inference)  # chosen once, by the flow; part of the resume key
    predictor = cached_predictor(model, batch_size=batch_size, threads=threads, precision=choice.precision,
                                 backend=choice.backend, device=device, passes=choice.passes)
    return [segment_row(plan.info, plan.grid, r, predictor) for r in rows]


def inspect_one(path: Path, config: InspectConfig, model) -> tuple[Path, dict]:
    """One site through ``inspection.inspect_site`` (the library's orchestration), with its
    stages as tasks and its grid rows segmented by tasks. Raises CracksError for a bad input.

    ``model`` is loaded once per flow run; segmentation tasks load their own copy per worker.
    """
    logger = get_run_logger()
    inference = str(backends.resolve(model, config.backend, config.precision,  # once, for every worker
                                     passes=inspection.config_passes(model, config)))

    def run_rows(plan: inspection.SitePlan, todo: list[int]):
        logger.info("%s: %d windows in %d grid rows, %d rows to segment", path.name, plan.grid.n_windows,
                    len(plan.grid.row_starts), len(todo))
        chunks = [todo[i : i + ROWS_PER_TASK] for i in range(0, len(todo), ROWS_PER_TASK)]
        futures = [segment_task.submit(plan, c, str(config.model), config.batch_size, config.threads, config.device)
                   for c in chunks]
        for future in futures:
            yield from future.result()

    result = inspection.inspect_site(path, config, model, progress=False, inference=inference, run_rows=run_rows,
                                     run_stage=run_stage)
    summary = result.summary
    logger.info("%s: %d cracks, condition %s -> %s", path.name, summary.n_cracks, summary.condition["rating"],
                result.out_dir)
    return result.out_dir / "summary.json", summary


@flow(name="inspect", log_prints=True)
def inspect(
    inputs: list[str],
    out: str = str(InspectConfig.out),
    model: str = str(DEFAULT_MODEL_DIR),
    tile: int = InspectConfig.tile,
    overlap: int = InspectConfig.overlap,
    batch_size: int | None = None,
    gsd_mm: float | None = None,
    threshold: float | None = None,
    truth: str | None = None,
    precision: str = InspectConfig.precision,
    backend: str = InspectConfig.backend,
    tta: bool = InspectConfig.tta,
    standard: str = InspectConfig.standard,
    half_scale: bool = InspectConfig.half_scale,
) -> list[dict]:
    """Inspect orthophotos; a bad input is reported in its result and the others go on."""
    config = InspectConfig(inputs=[Path(p) for p in inputs], out=Path(out), model=Path(model), tile=tile, overlap=overlap,
                           batch_size=batch_size, gsd_mm=gsd_mm, threshold=threshold, truth=Path(truth) if truth else None,
                           precision=precision, backend=backend, tta=tta, standard=standard, half_scale=half_scale)
    keep_large_arrays_out_of_the_heap()
    model = inspection.load_model(config)
    results = []
    for path in config.inputs:
        try:
            summary_path, summary = inspect_one(path, config, model)
            results.append({"input": str(path), "status": "ok", "summary": str(summary_path),
                            "n_cracks": summary.n_cracks})
        except CracksError as exc:
            get_run_logger().error("%s", exc)
            results.append({"input": str(path), "status": "failed", "error": str(exc)})
    return results


@flow(name="survey", log_prints=True)
def survey(
    folder: str = "survey-imagery",
    out: str = "survey",
    model: str = str(DEFAULT_MODEL_DIR),
    tile: int = InspectConfig.tile,
    overlap: int = InspectConfig.overlap,
    gsd_mm: float | None = None,
    standard: str = InspectConfig.standard,
    tta: bool = InspectConfig.tta,
    patterns: list[str] | None = None,
    half_scale: bool = InspectConfig.half_scale,
) -> dict:
    """Inspect new or changed orthophotos in ``folder``; write the survey index (cracks.inspect.survey.run_survey,
    with each site's stages as tasks)."""
    config = SurveyConfig(Path(folder), Path(out), inspect={"model": model, "tile": tile, "overlap": overlap,
                                                             "gsd_mm": gsd_mm, "standard": standard, "tta": tta,
                                                             "half_scale": half_scale},
                          patterns=tuple(patterns) if patterns else SurveyConfig.patterns)
    loaded: dict = {}

    def inspector(path: Path, inspect_config: InspectConfig) -> Path:
        if "model" not in loaded:  # once per flow run, and only when a site needs it
            loaded["model"] = inspection.load_model(inspect_config)
        summary_path, _ = inspect_one(path, inspect_config, loaded["model"])
        return summary_path

    return survey_lib.run_survey(config, inspector, log=get_run_logger().info).to_dict()


def task_runner_from_env():
    """``CRACKS_DASK_ADDRESS``: a Dask scheduler address, or ``local``; unset means in-process."""
    address = os.environ.get("CRACKS_DASK_ADDRESS")
    if not address:
        return None
    from prefect_dask import DaskTaskRunner

    if address == "local":
        workers = int(os.environ.get("CRACKS_DASK_WORKERS", "2"))
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True})
    return DaskTaskRunner(address=address)


def with_runner(flow_obj):
    runner = task_runner_from_env()
    return flow_obj.with_options(task_runner=runner) if runner else flow_obj
