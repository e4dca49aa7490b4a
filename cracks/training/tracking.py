"""Comet experiment tracking: offline archives by default, online when ``COMET_API_KEY`` is set.

Offline runs write a zip under ``<run>/comet/`` that ``comet upload <zip>`` sends later.
Tracking never breaks training: if Comet cannot start, training continues untracked.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


class Tracker:
    """A thin wrapper so training code does not care whether Comet is on, offline or off."""

    def __init__(self, experiment: Any | None, offline_dir: Path | None):
        self.experiment = experiment
        self.offline_dir = offline_dir

    @classmethod
    def start(cls, enabled: bool, run_dir: Path, project: str, name: str | None, params: dict[str, Any]) -> "Tracker":
        if not enabled:
            return cls(None, None)
        os.environ.setdefault("COMET_DISABLE_AUTO_LOGGING", "1")
        try:
            import comet_ml

            online = bool(os.environ.get("COMET_API_KEY"))
            offline_dir = None if online else (run_dir / "comet").resolve()
            if offline_dir:
                offline_dir.mkdir(parents=True, exist_ok=True)
            experiment = comet_ml.start(
                project_name=project,
                online=online,
                experiment_config=comet_ml.ExperimentConfig(
                    name=name,
                    offline_directory=str(offline_dir) if offline_dir else None,
                    disabled=False,
                    auto_metric_logging=False,
                    auto_param_logging=False,
                    log_code=False,
                    log_graph=False,
                    log_env_details=False,
                    log_git_metadata=False,
                    log_git_patch=False,
                    display_summary_level=0,
                ),
            )
            experiment.log_parameters(params)
            return cls(experiment, offline_dir)
        except Exception as exc:  # tracking must never stop a training run
            log.warning("Comet tracking disabled: %s", exc)
            return cls(None, None)

    def log_metrics(self, metrics: dict[str, float], epoch: int) -> None:
        if self.experiment:
            self.experiment.log_metrics(metrics, epoch=epoch, step=epoch)

    def log_overlay(self, name: str, image: np.ndarray, truth: np.ndarray, pred: np.ndarray, epoch: int) -> None:
        """Image with true cracks in green, predicted in red (yellow where both)."""
        if not self.experiment:
            return
        self.experiment.log_image(overlay(image, truth, pred), name=name, step=epoch)

    def log_text(self, text: str) -> None:
        if self.experiment:
            self.experiment.log_text(text)

    def log_model(self, name: str, model_dir: Path) -> None:
        if self.experiment:
            self.experiment.log_model(name, str(model_dir))

    def end(self) -> Path | None:
        """Finish the experiment; return the offline archive written, if any."""
        if not self.experiment:
            return None
        self.experiment.end()
        if self.offline_dir:
            archives = sorted(self.offline_dir.glob("*.zip"), key=lambda p: p.stat().st_mtime)
            return archives[-1] if archives else None
        return None


def overlay(image: np.ndarray, truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Truth green, prediction red, both yellow, over the photo."""
    out = image.copy()
    out[truth] = (out[truth] * 0.3 + np.array([0, 255, 0]) * 0.7).astype(np.uint8)
    out[pred] = (out[pred] * 0.3 + np.array([255, 0, 0]) * 0.7).astype(np.uint8)
    out[truth & pred] = (255, 255, 0)
    return out
