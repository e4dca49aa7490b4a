"""How soft an orthophoto is: the distance over which its sharpest edges rise.

Why it is measured: the model paints the visible dark band of a crack. On a soft orthophoto
(defocus, motion, a mosaic resampled once too often, a survey flown too high for its camera) the
band is wider than the crack, so crack widths come out too large and the thinnest cracks vanish
(README model card, "Field conditions"). Nothing in the numbers shows it; the imagery does.

The measure (Marziliano et al. 2002's edge width, made sub-pixel): along every row and every
column, each strong edge (a local maximum of the intensity gradient whose step is at least
:data:`MIN_STEP` grey levels) is followed both ways to where the intensity stops rising, and the
distance over which it rises from 10 % to 90 % of its step is its *rise*. Real surfaces have soft
edges too (stains, worn aggregate), but every photo has some as sharp as its optics allow, so a
low percentile of the rises (:data:`PERCENTILE`) measures the photo, not the scene: about 1.6 px
on the sharp photos of the model card's sets, 3.0 px once they are blurred by a Gaussian of 1.5 px
(``scripts/sharpness_check.py`` prints the calibration).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np
import rasterio
from rasterio.windows import Window

from tiling.raster import RasterInfo, read_window

MIN_STEP = 24.0  # grey levels: weaker edges are mostly texture and noise, whose rises say little
MIN_GRADIENT = 4.0  # grey levels per pixel: a gradient peak below this is not followed at all
REACH_PX = 12  # an edge is followed this far each way; a longer rise is not an edge of the photo
PERCENTILE = 20  # the photo's sharpness: the rise that a fifth of its strong edges beat
MIN_EDGES = 200  # with fewer strong edges (a smooth wall, fog) no sharpness is claimed
SHARP_RISE_PX = 1.6  # a sharp photo's rise: the median over the card's sets (sharpness_check.py)
SOFT_RISE_PX = 2.3  # softer: widths grow by a tenth or more (sharp photos: 95th percentile 2.24 px)
WINDOW_PX = 512
WINDOWS_PER_SIDE = 3  # 3 x 3 windows spread over the raster
SCAN_EVERY = 4  # of a window's rows and columns, every 4th is scanned: 0.1 s for a whole orthophoto


@dataclass(frozen=True)
class Sharpness:
    """``edge_rise_px``: the photo's 10-90 % edge rise (None: too few strong edges to tell)."""

    edge_rise_px: float | None
    edges: int

    @property
    def soft(self) -> bool:
        return self.edge_rise_px is not None and self.edge_rise_px > SOFT_RISE_PX

    def to_dict(self) -> dict:
        return {**asdict(self), "soft": self.soft, "sharp_px": SHARP_RISE_PX, "soft_above_px": SOFT_RISE_PX}


def edge_rises(grey: np.ndarray, valid: np.ndarray | None = None, *, min_step: float = MIN_STEP,
               every: int = 1) -> np.ndarray:
    """The 10-90 % rise distances (px) of the strong edges of one greyscale image, along every
    ``every``-th row and column. Edges whose profile reaches an invalid pixel (``valid`` False)
    are left out: what lies there (a collar's black step, the smooth fill inspection puts under
    it) is not the photo."""
    rises = []
    if valid is not None and not valid.all():
        kernel = np.ones((2 * REACH_PX + 1, 2 * REACH_PX + 1), np.uint8)
        valid = cv2.erode(valid.astype(np.uint8), kernel, borderValue=1).astype(bool)
    for image, keep in ((grey, valid), (grey.T, None if valid is None else valid.T)):
        rises.append(_row_rises(np.ascontiguousarray(image, dtype=np.float32), keep, min_step, every))
    return np.concatenate(rises)


