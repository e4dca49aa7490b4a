"""Reading images and masks from the formats crack datasets ship in.

Masks come as PNG, as JPEG (values ringing around 0 and 255, never exactly binary) and as
CrackForest MATLAB files. Everything is binarized by threshold, never by ``== 255``.

Datasets also disagree on what "crack" is stored as: 255 (DeepCrack, CRACK500, JPEG-noisy in
concrete-walls) or 1 (UAV-CrackX). A fixed ``> 127`` reads a 0/1 mask as empty, and a model
trained on it learns that nothing is a crack, without a word. The encoding is therefore decided
per dataset, from a sample of its masks (:func:`detect_mask_encoding`), never per mask: a
nearly empty JPEG mask (values 0-3) would look like a 0/1 mask on its own.

Colour masks (a red or blue crack on black, palette masks in the PASCAL VOC style, whose first
class is dark red, 128/0/0) are read by their brightest channel, not their luminance: read as
grey, pure red is 76 and VOC's dark red 38, both under any 0/255 threshold, so such a dataset
trained on empty masks. Masks of several colours (S2DS draws crack, spalling, corrosion... each
in its own) are refused: read either way, other defects would train as cracks.

Phone and camera photos often store their pixels sideways with an EXIF orientation tag; every
viewer and annotation tool shows them upright, so masks are drawn upright. Images and masks are
therefore always read upright (:func:`open_upright`): read raw, such a photo would be quarantined
for a size mismatch with its mask, or, if square, trained on a mask turned against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from cracks.errors import InputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
MASK_SUFFIXES = IMAGE_SUFFIXES | {".mat"}
MASK_THRESHOLD = 127
ENCODING_SAMPLE = 32  # masks read to decide a dataset's encoding


@dataclass(frozen=True)
class MaskEncoding:
    """How a dataset stores crack pixels: ``name`` for reports, ``threshold`` to binarize (crack:
    above it), ``inverted`` when crack is the dark value on a bright background."""

    name: str
    threshold: int
    inverted: bool = False

    def crack(self, values: np.ndarray) -> np.ndarray:
        """The crack pixels (bool) of a mask's values (:func:`mask_values`)."""
        return crack_pixels(values, self.threshold, inverted=self.inverted)


def crack_pixels(values: np.ndarray, threshold: int, *, inverted: bool = False) -> np.ndarray:
    """Crack where a mask's value is above ``threshold`` (not above it for an inverted encoding)."""
    return (values > threshold) != inverted


ENCODINGS = {
    "0/255": MaskEncoding("0/255", MASK_THRESHOLD),  # also JPEG-noisy and palette masks (read as grey)
    "0/1": MaskEncoding("0/1", 0),
    "0/255 inverted": MaskEncoding("0/255 inverted", MASK_THRESHOLD, inverted=True),  # dark cracks on white
    "0/1 inverted": MaskEncoding("0/1 inverted", 0, inverted=True),
    "crackforest-mat": MaskEncoding("crackforest-mat", MASK_THRESHOLD),  # 1 = background, 2 = crack
}
# Cracks are thin: no dataset draws half of its photos as crack. Past this median share of
# "crack" the masks are the other way round (dark cracks on a white background).
INVERTED_MEDIAN_FRACTION = 0.5


LOSSY_SUFFIXES = {".jpg", ".jpeg", ".webp"}  # ringing moves an empty mask's zeros up to a few grey values


class UndecidableMasksError(ValueError):
    """The sampled masks' values fit no crack encoding; the caller names the dataset."""


