"""Comparing architectures under one budget: ``cracks experiment CONFIG.yaml``.

The YAML holds ``defaults`` (any TrainConfig setting: data, epochs, max_steps_per_epoch, ...)
and ``runs`` (a name plus the settings that differ). Every run gets the same data, seed and
step budget. The plain U-Net baseline is added when the file does not list it, so every
comparison shows what pretrained smp models add. The table goes to ``comparison.md``,
``comparison.csv`` and a Comet experiment of its own.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import yaml

from cracks.atomic import write_text
from cracks.config import TrainConfig, from_dict
from cracks.errors import InputError
from cracks.models.factory import BASELINE_ARCH, build_model
from cracks.training.tracking import Tracker
from cracks.training.train import train

COLUMNS = ["run", "arch", "encoder", "params_M", "dice", "iou", "precision", "recall", "threshold", "train_s", "s_per_step"]


@dataclass
class ExperimentResult:
    rows: list[dict]
    table_markdown: str
    table_path: Path


def load_experiment(path: Path) -> tuple[dict, list[dict]]:
    if not Path(path).is_file():
        raise InputError(path, "no such experiment file")
    try:
        spec = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(path, f"not valid YAML ({exc})") from exc
    runs = spec.get("runs") or []
    if not runs or not all(isinstance(r, dict) and r.get("name") for r in runs):
        raise InputError(path, "needs a `runs:` list whose entries each have a `name`")
    defaults = spec.get("defaults") or {}
    if not any(r.get("arch", defaults.get("arch")) == BASELINE_ARCH for r in runs):
        runs.append({"name": "plain-unet-baseline", "arch": BASELINE_ARCH, "encoder": None, "pretrained": False})
    return defaults, runs


def markdown_table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(f"{row[c]:.4f}" if isinstance(row[c], float) else str(row[c]) for c in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def run_experiment(path: Path, out: Path) -> ExperimentResult:
    defaults, runs = load_experiment(path)
    out = Path(out)
    rows = []
    for run in runs:
        settings = {**defaults, **{k: v for k, v in run.items() if k != "name"}}
        settings.setdefault("experiment_name", run["name"])
        config = from_dict(TrainConfig, {**settings, "out": out / run["name"]})
        result = train(config)
        steps = config.epochs * (config.max_steps_per_epoch or 0)  # unknown (0) when epochs are uncapped
        params = sum(p.numel() for p in build_model(config.arch, config.encoder, pretrained=False).parameters()) / 1e6
        best = max(result.history, key=lambda h: h["val_dice"]) if result.history else {}
        rows.append({
            "run": run["name"], "arch": config.arch, "encoder": config.encoder or "-", "params_M": round(params, 2),
            "dice": best.get("val_dice", 0.0), "iou": best.get("val_iou", 0.0),
            "precision": best.get("val_precision", 0.0), "recall": best.get("val_recall", 0.0),
            "threshold": best.get("threshold", 0.5), "train_s": round(result.seconds, 1),
            "s_per_step": round(result.seconds / steps, 3) if steps else "-",
        })
    table = markdown_table(rows)
    table_path = write_text(out / "comparison.md", table)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    write_text(out / "comparison.csv", buffer.getvalue())
    tracker = Tracker.start(bool(defaults.get("comet", True)), out, defaults.get("comet_project", "concrete-cracks"),
                            f"comparison-{Path(path).stem}", {"runs": [r["name"] for r in runs]})
    if tracker.experiment:
        tracker.experiment.log_table("comparison.csv", tabular_data=[[r[c] for c in COLUMNS] for r in rows], headers=COLUMNS)
        tracker.log_text(table)
    tracker.end()
    return ExperimentResult(rows, table, table_path)
