"""Reading images and masks from the formats crack datasets ship in.

Masks come as PNG, as JPEG (values ringing around 0 and 255, never exactly binary) and as
CrackForest MATLAB files. Everything is binarized by threshold, never by ``== 255``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from cracks.errors import CracksError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}
MASK_SUFFIXES = IMAGE_SUFFIXES | {".mat"}
MASK_THRESHOLD = 127


def read_image(path: str | Path) -> np.ndarray:
    """Read an image as HxWx3 uint8 RGB."""
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise CracksError(path, f"unreadable image ({exc})") from exc


def read_mask(path: str | Path) -> np.ndarray:
    """Read a crack mask as an HxW bool array (True = crack)."""
    path = Path(path)
    if path.suffix.lower() == ".mat":
        return _read_crackforest_mat(path)
    try:
        with Image.open(path) as im:
            grey = np.asarray(im.convert("L"))
    except (OSError, ValueError) as exc:
        raise CracksError(path, f"unreadable mask ({exc})") from exc
    return grey > MASK_THRESHOLD


def _read_crackforest_mat(path: Path) -> np.ndarray:
    """CrackForest ground truth: ``groundTruth.Segmentation`` with 1 = background, 2 = crack."""
    from scipy.io import loadmat

    try:
        gt = loadmat(path)["groundTruth"][0, 0]
        segmentation = np.asarray(gt["Segmentation"])
    except Exception as exc:  # scipy raises many types for bad files
        raise CracksError(path, f"not a CrackForest ground-truth file ({exc})") from exc
    return segmentation == 2
