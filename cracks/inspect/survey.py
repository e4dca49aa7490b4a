"""Surveys: a folder of orthophotos inspected on a schedule, cheaply (:func:`run_survey`).

Each run hashes every orthophoto and inspects only new or changed ones (or ones that failed
last time); the others keep their results. ``survey-index.geojson`` (site footprints in WGS 84
with each site's figures and report path) and ``survey-index.csv`` describe every site,
including failed ones with their error.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import shapely

from cracks.atomic import write_json, write_text
from cracks.config import InspectConfig, SurveyConfig, from_dict
from cracks.hashing import file_sha256
from cracks.inspect.summary import SiteSummary

STATE = "survey-state.json"
INDEX_FIELDS = ["site", "input", "status", "error", "n_cracks", "total_length_m", "density_m_per_m2", "max_width_mm",
                "condition", "condition_caveat", "edge_rise_px", "report", "summary", "epochs", "new_cracks", "new_length_m", "extended_cracks",
                "extended_length_m", "widened_cracks", "gone_cracks", "outside_cracks", "changes", "inspection_differs",
                "registration_doubt"]


@dataclass
class SiteTask:
    path: Path
    sha256: str
    status: str  # new | changed | retry | unchanged


def find_orthophotos(folder: Path, patterns: tuple[str, ...] = ("*.tif", "*.tiff")) -> list[Path]:
    """Files below ``folder`` whose names match a pattern, ignoring case (``ORTHO.TIF`` is an
    orthophoto too), hidden files left out."""
    lowered = [pattern.lower() for pattern in patterns]
    found = {p for p in Path(folder).rglob("*") if not p.name.startswith(".")
             and any(fnmatch.fnmatchcase(p.name.lower(), pattern) for pattern in lowered) and p.is_file()}
    return sorted(found)


def load_state(out: Path) -> dict[str, dict]:
    path = Path(out) / STATE
    return json.loads(path.read_text()) if path.is_file() else {}


def plan_survey(folder: Path, out: Path, patterns: tuple[str, ...] = ("*.tif", "*.tiff")) -> list[SiteTask]:
    state = load_state(out)
    tasks = []
    for path in find_orthophotos(folder, patterns):
        sha = file_sha256(path)
        previous = state.get(str(path))
        if previous is None:
            status = "new"
        elif previous.get("sha256") != sha:
            status = "changed"
        elif previous.get("status") != "ok" or not Path(previous.get("summary", "")).is_file():
            status = "retry"
        else:
            status = "unchanged"
        tasks.append(SiteTask(path, sha, status))
    return tasks


def record(out: Path, outcomes: list[dict]) -> dict[str, dict]:
    """Merge this run's outcomes (path, sha256, status, error, summary) into the saved state."""
    state = load_state(out)
    for outcome in outcomes:
        state[str(outcome["path"])] = {k: (str(v) if isinstance(v, Path) else v) for k, v in outcome.items() if k != "path"}
    write_json(Path(out) / STATE, state)
    return state


def _site_row(path: str, entry: dict) -> tuple[dict, shapely.Geometry | None]:
    row = {"site": entry.get("site") or Path(path).stem, "input": path, "status": entry.get("status"), "error": entry.get("error")}
    geometry = None
    summary_path = Path(entry.get("summary") or "")
    if entry.get("status") == "ok" and summary_path.is_file():
        summary = SiteSummary.read(summary_path)
        row.update(site=summary.site, n_cracks=summary.n_cracks, total_length_m=summary.total_length_m,
                   density_m_per_m2=summary.density_m_per_m2, max_width_mm=summary.max_width_mm,
                   condition=summary.condition["rating"], report=str(summary_path.parent / "report.pdf"),
                   condition_caveat=summary.condition.get("caveat"),  # width classes this GSD cannot resolve, soft imagery
                   edge_rise_px=summary.edge_rise_px,  # the imagery's sharpness (cracks.sharpness)
                   summary=str(summary_path))
        change = entry.get("change") or {}
        row.update(epochs=len(entry.get("history", [])) + 1, new_cracks=change.get("counts", {}).get("new"),
                   new_length_m=change.get("new_length_m"), extended_cracks=change.get("counts", {}).get("extended"),
                   extended_length_m=change.get("extended_length_m"),
                   widened_cracks=change.get("counts", {}).get("widened"), gone_cracks=change.get("counts", {}).get("gone"),
                   outside_cracks=change.get("counts", {}).get("outside"),  # where only one epoch has data
                   changes=change.get("folder"),
                   # the change was measured between epochs inspected differently: part of it may be the inspection's
                   inspection_differs=",".join(change.get("inspection_differs", [])) or None,
                   registration_doubt=change.get("registration_doubt"))  # the change figures may be the registration's
        gpkg = summary_path.parent / "cracks.gpkg"
        if summary.georeferenced and gpkg.is_file():
            site = gpd.read_file(gpkg, layer="site", engine="pyogrio").to_crs(4326)
            geometry = shapely.union_all(site.geometry.values) if len(site) else None
    return {f: row.get(f) for f in INDEX_FIELDS}, geometry


