"""scripts/hard_negative_sheet.py: the card's hard-negative figures, for any model, with their worst paintings."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import save_pair

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "default"


def test_the_sheet_prints_the_cards_figures_and_draws_the_worst_paintings(tmp_path):
    from cracks.models import artifact
    from cracks.training.evaluate import gather_pairs, hard_negative_false_px

    if not (MODEL / "model.safetensors").exists():
        pytest.skip("shipped model missing")
    walls = tmp_path / "concrete-walls" / "valid"
    for i in range(2):  # crack-free walls as the card picks them: by their name
        save_pair(walls / "images" / f"noncrack_{i}.png", walls / "masks" / f"noncrack_{i}.png", seed=i, size=(160, 160))
    sheet = tmp_path / "sheet.png"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "hard_negative_sheet.py"), str(MODEL), "--data", str(tmp_path),
                           "--kinds", "sawn_joint,tining", "--top", "3", "--out", str(sheet)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    printed = {m[0]: float(m[1]) for m in re.findall(r" (\w+): (\d+) px/MP", done.stdout)}
    loaded = artifact.load(MODEL)
    pairs = gather_pairs([tmp_path / "concrete-walls"], "auto", "valid")
    card = hard_negative_false_px(loaded.model, loaded.meta.normalization, loaded.meta.threshold, pairs,
                                  kinds=["sawn_joint", "tining"])
    assert printed.keys() == {"none", "sawn_joint", "tining"}
    assert all(printed[kind] == pytest.approx(card[kind], abs=0.5) for kind in printed)  # the card's columns
    if max(card.values()) > 0:
        assert sheet.is_file() and "sheet row:" in done.stdout
