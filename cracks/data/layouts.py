"""Dataset layouts: where images and masks live in each public crack dataset.

A layout turns a dataset folder into *groups* (a folder of images, the folder of their masks,
a split and a label). Pairing by file stem is the same for every layout, so it lives here once.

Layouts:

* ``kaggle``: ``Concrete/{Positive,Negative}/{Images,Masks}`` (``Negative/Mask`` misnamed in the
  original download, ``Boxs/`` ignored). No splits: a stable hash of the file stem assigns one.
* ``deepcrack``: ``<split>/`` with masks in ``<split>_lab/`` (DeepCrack and CRACK500 as copied
  here), or ``<split>_img/`` + ``<split>_lab/`` (DeepCrack as published).
* ``crackforest``: ``image/*.jpg`` with ``groundTruth/*.mat``; images without ground truth are
  *unannotated*, never training pairs.
* ``folders``: a folder of images and a folder of masks (optionally under ``<split>/``), by the
  names datasets use: ``images/``, ``image/``, ``img/`` with ``masks/``, ``gt/``, ``labels/``,
  ``annotations/`` and the like, in any case (CrackTree260 and CrackLS315 ship ``image/`` +
  ``gt/``).
* ``beside``: masks in the folder of their images (or of each ``<split>/``), named after them with
  a suffix: CRACK500 as published (``traincrop/0001.jpg`` + ``traincrop/0001_mask.png``), S2DS
  (``_lab``).

A mask pairs with the image of the same stem, or of its stem less a suffix datasets name masks
with (``_mask``, ``_gt``, ``_label``, ``_lab``...: CRACK500 as published, S2DS): read strictly,
such a dataset had no pairs, and ``cracks fix`` quarantined every file of it as unpaired.

Split folders are named as each dataset names them and read as the project's ``train``,
``valid`` and ``test`` (:data:`SPLIT_NAMES`: ``val``, ``validation``, ``valcrop`` are ``valid``...),
so ``--split valid`` and training's validation find them in every layout.
"""

from __future__ import annotations

import dataclasses
import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cracks.data.masks import (
    ENCODINGS,
    IMAGE_SUFFIXES,
    MASK_SUFFIXES,
    MASK_THRESHOLD,
    MaskEncoding,
    UndecidableMasksError,
    detect_mask_encoding,
    read_mask,
)
from cracks.errors import InputError

log = logging.getLogger(__name__)

VALID_FRACTION_PERCENT = 10


@dataclass(frozen=True)
class Pair:
    """One image and its mask (``None`` for unannotated images)."""

    image: Path
    mask: Path | None
    split: str
    label: str
    mask_threshold: int = MASK_THRESHOLD  # from the dataset's mask encoding (0 for 0/1 masks)
    mask_inverted: bool = False  # crack is the dark value (white background)

    def read_mask(self) -> np.ndarray:
        """The mask's crack pixels (HxW bool), read by the dataset's encoding."""
        return read_mask(self.mask, self.mask_threshold, inverted=self.mask_inverted)


@dataclass(frozen=True)
class Group:
    """A folder of images and the folder holding their masks."""

    images: Path
    masks: Path | None
    split: str | None  # None: assign by stem hash
    label: str
    unannotated_ok: bool = False  # images without masks are legitimate (CrackForest)


@dataclass
class Scan:
    """Result of pairing a dataset: pairs plus whatever could not be paired."""

    layout: str
    root: Path
    pairs: list[Pair] = field(default_factory=list)
    orphan_images: list[Path] = field(default_factory=list)
    orphan_masks: list[Path] = field(default_factory=list)
    dangling_links: list[Path] = field(default_factory=list)  # symbolic links whose target is gone
    groups: list[Group] = field(default_factory=list)
    mask_encoding: MaskEncoding = ENCODINGS["0/255"]

    @property
    def annotated(self) -> list[Pair]:
        return [p for p in self.pairs if p.mask is not None]

    @property
    def unannotated(self) -> list[Pair]:
        return [p for p in self.pairs if p.mask is None]


