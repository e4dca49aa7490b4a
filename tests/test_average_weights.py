"""scripts/average_weights.py: weighted means of snapshots that adopt_snapshot.py can read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "average_weights.py"


def test_snapshots_average_by_weight_and_keep_their_metadata(tmp_path):
    one, two = tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    save_file({"w": torch.zeros(3).half(), "n": torch.tensor(5)}, str(one), metadata={"arch": "unet", "encoder": "e"})
    save_file({"w": torch.full((3,), 4.0).half(), "n": torch.tensor(9)}, str(two))
    out = tmp_path / "soup.safetensors"
    done = subprocess.run([sys.executable, str(SCRIPT), str(one), str(two), "--weights", "3,1", "--out", str(out)],
                          capture_output=True, text=True, preexec_fn=lambda: os.umask(0o022))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.safetensors", "soup.safetensors", "two.safetensors"]
    assert out.stat().st_mode & 0o777 == 0o644  # shared like every other output, not private to its writer
    state = load_file(str(out))
    assert torch.equal(state["w"], torch.full((3,), 1.0).half()) and state["n"].item() == 5
    with safe_open(str(out), "pt") as f:
        meta = f.metadata()
    assert (meta["arch"], meta["encoder"], meta["run"]) == ("unet", "e", "soup")


def test_models_of_other_shapes_are_refused(tmp_path):
    one, two = tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    save_file({"w": torch.zeros(3)}, str(one), metadata={"arch": "unet", "encoder": "e"})
    save_file({"w": torch.zeros(4)}, str(two), metadata={"arch": "unet", "encoder": "e"})
    done = subprocess.run([sys.executable, str(SCRIPT), str(one), str(two), "--out", str(tmp_path / "x.safetensors")],
                          capture_output=True, text=True)
    assert done.returncode != 0 and "same tensors" in done.stderr
    assert not (tmp_path / "x.safetensors").exists()