def write_index(out: Path, state: dict[str, dict]) -> tuple[Path, Path]:
    rows, geometries = zip(*[_site_row(p, e) for p, e in sorted(state.items())]) if state else ((), ())
    frame = gpd.GeoDataFrame(list(rows), geometry=list(geometries), crs=4326, columns=INDEX_FIELDS)
    geojson = Path(out) / "survey-index.geojson"
    from reports.vector import write_geojson

    write_geojson(frame, geojson, georeferenced=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=INDEX_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    csv_path = write_text(Path(out) / "survey-index.csv", buffer.getvalue())
    return geojson, csv_path


def outcome(task: SiteTask, summary_path: Path | None, error: str | None, previous: dict | None = None,
            change: dict | None = None) -> dict:
    """A site's state entry; an earlier successful epoch moves into ``history`` (never overwritten)."""
    history = list((previous or {}).get("history", []))
    if previous and previous.get("status") == "ok" and previous.get("summary") and previous.get("sha256") != task.sha256:
        history.append({"sha256": previous["sha256"], "summary": previous["summary"]})
    entry = {"path": task.path, "sha256": task.sha256, "status": "ok" if error is None else "failed",
             "error": error, "summary": str(summary_path) if summary_path else None, "history": history}
    if change is not None:
        entry["change"] = change
    return entry


def last_epoch(previous: dict | None, sha256: str) -> str | None:
    """The summary of the site's latest successful epoch of other content than ``sha256``."""
    if not previous:
        return None
    if previous.get("status") == "ok" and previous.get("summary") and previous.get("sha256") != sha256:
        return previous["summary"]
    older = [h for h in previous.get("history", []) if h.get("sha256") != sha256]
    return older[-1]["summary"] if older else None


def compare_epochs(previous_summary: Path, summary_path: Path) -> dict:
    """Compare a site's previous epoch with the new one; the change files go beside the new epoch."""
    from cracks.compare import compare, write_comparison

    result = compare(Path(previous_summary).parent, Path(summary_path).parent)
    folder = Path(summary_path).parent / "changes"
    write_comparison(result, folder)
    figures = result.to_dict()
    return {"folder": str(folder), "previous": str(previous_summary), "counts": figures["counts"],
            "new_length_m": figures["new_length_m"], "extended_length_m": figures["extended_length_m"],
            "registration_m": figures["registration"]["shift_m"], "registration_doubt": figures["registration_doubt"],
            "inspection_differs": figures["inspection_differs"]}


# Inspects one orthophoto and returns the path of its summary.json (raises on failure).
SiteInspector = Callable[[Path, InspectConfig], Path]


@dataclass
class SurveyResult:
    inspected: int
    unchanged: int
    failed: list[str] = field(default_factory=list)
    index: Path | None = None
    csv: Path | None = None

    def to_dict(self) -> dict:
        return {"inspected": self.inspected, "unchanged": self.unchanged, "failed": self.failed,
                "index": str(self.index), "csv": str(self.csv)}


def survey_inspect_config(config: SurveyConfig, inputs: list[Path]) -> InspectConfig:
    """The inspection settings of a survey: its overrides, sites below ``OUT/sites`` named by
    their path below the survey folder (so namesakes in subfolders never share results)."""
    return from_dict(InspectConfig, {**config.inspect, "inputs": inputs, "out": Path(config.out) / "sites",
                                     "root": Path(config.folder)})


def epoch_config(config: InspectConfig, sha256: str) -> InspectConfig:
    """Each epoch of a site in its own folder, ``sites/<site>/<first 12 hex of the input's sha256>``."""
    import dataclasses

    return dataclasses.replace(config, epoch=sha256[:12])


def local_inspector(progress: bool = False) -> SiteInspector:
    """Inspect in this process, loading the model once for the whole survey."""
    from cracks.inspect import pipeline as inspection

    loaded: dict = {}

    def inspect(path: Path, config: InspectConfig) -> Path:
        if "model" not in loaded:
            loaded["model"] = inspection.load_model(config)
            loaded["predictor"] = inspection.config_predictor(loaded["model"], config)
        result = inspection.inspect_site(path, config, loaded["model"], loaded["predictor"], progress)
        return result.out_dir / "summary.json"

    return inspect


def run_survey(config: SurveyConfig, inspector: SiteInspector | None = None, *,
               log: Callable[[str], None] = print) -> SurveyResult:
    """Inspect the new, changed and previously failed orthophotos of ``config.folder``, record
    them and rewrite the index. One bad orthophoto fails its own site and nothing else. The
    CLI (``cracks survey``) runs sites in-process; the Prefect flow passes an inspector that
    runs the stages as tasks."""
    if not Path(config.folder).is_dir():
        from cracks.errors import InputError

        raise InputError(config.folder, "no such survey folder")
    tasks = plan_survey(Path(config.folder), Path(config.out), config.patterns)
    todo = [t for t in tasks if t.status != "unchanged"]
    log(f"{config.folder}: {len(tasks)} orthophotos, {len(todo)} to inspect ({len(tasks) - len(todo)} unchanged)")
    inspect_config = survey_inspect_config(config, [t.path for t in todo])
    inspector = inspector or local_inspector()
    state = load_state(Path(config.out))
    outcomes = []
    for t in todo:
        previous = state.get(str(t.path))
        try:
            summary_path = inspector(t.path, epoch_config(inspect_config, t.sha256))
        except Exception as exc:  # one bad site must not stop the survey
            log(f"error: {exc}")
            outcomes.append(outcome(t, None, str(exc), previous))
            continue
        change = (previous or {}).get("change")
        earlier = last_epoch(previous, t.sha256)
        if earlier and Path(earlier).is_file():
            try:  # a site seen before: what changed since its last epoch
                change = compare_epochs(Path(earlier), summary_path)
                log(f"{t.path}: {change['counts']}")
            except Exception as exc:  # a failed comparison must not lose the new epoch
                log(f"error: {t.path}: comparing with the previous epoch failed ({exc})")
                change = {"error": str(exc)}
        outcomes.append(outcome(t, summary_path, None, previous, change))
    state = record(Path(config.out), outcomes)
    geojson, csv_path = write_index(Path(config.out), {str(t.path): state[str(t.path)] for t in tasks})
    failed = [str(o["path"]) for o in outcomes if o["status"] == "failed"]
    return SurveyResult(len(todo), len(tasks) - len(todo), failed, geojson, csv_path)

