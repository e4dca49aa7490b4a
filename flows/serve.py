"""Serve every deployment from one process: ``python -m flows.serve``.

Talks to the Prefect API in ``PREFECT_API_URL`` (a local ``prefect server start`` or any other).
Deployments: ``fix/fix``, ``train/train``, ``evaluate/evaluate``, ``export/export``, ``inspect/inspect``,
``compare/compare`` and ``survey/survey``, the last on a cron schedule (``CRACKS_SURVEY_CRON``, nightly at 02:00 by
default) over ``CRACKS_SURVEY_FOLDER``. ``CRACKS_DASK_ADDRESS`` sends segmentation to Dask.
"""

from __future__ import annotations

import os

from prefect import serve

from flows.compare import compare
from flows.fix import fix
from flows.inspect import inspect, survey, with_runner
from flows.train import evaluate, export, train


def deployments() -> list:
    cron = os.environ.get("CRACKS_SURVEY_CRON", "0 2 * * *")
    survey_parameters = {
        "folder": os.environ.get("CRACKS_SURVEY_FOLDER", "survey-imagery"),
        "out": os.environ.get("CRACKS_SURVEY_OUT", "survey"),
    }
    return [
        fix.to_deployment(name="fix", description="Repair a crack dataset (cracks fix)."),
        train.to_deployment(name="train", description="Train a segmentation model (cracks train); resumes."),
        evaluate.to_deployment(name="evaluate", description="Score a model artifact (cracks evaluate)."),
        export.to_deployment(name="export", description="Add an int8 export for fast CPU inspection (cracks export)."),
        with_runner(inspect).to_deployment(name="inspect", description="Inspect orthophotos (cracks inspect)."),
        compare.to_deployment(name="compare", description="Change between two inspections of one site (cracks compare)."),
        with_runner(survey).to_deployment(name="survey", cron=cron, parameters=survey_parameters,
                                          description="Nightly survey: inspect new or changed orthophotos."),
    ]


if __name__ == "__main__":
    serve(*deployments())