SPLIT_NAMES = {"val": "valid", "validation": "valid", "valcrop": "valid", "dev": "valid",
               "training": "train", "traincrop": "train", "testing": "test", "testcrop": "test"}


def split_name(folder_name: str) -> str:
    """The project's name for a dataset's split folder (``valcrop`` -> ``valid``); others unchanged."""
    return SPLIT_NAMES.get(folder_name.lower(), folder_name)


def stable_split(stem: str) -> str:
    """Deterministic train/valid assignment for layouts that have no splits of their own."""
    return "valid" if zlib.crc32(stem.encode()) % 100 < VALID_FRACTION_PERCENT else "train"


IMAGE_DIR_NAMES = ("images", "image", "imgs", "img")
MASK_DIR_NAMES = ("masks", "mask", "gt", "groundtruth", "ground_truth", "labels", "label", "annotations", "annotation")
# Stem endings that name a mask after its image ("0001_mask.png" for "0001.jpg"), compared in lower case.
MASK_STEM_SUFFIXES = ("_mask", "-mask", "_masks", "_gt", "-gt", "_label", "_labels", "_lab", "_seg", "_segmentation")


def _child_dir(folder: Path, names: Sequence[str]) -> Path | None:
    """The first sub-folder of ``folder`` named one of ``names`` (in their order; any case)."""
    by_name = {p.name.lower(): p for p in sorted(folder.iterdir()) if p.is_dir()}
    return next((by_name[n] for n in names if n in by_name), None)


def keyed_by_image(masks: dict[str, Path], image_stems: set[str] | dict[str, Path]) -> dict[str, Path]:
    """Masks keyed by the stem of the image each belongs to: its own stem, or its stem less one of
    :data:`MASK_STEM_SUFFIXES` when that names an image and its own does not, either compared
    without case (``IMG_0001.JPG`` and ``img_0001.png``: cameras write capitals, annotation tools
    often not). A mask named exactly like an image wins over the others; a mask matching no image
    keeps its own stem (an orphan).
    """
    keyed = {stem: path for stem, path in masks.items() if stem in image_stems}
    by_lower = {stem.lower(): stem for stem in image_stems}
    for stem, path in masks.items():
        if stem in image_stems:
            continue
        base = mask_stem_base(stem)
        candidates = (by_lower.get(stem.lower()), base if base in image_stems else None,
                      by_lower.get(base.lower()) if base is not None else None)
        image = next((c for c in candidates if c is not None and c not in keyed), None)
        keyed[image or stem] = path
    return keyed


def mask_stem_base(stem: str) -> str | None:
    """``stem`` less the mask suffix it ends with (``"0001_mask"`` -> ``"0001"``), else ``None``."""
    return next((stem[: -len(s)] for s in MASK_STEM_SUFFIXES if stem.lower().endswith(s) and len(stem) > len(s)), None)


def _files(folder: Path | None, suffixes: set[str]) -> dict[str, Path]:
    if folder is None or not folder.is_dir():
        return {}
    return {
        p.stem: p
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in suffixes
    }


# --- kaggle -----------------------------------------------------------------------------

def kaggle_root(root: Path) -> Path:
    return root / "Concrete" if (root / "Concrete").is_dir() else root


def kaggle_mask_dir(class_dir: Path) -> Path:
    """``Masks``, or the misnamed ``Mask`` the original Negative folder ships with."""
    for name in ("Masks", "Mask"):
        if (class_dir / name).is_dir():
            return class_dir / name
    return class_dir / "Masks"


def _kaggle_matches(root: Path) -> bool:
    base = kaggle_root(root)
    return any((base / c / "Images").is_dir() for c in ("Positive", "Negative"))


