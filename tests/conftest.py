"""Shared fixtures: the real data beside the project, and generated datasets with known defects."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cracks.synthetic import crack_scene

os.environ.setdefault("COMET_DISABLE_AUTO_LOGGING", "1")
# Prefect reads these at import: no telemetry, and no INFO lines at interpreter exit, when its
# ephemeral server stops after pytest has closed the captured streams.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# The ephemeral server migrates a fresh SQLite database first: over 20 s (Prefect's default wait)
# on a busy 2-core machine. Set here, before any test module imports prefect, or it is not read.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"real data not found at {SHARED_DATA} (the ../shared/data folder beside the project)")
    return SHARED_DATA


def save_pair(image_path: Path, mask_path: Path | None, seed: int, size=(96, 128), mask_rgb=False, mask_jpeg=False, empty=False):
    image, mask = crack_scene(size[0], size[1], seed=seed, n_cracks=2)
    if empty:
        mask[:] = False
    image_path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(image_path, quality=92)
    if mask_path is not None:
        mask_path.parent.mkdir(parents=True, exist_ok=True)
        m = (mask * 255).astype(np.uint8)
        if mask_rgb:
            m = np.repeat(m[..., None], 3, axis=2)
        Image.fromarray(m).save(mask_path, **({"quality": 85} if mask_jpeg else {}))
    return image, mask


def make_kaggle(root: Path, defects: bool = True) -> Path:
    """A small ``Concrete/`` dataset; with ``defects``, one of each defect the issue lists."""
    base = root / "Concrete"
    for i in range(6):
        save_pair(base / "Positive/Images" / f"p{i}.jpg", base / "Positive/Masks" / f"p{i}.png", seed=i)
    for i in range(3):
        save_pair(base / "Negative/Images" / f"n{i}.jpg", base / "Negative/Mask" / f"n{i}.jpg", seed=100 + i, empty=True)
    (base / "Positive/Boxs").mkdir(parents=True, exist_ok=True)
    (base / "Positive/Boxs/p0.txt").write_text("0 0 10 10\n")
    if not defects:
        return root
    save_pair(base / "Positive/Images/orphan_image.jpg", None, seed=20)
    save_pair(base / "Positive/Images/tmp.jpg", base / "Positive/Masks/orphan_mask.png", seed=21)
    (base / "Positive/Images/tmp.jpg").unlink()
    save_pair(base / "Positive/Images/rgb.jpg", base / "Positive/Masks/rgb.png", seed=22, mask_rgb=True)
    save_pair(base / "Positive/Images/jpegmask.jpg", base / "Positive/Masks/jpegmask.jpg", seed=23, mask_jpeg=True)
    save_pair(base / "Positive/Images/zero.jpg", base / "Positive/Masks/zero.png", seed=24)
    (base / "Positive/Images/zero.jpg").write_bytes(b"")
    save_pair(base / "Positive/Images/truncated.jpg", base / "Positive/Masks/truncated.png", seed=25)
    data = (base / "Positive/Images/truncated.jpg").read_bytes()
    (base / "Positive/Images/truncated.jpg").write_bytes(data[: len(data) // 2])
    save_pair(base / "Positive/Images/mismatch.jpg", None, seed=26)
    save_pair(base / "Positive/Images/other.jpg", base / "Positive/Masks/mismatch.png", seed=26, size=(64, 64))
    (base / "Positive/Images/other.jpg").unlink()
    save_pair(base / "Positive/Images/empty.jpg", base / "Positive/Masks/empty.png", seed=27, empty=True)
    # the same photograph filed twice, as a positive and as a negative
    (base / "Negative/Images/dup.jpg").write_bytes((base / "Positive/Images/p1.jpg").read_bytes())
    save_pair(base / "Negative/Images/_.jpg", base / "Negative/Mask/dup.jpg", seed=28, empty=True)
    (base / "Negative/Images/_.jpg").unlink()
    # a mask that is almost all crack
    save_pair(base / "Positive/Images/huge.jpg", base / "Positive/Masks/huge.png", seed=29)
    Image.fromarray(np.full((96, 128), 255, np.uint8)).save(base / "Positive/Masks/huge.png")
    return root


def snapshot(*roots: Path) -> dict[str, str]:
    """sha256 of every file under the roots, keyed by path relative to its root."""
    files = {}
    for root in roots:
        if root.exists():
            for p in sorted(root.rglob("*")):
                if p.is_file():
                    files[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return files
