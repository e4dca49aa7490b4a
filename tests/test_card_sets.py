"""scripts/card_sets.py: the scoring scripts read model folders and training snapshots alike."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from cracks.models import artifact
from cracks.models.factory import build_model, normalization_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
card_sets = importlib.import_module("card_sets")


def _snapshot(path: Path, metadata: dict[str, str]) -> torch.nn.Module:
    model = build_model("plain-unet", None, pretrained=False)
    save_file({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}, str(path),
              metadata=metadata)
    return model


def test_a_snapshot_loads_with_its_architecture_and_no_threshold_of_its_own(tmp_path):
    saved = _snapshot(tmp_path / "run-100.safetensors", {"arch": "plain-unet", "encoder": "none", "run": "run"})
    model, normalization, threshold = card_sets.load_scored_model(tmp_path / "run-100.safetensors")
    assert threshold is None and normalization == normalization_for("plain-unet", None)
    assert all(torch.equal(v, saved.state_dict()[k].half().float()) for k, v in model.state_dict().items()
               if v.is_floating_point())
    assert card_sets.load_scored_model(tmp_path / "run-100.safetensors", 0.7)[2] == 0.7
    assert card_sets.snapshot_info(tmp_path / "run-100.safetensors")["run"] == "run"


def test_a_model_folder_keeps_its_threshold_unless_told_otherwise(tmp_path):
    folder = tmp_path / "model"
    meta = artifact.ModelMeta(arch="plain-unet", encoder=None, in_channels=3,
                              normalization=normalization_for("plain-unet", None), threshold=0.65, tile_size=512)
    artifact.save(build_model("plain-unet", None, pretrained=False), meta, folder)
    assert card_sets.load_scored_model(folder)[2] == 0.65
    assert card_sets.load_scored_model(folder, 0.8)[2] == 0.8
    assert card_sets.snapshot_info(folder) == {"arch": "plain-unet", "encoder": None}


def test_a_snapshot_without_its_architecture_is_refused_naming_the_file(tmp_path):
    _snapshot(tmp_path / "bare.safetensors", {})
    with pytest.raises(SystemExit, match="bare.safetensors: no arch and encoder"):
        card_sets.load_scored_model(tmp_path / "bare.safetensors")
