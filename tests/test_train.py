"""Training, evaluation and experiments on a tiny generated dataset (a few CPU steps each)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch

from cracks.config import TrainConfig
from cracks.models import artifact
from cracks.training.hard_negatives import PAINTERS
from cracks.training.train import train
from tests.conftest import save_pair

REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "COMET_API_KEY": "", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    """``folders`` layout with train/valid splits of 64x64 generated crack images."""
    root = tmp_path_factory.mktemp("tiny")
    for split, n in (("train", 16), ("valid", 4)):
        for i in range(n):
            seed = i + (100 if split == "valid" else 0)
            save_pair(root / split / "images" / f"{i}.png", root / split / "masks" / f"{i}.png", seed=seed, size=(64, 64))
    return root


def tiny_config(data: Path, out: Path, **overrides) -> TrainConfig:
    settings = dict(data=[data], out=out, epochs=2, batch_size=4, crop=64, max_steps_per_epoch=2, workers=0,
                    checkpoint_every=1, experiment_name="test")
    return TrainConfig(**{**settings, **overrides})


def test_training_writes_artifact_and_comet_archive(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.delenv("COMET_API_KEY", raising=False)
    result = train(tiny_config(tiny_dataset, tmp_path / "run"))
    loaded = artifact.load(result.model_dir)
    assert loaded.meta.arch == "unet" and 0.0 < loaded.meta.threshold < 1.0
    assert loaded.meta.training["train_images"] == 16 and loaded.meta.training["manifest_sha256"]
    assert set(loaded.meta.metrics["valid"]) >= {"dice", "iou", "precision", "recall", "ods_f1", "ois_f1"}
    assert len(result.history) == 2
    written = json.loads((result.model_dir / "model.json").read_text())
    assert "width_floor_px" in written  # measured on the valid split (None: too few records on 8 tiny images)
    assert result.comet_archive is not None and result.comet_archive.is_file()
    with zipfile.ZipFile(result.comet_archive) as archive:
        messages = archive.read("messages.json").decode()
    assert "val_dice" in messages and "val_iou" in messages


def test_fine_tuning_with_frozen_norm_keeps_the_start_statistics(tiny_dataset, tmp_path):
    start = train(tiny_config(tiny_dataset, tmp_path / "start", epochs=1, comet=False)).model_dir

    def statistics(model_dir: Path) -> dict:
        state = artifact.load(model_dir).model.state_dict()
        return {k: v.clone() for k, v in state.items() if k.endswith(("running_mean", "running_var"))}

    def weights(model_dir: Path) -> dict:
        state = artifact.load(model_dir).model.state_dict()
        return {k: v.clone() for k, v in state.items() if k.endswith(".weight")}

    frozen = train(tiny_config(tiny_dataset, tmp_path / "frozen", epochs=1, comet=False, init_model=start,
                               freeze_norm=True)).model_dir
    free = train(tiny_config(tiny_dataset, tmp_path / "free", epochs=1, comet=False, init_model=start)).model_dir
    before = statistics(start)
    assert len(before) > 20
    assert all(torch.equal(before[k], v) for k, v in statistics(frozen).items())
    assert not all(torch.equal(before[k], v) for k, v in statistics(free).items())
    assert not all(torch.equal(weights(start)[k], v) for k, v in weights(frozen).items())  # it still learned


@pytest.mark.parametrize("loss", ["tversky", "dice_bce_skeleton"])
def test_baseline_and_alternative_loss_train(tiny_dataset, tmp_path, loss):
    result = train(tiny_config(tiny_dataset, tmp_path / "b", arch="plain-unet", encoder=None, pretrained=False,
                               epochs=1, loss=loss, schedule="cosine", comet=False, field_optics=loss == "tversky",
                               hard_negatives=0.5 if loss == "tversky" else 0.0))
    loaded = artifact.load(result.model_dir)
    assert loaded.meta.arch == "plain-unet" and loaded.meta.training["loss"] == loss
    assert loaded.meta.training["field_optics"] is (loss == "tversky")  # how it was trained, in its metadata
    assert loaded.meta.training["hard_negative_kinds"] == (list(PAINTERS) if loss == "tversky" else [])


def cracks_cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cracks.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=REPO, env=ENV, **kwargs)


def test_killed_run_resumes_from_its_checkpoint(tiny_dataset, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--data", str(tiny_dataset), "--out", str(out), "--epochs", "3", "--batch-size", "2",
            "--crop", "64", "--max-steps-per-epoch", "8", "--workers", "0", "--no-comet"]
    # checkpoint every step so the kill lands after at least one
    run = cracks_cli(*args, "--checkpoint-every", "1")
    checkpoint = out / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 240
    while not checkpoint.exists() and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.2)
    time.sleep(1.0)
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert checkpoint.exists(), "the run made no checkpoint before it was killed"
    history_before = json.loads((out / "history.json").read_text()) if (out / "history.json").exists() else []
    assert len(history_before) < 3, "the run finished before it could be killed"
    resumed = cracks_cli(*args, "--resume", "--checkpoint-every", "1")
    output, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, output
    assert "resumed from" in output
    history = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]


def test_evaluate_prints_one_json_object(tiny_dataset, tmp_path):
    result = train(tiny_config(tiny_dataset, tmp_path / "run", epochs=1, comet=False))
    proc = subprocess.run([sys.executable, "-m", "cracks.cli", "evaluate", "--model", str(result.model_dir),
                           "--data", str(tiny_dataset), "--split", "valid", "--json"],
                          capture_output=True, text=True, cwd=REPO, env=ENV)
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)
    assert {"dice", "iou", "precision", "recall", "ods_f1", "ois_f1", "threshold", "n_images", "domains"} <= set(figures)
    assert figures["n_images"] == 4 and 0 <= figures["dice"] <= 1
    assert figures["half_scale"] is True and figures["tta"] is False  # scored as inspection runs by default
    (domain,) = figures["domains"]
    assert domain["domain"] == tiny_dataset.name and domain["n_images"] == 4
    assert domain["dice_2px"] >= domain["dice"]  # a tolerance only forgives
    assert domain["cracks"]["true_cracks"] >= 4 and 0 <= domain["cracks"]["recall"] <= 1  # crack by crack too
    assert set(domain["width_floor"]) == {"px", "records"} and figures["width_floor"]["records"] == domain["width_floor"]["records"]
    assert domain["sharpness"]["measured"] == 4 and domain["sharpness"]["soft"] == 0  # generated photos are sharp
    mirrored = subprocess.run([sys.executable, "-m", "cracks.cli", "evaluate", "--model", str(result.model_dir),
                               "--data", str(tiny_dataset), "--split", "valid", "--tta", "--no-half-scale", "--json"],
                              capture_output=True, text=True, cwd=REPO, env=ENV)
    assert mirrored.returncode == 0, mirrored.stderr
    mirrored_figures = json.loads(mirrored.stdout)
    assert mirrored_figures["n_images"] == 4 and mirrored_figures["tta"] is True and mirrored_figures["half_scale"] is False


def test_experiment_compares_with_baseline(tiny_dataset, tmp_path):
    spec = tmp_path / "exp.yaml"
    spec.write_text(f"""
defaults:
  data: [{tiny_dataset}]
  epochs: 1
  batch_size: 4
  crop: 64
  max_steps_per_epoch: 2
  workers: 0
  comet: false
runs:
  - name: unet-lite0
    arch: unet
  - name: fpn-lite0
    arch: fpn
""")
    proc = subprocess.run([sys.executable, "-m", "cracks.cli", "experiment", str(spec), "--out", str(tmp_path / "exp")],
                          capture_output=True, text=True, cwd=REPO, env=ENV)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = (tmp_path / "exp" / "comparison.md").read_text()
    for name in ("unet-lite0", "fpn-lite0", "plain-unet-baseline"):
        assert name in table
    assert (tmp_path / "exp" / "comparison.csv").read_text().count("\n") == 4
