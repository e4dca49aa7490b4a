"""scripts/average_weights.py: weighted means of snapshots that adopt_snapshot.py can read."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from cracks.hashing import file_sha256
from cracks.models.factory import build_model
from tests.conftest import save_pair

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
SCRIPT = SCRIPTS / "average_weights.py"


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
    assert (meta["arch"], meta["encoder"], meta["run"], meta["settings_from"]) == ("unet", "e", "soup", str(one))
    assert json.loads(meta["soup"]) == [{"weight": 3.0, "path": str(one), "sha256": file_sha256(one)},
                                        {"weight": 1.0, "path": str(two), "sha256": file_sha256(two)}]


def test_an_adopted_soup_names_its_members_in_the_model_metadata(tmp_path):
    """A soup of two runs becomes a model whose model.json says what it was averaged from."""
    data = tmp_path / "data"
    for i in range(3):
        save_pair(data / "valid" / "images" / f"{i}.png", data / "valid" / "masks" / f"{i}.png", seed=i, size=(64, 64))
    runs = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        state = build_model("plain-unet", None, pretrained=False).state_dict()
        runs.append(tmp_path / f"run{seed}-100.safetensors")
        save_file({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, str(runs[-1]),
                  metadata={"arch": "plain-unet", "encoder": "none", "run": f"run{seed}", "lr": "0.0001",
                            "settings": json.dumps({"seed": seed, "crop": 64})})
    soup, model = tmp_path / "soup.safetensors", tmp_path / "model"
    for command in ([str(SCRIPT), *map(str, runs), "--weights", "3,1", "--out", str(soup)],
                    [str(SCRIPTS / "adopt_snapshot.py"), str(soup), "--data", str(data), "--out", str(model)]):
        done = subprocess.run([sys.executable, *command], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    training = json.loads((model / "model.json").read_text())["training"]
    assert [(m["weight"], m["sha256"]) for m in training["soup"]] == [(3.0, file_sha256(r)) for r in runs[:1]] + [
        (1.0, file_sha256(runs[1]))]
    assert training["settings_from"] == str(runs[0]) and training["settings"]["seed"] == 1
    # the shared threshold fixed by hand (a tie broken towards fewer false alarms), or refused off the grid
    adopt = [sys.executable, str(SCRIPTS / "adopt_snapshot.py"), str(soup), "--data", str(data)]
    done = subprocess.run([*adopt, "--threshold", "0.85", "--out", str(tmp_path / "fixed")], capture_output=True, text=True)
    assert done.returncode == 0 and "at 0.85" in done.stdout, done.stderr
    # the line after each score: the mean Dice at every threshold, the fixed one's figure among them
    fixed = re.search(r"mean Dice (\S+) at 0.85", done.stdout).group(1)
    curve = dict(pair.split() for pair in done.stdout.split("mean Dice by threshold: ")[1].splitlines()[0].split(", "))
    assert len(curve) == 19 and curve["0.85"] == fixed
    assert json.loads((tmp_path / "fixed" / "model.json").read_text())["threshold"] == 0.85
    done = subprocess.run([*adopt, "--threshold", "0.72", "--out", str(tmp_path / "off")], capture_output=True, text=True)
    assert done.returncode != 0 and "--threshold 0.72" in done.stderr and not (tmp_path / "off").exists()


def test_models_of_other_shapes_are_refused(tmp_path):
    one, two = tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    save_file({"w": torch.zeros(3)}, str(one), metadata={"arch": "unet", "encoder": "e"})
    save_file({"w": torch.zeros(4)}, str(two), metadata={"arch": "unet", "encoder": "e"})
    done = subprocess.run([sys.executable, str(SCRIPT), str(one), str(two), "--out", str(tmp_path / "x.safetensors")],
                          capture_output=True, text=True)
    assert done.returncode != 0 and "same tensors" in done.stderr
    assert not (tmp_path / "x.safetensors").exists()
