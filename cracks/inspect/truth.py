"""The check against a ground-truth mask (``--truth``), prepared while the model segments.

Everything the crack-level scores need from the truth alone (its cracks, their centerlines, the
distance to them: about half a second on the sample site) does not depend on the model, so the
inspection starts it on a thread as soon as the site is planned and collects it after measuring.
Keyed by the file's identity and the pixel size: a changed truth file is prepared again. A flow
that measures in another process simply prepares it there, when asked.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import rasterio
from rasterio.windows import Window

from cracks.errors import InputError

if TYPE_CHECKING:  # crackeval imports scipy: kept off the path to the first tile
    from cracks.crackeval import TruthCracks

_pending: dict[tuple, Future] = {}
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


TRUTH_STRIP_ROWS = 1024


def truth_threshold(path: Path) -> int:
    """Truth pixels above this are crack: 127 for 0/255 masks, 0 for 0/1 ones.

    A crack layer burnt into a raster (``gdal_rasterize -burn 1``, QGIS's Rasterize) holds 1; read
    with the 0/255 threshold it was an empty truth, and the report said Dice 0 and recall 1.00.
    Values 2-127 are refused, as for datasets (:func:`cracks.data.masks.encoding_by_highest`).
    Asked at planning, preparing and measuring: read once per version of the file.
    """
    return _threshold_of(_file_key(path))


@lru_cache(maxsize=4)
def _threshold_of(key: tuple) -> int:
    from cracks.data.masks import MASK_THRESHOLD, encoding_by_highest

    path, highest = Path(key[0]), 0
    with rasterio.open(path) as src:
        for top in range(0, src.height, TRUTH_STRIP_ROWS):  # stops at the first 0/255 crack pixel
            strip = src.read(1, window=Window(0, top, src.width, min(TRUTH_STRIP_ROWS, src.height - top)))
            highest = max(highest, int(strip.max()) if strip.size else 0)
            if highest > MASK_THRESHOLD:
                break
    encoding = encoding_by_highest(highest)
    if encoding is None:
        raise InputError(path, f"ground truth holds values up to {highest}: store crack as 255 (or 1) and background as 0")
    return encoding.threshold


def _file_key(path: Path) -> tuple:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def _key(path: Path, pixel_size_m: float | None) -> tuple:
    return (*_file_key(path), pixel_size_m)


def _prepare(path: Path, pixel_size_m: float | None) -> TruthCracks | None:
    """None above ``crackeval.MAX_PIXELS`` (whole-site arrays; the scores are skipped there)."""
    from cracks.crackeval import MAX_PIXELS, prepare_truth

    threshold = truth_threshold(path)
    with rasterio.open(path) as src:
        if src.width * src.height > MAX_PIXELS:
            return None
        mask = src.read(1) > threshold
    return prepare_truth(mask, pixel_size_m=pixel_size_m)


def prepare_in_background(path: Path, pixel_size_m: float | None) -> None:
    """Start preparing the truth at ``path`` on a worker thread (once per file version)."""
    global _pool
    try:
        key = _key(path, pixel_size_m)
    except OSError:
        return  # the check that reads it later reports the problem
    with _lock:
        if key not in _pending:
            _pool = _pool or ThreadPoolExecutor(1, thread_name_prefix="truth")
            while len(_pending) >= 2:  # arrays of whole sites: keep few
                _pending.pop(next(iter(_pending))).cancel()
            _pending[key] = _pool.submit(_prepare, path, pixel_size_m)


def prepared_truth(path: Path, pixel_size_m: float | None) -> TruthCracks | None:
    """The prepared truth: the background result when there is one (handed out once), else now."""
    with _lock:
        future = _pending.pop(_key(path, pixel_size_m), None)
    return future.result() if future is not None else _prepare(path, pixel_size_m)