COLOUR_MODES = {"RGB", "RGBA", "RGBX", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV"}


def mask_values(im: Image.Image) -> np.ndarray:
    """An HxW uint8 array of a mask's values: grey as stored, colour by its brightest channel."""
    if im.mode in COLOUR_MODES:
        return np.asarray(im.convert("RGB")).max(axis=2)
    return np.asarray(im.convert("L"))


def encoding_by_highest(highest: int, *, lossy: bool = False) -> MaskEncoding | None:
    """0/1 when the highest mask value is 1, else 0/255; ``None`` when it is 2-127 in lossless
    masks: a label map (CrackForest's 1 = background, 2 = crack; several defect classes) or crack
    stored as a grey value, which the 0/255 threshold would read as no crack at all. Lossy masks
    ring, so an empty JPEG mask holds a few small values: those stay 0/255.
    Shared by dataset masks (:func:`detect_mask_encoding`) and inspection's truth rasters."""
    if 1 < highest <= MASK_THRESHOLD and not lossy:
        return None
    return ENCODINGS["0/1" if highest == 1 else "0/255"]


def _class_colours(rgb: np.ndarray) -> dict[tuple[int, ...], tuple[int, int, int]]:
    """The distinct hues a colour mask draws, keyed by the colour scaled to its brightest channel
    (so antialiased edges, darker shades of one colour, are that colour), with one RGB of each."""
    bright = rgb[rgb.max(axis=2) > MASK_THRESHOLD]
    if not len(bright):
        return {}
    hue = np.round(bright * 4.0 / bright.max(axis=1, keepdims=True)).astype(np.uint8)
    keys, first = np.unique(hue, axis=0, return_index=True)
    return {tuple(int(v) for v in key): tuple(int(v) for v in bright[i]) for key, i in zip(keys, first)}


def detect_mask_encoding(masks: Sequence[Path], sample: int = ENCODING_SAMPLE) -> MaskEncoding:
    """Decide a dataset's mask encoding from an evenly spread sample of its masks.

    0/1 when no sampled mask holds a value above 1 and at least one holds a 1; otherwise 0/255
    (the threshold of 127 is right for exact, JPEG-noisy and palette-expanded masks). Either is
    *inverted* when the median mask would be more than half crack: a white background with dark
    cracks, read the usual way, trains a model that every pixel but the cracks is one.
    Unreadable masks are skipped here; ``cracks fix`` reports them.
    """
    masks = [Path(m) for m in masks]
    if masks and all(m.suffix.lower() == ".mat" for m in masks):
        return ENCODINGS["crackforest-mat"]
    step = max(1, len(masks) // sample)
    sampled, colours = [], {}
    for path in [m for m in masks if m.suffix.lower() != ".mat"][::step][:sample]:
        try:
            with Image.open(path) as im:
                sampled.append(mask_values(im))
                if im.mode in COLOUR_MODES and path.suffix.lower() not in LOSSY_SUFFIXES:
                    colours.update(_class_colours(np.asarray(im.convert("RGB"))))
        except (OSError, ValueError):
            continue
    if len(colours) > 1:
        named = ", ".join(f"{r}/{g}/{b}" for r, g, b in sorted(colours.values()))
        raise UndecidableMasksError(
            f"masks draw {len(colours)} colours ({named}): a label map of several classes? Keep the crack "
            f"class only, as 255 on 0"
        )
    highest = max((int(v.max()) for v in sampled if v.size), default=0)
    base = encoding_by_highest(highest, lossy=any(p.suffix.lower() in LOSSY_SUFFIXES for p in masks))
    if base is None:
        raise UndecidableMasksError(
            f"masks hold values up to {highest} (sampled {len(sampled)}): a label map? Store crack as 255 "
            f"(or 1) and background as 0"
        )
    name = base.name
    fractions = [float((v > ENCODINGS[name].threshold).mean()) for v in sampled if v.size]
    if fractions and float(np.median(fractions)) > INVERTED_MEDIAN_FRACTION:
        name += " inverted"
    return ENCODINGS[name]


def open_upright(path: str | Path) -> Image.Image:
    """The fully decoded image as viewers show it: its EXIF orientation applied (a copy, the file closed)."""
    with Image.open(path) as im:
        im.load()
        return ImageOps.exif_transpose(im)


HIGH_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I", "F"}


def read_image(path: str | Path) -> np.ndarray:
    """Read an image as HxWx3 uint8 RGB, upright.

    Grey images of more than 8 bits (16-bit survey cameras, float exports) are scaled so that
    their 99.8th percentile is white, as inspection scales uint16 orthophotos: PIL's own
    conversion clips every value above 255, and a 16-bit photo came out white, cracks and all.
    """
    try:
        im = open_upright(path)
        if im.mode in HIGH_BIT_MODES:
            from tiling.raster import WHITE_PERCENTILE  # rasterio and OpenCV: only for these rare photos

            values = np.asarray(im, dtype=np.float32)
            high = float(np.percentile(values, WHITE_PERCENTILE)) if values.size else 0.0
            grey = np.clip(values * (255.0 / high if high > 0 else 1.0), 0, 255).astype(np.uint8)
            return np.repeat(grey[..., None], 3, axis=2)
        return np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise InputError(path, f"unreadable image ({exc})") from exc


def read_mask(path: str | Path, threshold: int = MASK_THRESHOLD, *, inverted: bool = False) -> np.ndarray:
    """Read a crack mask as an HxW bool array (True = crack: value above ``threshold``, or not
    above it when ``inverted``).

    ``threshold`` and ``inverted`` come from the dataset's :class:`MaskEncoding` (``Pair.read_mask``).
    """
    path = Path(path)
    if path.suffix.lower() == ".mat":
        return _read_crackforest_mat(path)
    try:
        grey = mask_values(open_upright(path))
    except (OSError, ValueError) as exc:
        raise InputError(path, f"unreadable mask ({exc})") from exc
    return crack_pixels(grey, threshold, inverted=inverted)


def _read_crackforest_mat(path: Path) -> np.ndarray:
    """CrackForest ground truth: ``groundTruth.Segmentation`` with 1 = background, 2 = crack."""
    from scipy.io import loadmat

    try:
        gt = loadmat(path)["groundTruth"][0, 0]
        segmentation = np.asarray(gt["Segmentation"])
    except Exception as exc:  # scipy raises many types for bad files
        raise InputError(path, f"not a CrackForest ground-truth file ({exc})") from exc
    return segmentation == 2
