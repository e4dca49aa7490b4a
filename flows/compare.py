"""Flow ``compare``: change between two inspections of one site (same code path as ``cracks compare``)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from cracks.compare import compare as compare_epochs
from cracks.compare import write_comparison


@flow(name="compare", log_prints=True)
def compare(old: str, new: str, out: str = "changes") -> dict:
    """Which cracks are new, gone, extended or widened between the inspections in ``old`` and ``new``."""
    result = compare_epochs(Path(old), Path(new))
    outputs = write_comparison(result, Path(out))
    figures = result.to_dict()
    get_run_logger().info("%s -> %s: %s", old, new, figures["counts"])
    return {**figures, "outputs": {k: str(v) for k, v in outputs.items()}}
