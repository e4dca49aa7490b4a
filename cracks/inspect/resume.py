"""What makes a segmentation resumable: its run key, the finished bands and the stitcher's carry.

Each finished band of rows is written to the work folder's bands file (:mod:`.bands`), then the
stitcher's carry with the number of finished grid rows goes into one atomically written state
file; an unreadable state is recomputed, never trusted.
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from pathlib import Path

import numpy as np
import rasterio
import rasterio.errors

from cracks.atomic import atomic_path
from cracks.inspect.bands import BANDS, KEY_TAG, bands_readable
from cracks.models.artifact import LoadedModel
from tiling.windows import WindowGrid

log = logging.getLogger(__name__)
STATE = "state.npz"


STITCH_FORMAT = 3  # what a saved carry and bands hold: 3 = weighted sums of uint8 predictions (0-255 scale), no validity band without nodata


def run_key(input_sha256: str, model: LoadedModel, grid: WindowGrid, inference: str = "") -> str:
    """Identifies a segmentation: same input bytes, model, inference path and tiling give the
    same probabilities (a resumed run never mixes tiles from two backends, nor carries saved by
    a version that stitched on another scale)."""
    model_json = (model.path / "model.json").read_bytes() if model.path else b""
    text = (f"stitch{STITCH_FORMAT}|{input_sha256}|{hashlib.sha256(model_json).hexdigest()}|{inference}|{grid.window_width}x{grid.window_height}|{grid.overlap}|"
            f"{grid.col_starts}|{grid.row_starts}")
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def pending_rows(grid: WindowGrid, key: str, target: Path, work: Path) -> list[int]:
    """Grid rows still to segment: none if the mask is current, else those after the saved state."""
    if mask_is_current(target, key):
        return []
    state = _load_state(work, key, (grid.height, grid.width))
    return list(range(int(state["rows_done"]) if state is not None else 0, len(grid.row_starts)))


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def _load_state(work: Path, key: str, shape: tuple[int, int]) -> dict | None:
    """The saved state of run ``key`` on a raster of ``shape`` (rows, columns), or None to start afresh."""
    state_path = work / STATE
    if not state_path.is_file():
        return None
    try:
        with np.load(state_path) as data:
            state = {k: data[k] for k in data.files}
        if str(state["key"]) != key:
            return None
        int(state["rows_done"])
        if not bands_readable(work, key, shape, int(state["band_y0"])):  # cut short (disk full, a kill while it was created)
            raise ValueError(f"{BANDS} is missing or unreadable")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("%s: unreadable resume state (%s); starting this raster again", work, exc)
        print(f"{work}: the saved resume state is unreadable ({exc}); recomputing from the start", flush=True)
        return None
    return state


def mask_is_current(target: Path, key: str) -> bool:
    if not target.is_file():
        return False
    try:
        with rasterio.open(target) as src:
            return src.tags().get(KEY_TAG) == key
    except rasterio.errors.RasterioIOError:
        return False
