"""Flow ``fix``: repair a crack dataset (same code path as ``cracks fix``)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from cracks.config import FixConfig
from cracks.data.fix import fix_dataset


@flow(name="fix", log_prints=True)
def fix(path: str, layout: str = "auto", dry_run: bool = False, quarantine: str | None = None) -> dict:
    report = fix_dataset(FixConfig(Path(path), layout, dry_run, Path(quarantine) if quarantine else None))
    get_run_logger().info("fix %s [%s]: %s", report.root, report.layout, report.counts)
    return report.to_dict()
