"""scripts/pack_training_data.py: an archive of packed data reads back as the same pairs."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from cracks.data.layouts import gather_pairs
from tests.conftest import save_pair

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "pack_training_data.py"


def test_an_archive_unpacks_to_the_packed_pairs_with_0_255_masks(tmp_path):
    source = tmp_path / "drone"
    masks = {}
    for i in range(4):  # masks stored 0/1, as UAV-CrackX's: the pack writes them 0/255
        _, mask = save_pair(source / "train/images" / f"t{i}.jpg", None, seed=i)
        (source / "train/masks").mkdir(parents=True, exist_ok=True)
        Image.fromarray(mask.astype(np.uint8)).save(source / "train/masks" / f"t{i}.png")
        masks[f"t{i}"] = mask
    out = tmp_path / "packed"
    done = subprocess.run([sys.executable, str(SCRIPT), str(source), "--out", str(out), "--archive"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "4 of 4 train pairs" in done.stdout and "drone.tar.gz" in done.stdout
    stage = tmp_path / "stage"
    with tarfile.open(out / "drone.tar.gz") as tar:
        assert all(name == "drone" or name.startswith("drone/") for name in tar.getnames())
        tar.extractall(stage, filter="data")
    pairs = gather_pairs([stage / "drone"], "auto", "train")
    assert sorted(p.image.stem for p in pairs) == sorted(masks)
    for pair in pairs:
        values = np.asarray(Image.open(pair.mask).convert("L"))
        assert set(np.unique(values)) <= {0, 255}
        assert np.array_equal(values > 127, masks[pair.image.stem])
    assert not list(out.glob(".*partial*"))  # the archive was moved into place whole