def _row_rises(image: np.ndarray, valid: np.ndarray | None, min_step: float, every: int) -> np.ndarray:
    """The rises of the edges met along every ``every``-th row of ``image``."""
    # smoothed along the edge only (down the columns): noise is averaged, the profile is not widened
    smooth = np.ascontiguousarray(cv2.GaussianBlur(image, (1, 5), sigmaX=0, sigmaY=1.0)[::every])
    valid = None if valid is None else valid[::every]
    gradient = np.zeros_like(smooth)
    gradient[:, 1:-1] = (smooth[:, 2:] - smooth[:, :-2]) / 2
    strength = np.abs(gradient)
    peak = np.zeros(strength.shape, bool)
    peak[:, 1:-1] = (strength[:, 1:-1] >= strength[:, :-2]) & (strength[:, 1:-1] > strength[:, 2:])
    peak &= strength > MIN_GRADIENT
    peak[:, :REACH_PX] = False
    peak[:, -REACH_PX:] = False
    if valid is not None:
        peak &= valid
    rows, cols = np.nonzero(peak)
    if len(rows) == 0:
        return np.zeros(0, np.float32)
    offsets = np.arange(-REACH_PX, REACH_PX + 1)
    # every profile turned to rise left to right
    profile = smooth[rows[:, None], cols[:, None] + offsets] * np.sign(gradient[rows, cols])[:, None]
    steps = np.diff(profile, axis=1)
    c = REACH_PX
    up = np.cumprod(steps[:, c:] > 0, axis=1).sum(axis=1)  # rising steps right of the peak
    down = np.cumprod(steps[:, :c][:, ::-1] > 0, axis=1).sum(axis=1)  # and left of it
    n = np.arange(len(rows))
    low, high = profile[n, c - down], profile[n, c + up]
    keep = (high - low >= min_step) & (up < REACH_PX) & (down < REACH_PX)  # a whole, strong edge
    profile, low, span, up, down = profile[keep], low[keep], (high - low)[keep], up[keep], down[keep]
    level = (profile - low[:, None]) / span[:, None]
    return _crossing(level, c - down, c + up, 0.9) - _crossing(level, c - down, c + up, 0.1)


def _crossing(level: np.ndarray, start: np.ndarray, stop: np.ndarray, fraction: float) -> np.ndarray:
    """Where each monotone profile (between ``start`` and ``stop``) crosses ``fraction``, sub-pixel."""
    index = np.arange(level.shape[1])[None, :]
    inside = (index >= start[:, None]) & (index <= stop[:, None])
    below = np.maximum(np.where(inside & (level < fraction), index, -1).max(axis=1), start)
    n = np.arange(len(level))
    before, after = level[n, below], level[n, np.minimum(below + 1, level.shape[1] - 1)]
    return below + (fraction - before) / np.maximum(after - before, 1e-6)


def sharpness_of(rises: np.ndarray) -> Sharpness:
    """The sharpness these edge rises say, or an unknown one below :data:`MIN_EDGES` edges."""
    if len(rises) < MIN_EDGES:
        return Sharpness(None, len(rises))
    return Sharpness(round(float(np.percentile(rises, PERCENTILE)), 2), len(rises))


def image_sharpness(rgb: np.ndarray, valid: np.ndarray | None = None) -> Sharpness:
    """The sharpness of one HxWx3 (or HxW) uint8 photo."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    return sharpness_of(edge_rises(grey, valid))


def raster_sharpness(info: RasterInfo) -> Sharpness:
    """The sharpness of an orthophoto, from :data:`WINDOWS_PER_SIDE` squared windows spread over
    it (every pixel without data left out, as inspection leaves it out)."""
    size = min(WINDOW_PX, info.width, info.height)
    windows = []
    with rasterio.open(info.path) as src:
        for row in _starts(info.height, size):
            for col in _starts(info.width, size):
                rgb, valid = read_window(src, info, Window(col, row, size, size))
                if valid.any():
                    windows.append((cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), valid))
    found = sharpness_of(_pooled_rises(windows, every=SCAN_EVERY))
    if found.edge_rise_px is None:  # a small raster, or few edges: every row and column then
        found = sharpness_of(_pooled_rises(windows, every=1))
    return found


def _pooled_rises(windows: list[tuple[np.ndarray, np.ndarray]], *, every: int) -> np.ndarray:
    return np.concatenate([edge_rises(grey, valid, every=every) for grey, valid in windows] or [np.zeros(0)])


def _starts(length: int, size: int) -> list[int]:
    """Up to :data:`WINDOWS_PER_SIDE` window starts spread evenly over ``length`` (one, centred,
    where two windows do not fit)."""
    count = min(WINDOWS_PER_SIDE, max(1, length // size))
    return sorted({round((length - size) * (i + 0.5) / count) if count > 1 else (length - size) // 2
                   for i in range(count)})


def soft_caveat(sharpness: Sharpness | None, pixel_size_m: float | None) -> str | None:
    """What a soft orthophoto does to its widths, or None for a sharp (or unmeasured) one."""
    if sharpness is None or not sharpness.soft:
        return None
    rise = sharpness.edge_rise_px
    ground = f" ({rise * pixel_size_m * 1000:.2g} mm)" if pixel_size_m else ""
    return (f"the imagery is soft: its sharpest edges rise over {rise:.1f} px{ground}, a sharp photo's over "
            f"about {SHARP_RISE_PX:g} px; the model "
            f"marks a crack's blurred band, so widths come out too large and the thinnest cracks are missed: "
            f"severities by width are upper bounds here")
