"""scripts/error_sheet.py: an inspection's records on no true crack and its missed true cracks,
found where they are and drawn."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample" / "road_section.tif"
TRUTH = SAMPLE.with_name("road_section_truth.tif")
MODEL = ROOT / "models" / "default"


def _sheet(site: Path, truth: Path, out: Path) -> tuple[int, int, int]:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "error_sheet.py"), str(site), "--truth", str(truth),
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    records, wrong, missed = re.search(r"(\d+) records, (\d+) on no true crack; (\d+) true cracks", done.stdout).groups()
    return int(records), int(wrong), int(missed)


def test_an_erased_true_crack_makes_false_records_and_a_drawn_one_a_missed_crack(tmp_path):
    if not (MODEL.exists() and SAMPLE.exists() and TRUTH.exists()):
        pytest.skip("shipped model or sample site missing")
    from cracks.config import InspectConfig
    from cracks.inspect.pipeline import inspect_all

    [result] = inspect_all(InspectConfig(inputs=[SAMPLE], out=tmp_path / "out", truth=TRUTH), progress=False)
    assert result.ok, result.error
    site = tmp_path / "out" / "road_section"
    records, wrong, missed = _sheet(site, TRUTH, tmp_path / "as_inspected.png")
    assert records > 10 and wrong <= 2  # the sample's records lie on its cracks

    with rasterio.open(TRUTH) as src:
        truth, profile = src.read(1) > 0, src.profile
    with rasterio.open(site / "mask.tif") as src:
        found = src.read(1) >= 179
    edited = truth.copy()
    edited[:, : truth.shape[1] // 2] = False  # the left half's true cracks erased: its records are on none now
    far = ~ndimage.binary_dilation(found | truth, iterations=20)
    far[:, : truth.shape[1] // 2] = False
    rows, cols = np.nonzero(far[:, :-200])
    r, c = rows[len(rows) // 2], cols[len(cols) // 2]
    edited[r : r + 3, c : c + 120] = far[r : r + 3, c : c + 120]  # a true crack where nothing was found
    changed = tmp_path / "edited_truth.tif"
    with rasterio.open(changed, "w", **profile) as dst:
        dst.write(np.where(edited, 255, 0).astype(profile["dtype"]), 1)
    out = tmp_path / "edited.png"
    records_again, wrong_again, missed_again = _sheet(site, changed, out)
    assert records_again == records and wrong_again > wrong and missed_again == missed + 1
    width, height = Image.open(out).size
    assert width == 3 * 512 and height == 256 * -(-(wrong_again + missed_again) // 3)  # three crops a row