def _kaggle_groups(root: Path) -> list[Group]:
    base = kaggle_root(root)
    return [
        Group(base / c / "Images", kaggle_mask_dir(base / c), None, c.lower())
        for c in ("Positive", "Negative")
        if (base / c / "Images").is_dir()
    ]


# --- deepcrack / crack500 ---------------------------------------------------------------

def _deepcrack_folders(root: Path) -> list[tuple[Path, Path, str]]:
    """``(images, masks, split)``: ``<split>/`` or ``<split>_img/`` (DeepCrack as published) with ``<split>_lab/``."""
    found = []
    for p in sorted(root.iterdir()):
        split = p.name[: -len("_img")] if p.name.endswith("_img") else p.name
        if p.is_dir() and not p.name.endswith("_lab") and (root / f"{split}_lab").is_dir():
            found.append((p, root / f"{split}_lab", split))
    return found


def _deepcrack_matches(root: Path) -> bool:
    return bool(_deepcrack_folders(root))


def _deepcrack_groups(root: Path) -> list[Group]:
    return [Group(images, masks, split, "crack") for images, masks, split in _deepcrack_folders(root)]


# --- crackforest ------------------------------------------------------------------------

def _crackforest_matches(root: Path) -> bool:
    return (root / "image").is_dir() and (root / "groundTruth").is_dir()


def _crackforest_groups(root: Path) -> list[Group]:
    return [Group(root / "image", root / "groundTruth", None, "crack", unannotated_ok=True)]


# --- folders ----------------------------------------------------------------------------

def _folders_matches(root: Path) -> bool:
    return bool(_folders_groups(root))


def _folders_group(folder: Path, split: str | None) -> Group | None:
    images = _child_dir(folder, IMAGE_DIR_NAMES)
    if images is None:
        return None
    masks = _child_dir(folder, MASK_DIR_NAMES) or folder / "masks"  # none: every image unpaired, said so
    return Group(images, masks, split, "crack")


def _folders_groups(root: Path) -> list[Group]:
    here = _folders_group(root, None)
    if here is not None:
        return [here]
    return [group for p in sorted(root.iterdir()) if p.is_dir() and (group := _folders_group(p, p.name)) is not None]


# --- beside: masks next to their images ---------------------------------------------------

def _split_beside(folder: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """A folder's ``(images, masks)``: a file whose stem ends with a mask suffix is a mask."""
    files = _files(folder, IMAGE_SUFFIXES | MASK_SUFFIXES)
    masks = {stem: p for stem, p in files.items() if mask_stem_base(stem) is not None}
    images = {stem: p for stem, p in files.items() if stem not in masks and p.suffix.lower() in IMAGE_SUFFIXES}
    return images, masks


def _holds_masks_beside_images(folder: Path) -> bool:
    images, masks = _split_beside(folder)
    return any(mask_stem_base(stem) in images for stem in masks)


def _beside_groups(root: Path) -> list[Group]:
    if _holds_masks_beside_images(root):
        return [Group(root, root, None, "crack")]
    return [Group(p, p, p.name, "crack") for p in sorted(root.iterdir()) if p.is_dir() and _holds_masks_beside_images(p)]


def _beside_matches(root: Path) -> bool:
    return bool(_beside_groups(root))


@dataclass(frozen=True)
class Layout:
    name: str
    matches: Callable[[Path], bool]
    groups: Callable[[Path], list[Group]]


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout("kaggle", _kaggle_matches, _kaggle_groups),
        Layout("deepcrack", _deepcrack_matches, _deepcrack_groups),
        Layout("crackforest", _crackforest_matches, _crackforest_groups),
        Layout("folders", _folders_matches, _folders_groups),
        Layout("beside", _beside_matches, _beside_groups),
    )
}


