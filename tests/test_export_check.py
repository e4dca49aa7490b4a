"""scripts/export_check.py: the shipped int8 export scored against torch fp32 on the card's sets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import save_pair

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "default"


def test_the_shipped_export_scores_as_its_weights_do_on_generated_cracks(tmp_path):
    if not (MODEL / "model.int8.xml").exists():
        pytest.skip("shipped model's int8 export missing")
    for i in range(3):  # a CrackForest-named set: the card reads every annotated pair of it
        save_pair(tmp_path / "crackforest" / "images" / f"{i}.png", tmp_path / "crackforest" / "masks" / f"{i}.png",
                  seed=i, size=(256, 320))
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "export_check.py"), str(MODEL), str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "(skipped deepcrack" in done.stdout and "against openvino int8" in done.stdout
    row = next(line for line in done.stdout.splitlines() if line.startswith("| crackforest |"))
    images, strict32, strict8, near32, near8, change = row.strip("| ").split(" | ")[1:]
    assert images == "3" and float(near32) > 0.3  # the model finds the generated cracks
    assert abs(float(near8) - float(near32)) < 0.05 and float(change) == pytest.approx(float(near8) - float(near32), abs=2e-3)