def check_dataset_path(root: str | Path) -> Path:
    root = Path(root)
    if not root.exists():
        raise InputError(root, "no such file or directory")
    if not root.is_dir():
        raise InputError(root, "not a directory (expected a dataset folder)")
    try:
        next(iter(root.iterdir()), None)
    except PermissionError as exc:
        raise InputError(root, "permission denied (cannot list the folder)") from exc
    if not any(root.iterdir()):
        raise InputError(root, "empty folder (no images or masks to read)")
    return root


def detect_layout(root: str | Path, layout: str = "auto") -> str:
    """Name the layout of ``root``; ``auto`` tries each known layout in turn."""
    root = check_dataset_path(root)
    if layout != "auto":
        if layout not in LAYOUTS:
            raise InputError(root, f"unknown layout {layout!r} (choose from auto, {', '.join(LAYOUTS)})")
        if not LAYOUTS[layout].matches(root):
            raise InputError(root, f"does not look like the {layout!r} layout")
        return layout
    for name, candidate in LAYOUTS.items():
        if candidate.matches(root):
            return name
    raise InputError(
        root,
        "no known dataset layout (expected Concrete/Positive/Images, <split>/ + <split>_lab/, "
        "image/ + groundTruth/, images/ + masks/ (or image/ + gt/, img/ + labels/ ...), "
        "or masks named <image>_mask beside their images)",
    )


def read_pairs(root: str | Path, layout: str = "auto") -> Scan:
    """Pair every image with its mask by file stem."""
    root = Path(root)
    name = detect_layout(root, layout)
    scan = Scan(layout=name, root=root, groups=LAYOUTS[name].groups(root))
    for group in scan.groups:
        for folder in (group.images, group.masks):
            if folder is not None and folder.is_dir():
                scan.dangling_links += [p for p in sorted(folder.iterdir()) if p.is_symlink() and not p.exists()]
        if group.images == group.masks:
            images, masks = _split_beside(group.images)
        else:
            images, masks = _files(group.images, IMAGE_SUFFIXES), _files(group.masks, MASK_SUFFIXES)
        masks = keyed_by_image(masks, images)
        for stem, image in images.items():
            split = split_name(group.split) if group.split else stable_split(stem)
            if stem in masks:
                scan.pairs.append(Pair(image, masks[stem], split, group.label))
            elif group.unannotated_ok:
                scan.pairs.append(Pair(image, None, split, "unannotated"))
            else:
                scan.orphan_images.append(image)
        scan.orphan_masks.extend(m for stem, m in masks.items() if stem not in images)
    try:
        scan.mask_encoding = detect_mask_encoding([p.mask for p in scan.annotated])
    except UndecidableMasksError as exc:
        raise InputError(root, str(exc)) from None
    encoding = scan.mask_encoding
    if (encoding.threshold, encoding.inverted) != (MASK_THRESHOLD, False):
        scan.pairs = [dataclasses.replace(p, mask_threshold=encoding.threshold, mask_inverted=encoding.inverted)
                      for p in scan.pairs]
    return scan


def select(pairs: list[Pair], split: str | None) -> list[Pair]:
    """Annotated pairs of one split (``None`` or ``"all"``: every annotated pair)."""
    chosen = [p for p in pairs if p.mask is not None]
    if split in (None, "all"):
        return chosen
    return [p for p in chosen if p.split == split_name(split)]


def gather_pairs(data: Sequence[Path], layout: str, split: str | None) -> list[Pair]:
    """The pairs of one split of several datasets, refused per dataset when that split is empty."""
    pairs: list[Pair] = []
    for root in data:
        scan = read_pairs(root, layout)
        log.info("%s: layout %s, masks %s", root, scan.layout, scan.mask_encoding.name)
        chosen = select(scan.pairs, split)
        if not chosen:
            splits = sorted({p.split for p in scan.annotated})
            raise InputError(root, f"no annotated pairs in split {split!r} (splits here: {', '.join(splits) or 'none'}; use 'all' for every pair)")
        pairs.extend(chosen)
    return pairs
