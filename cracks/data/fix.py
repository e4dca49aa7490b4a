"""Repairing a crack dataset without ever destroying user data.

``fix_dataset`` plans every change first, then applies it unless ``dry_run``:

1. rename the misnamed Kaggle folder ``Negative/Mask`` to ``Negative/Masks``;
2. quarantine images without masks and masks without images;
3. quarantine unreadable, zero-byte and truncated files, and image/mask pairs whose sizes differ;
4. convert 3-channel and JPEG masks to single-channel binary PNG (0/255), quarantining the original;
5. flag, without moving, suspicious pairs: an empty mask in a Positive folder, crack pixels in a
   Negative mask, a crack fraction far above the dataset's norm, the same image twice.

Nothing is deleted: every file that leaves the dataset goes to the quarantine folder under the
same relative path, with its reason in ``quarantine/reasons.csv`` and ``fix-report.json``.
Running it again finds nothing to do.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from cracks.atomic import atomic_path, write_json, write_text
from cracks.config import FixConfig
from cracks.data.layouts import Pair, check_dataset_path, detect_layout, kaggle_root, read_pairs
from cracks.data.masks import ENCODINGS, crack_pixels, mask_values, open_upright
from cracks.errors import InputError, SettingError
from cracks.hashing import file_sha256

MANIFEST = "manifest.csv"
REPORT = "fix-report.json"
MANIFEST_COLUMNS = ["image", "mask", "split", "label", "width", "height", "crack_fraction", "sha256"]
OUTLIER_MIN_FRACTION = 0.25  # never flag below this crack fraction
OUTLIER_MADS = 8.0  # robust z-score above which a crack fraction is suspicious


@dataclass
class Action:
    kind: str  # rename_folder | quarantine | convert_mask
    path: str  # relative to the dataset root
    reason: str
    target: str | None = None


@dataclass
class Flag:
    path: str
    reason: str


@dataclass
class FixReport:
    root: str
    layout: str
    dry_run: bool
    quarantine: str
    actions: list[Action] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    pairs: int = 0
    unannotated: int = 0
    mask_encoding: str = "0/255"  # detected per dataset (see cracks.data.masks.detect_mask_encoding)

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(a.kind for a in self.actions)
        return {k: counts.get(k, 0) for k in ("rename_folder", "quarantine", "convert_mask")} | {"flagged": len(self.flags)}

    def to_dict(self) -> dict:
        return {"root": self.root, "layout": self.layout, "dry_run": self.dry_run, "quarantine": self.quarantine,
                "counts": self.counts, "mask_encoding": self.mask_encoding, "pairs": self.pairs, "unannotated": self.unannotated,
                "actions": [asdict(a) for a in self.actions], "flags": [asdict(f) for f in self.flags]}


@dataclass
class _Checked:
    """What validation learned about one pair."""

    pair: Pair
    width: int
    height: int
    crack_fraction: float | None
    sha256: str
    mask_needs_conversion: str | None = None  # the reason, when it does


def default_quarantine(root: Path) -> Path:
    return root.parent / f"{root.name}.quarantine"


def _open_image(path: Path) -> tuple[Image.Image | None, str | None]:
    """Fully decode a file; return it or the reason it is broken."""
    if path.stat().st_size == 0:
        return None, "zero-byte file"
    try:
        return open_upright(path), None
    except OSError as exc:
        text = str(exc)
        return None, f"truncated file ({text})" if "truncated" in text else f"unreadable image ({text})"
    except Exception as exc:  # PIL raises assorted errors on garbage input
        return None, f"unreadable image ({exc})"


def _mask_problem(path: Path, im: Image.Image, threshold: int, inverted: bool = False) -> str | None:
    """Why a mask must be rewritten as binary single-channel PNG, or None if it is fine."""
    if inverted:
        return "inverted mask (dark crack on white) rewritten with crack as 255"
    if im.mode not in ("L", "1", "P"):
        return f"{len(im.getbands())}-channel mask ({im.mode}) converted to single-channel PNG"
    if path.suffix.lower() != ".png":
        return f"{path.suffix.lstrip('.').upper()} mask converted to lossless PNG"
    values = np.unique(mask_values(im))
    if threshold == 0 and set(values.tolist()) <= {0, 1}:
        return "0/1 mask rewritten as 0/255"
    if not set(values.tolist()) <= {0, 255}:
        return "non-binary mask values binarized to 0/255"
    return None


def _plan_pair(pair: Pair, report: FixReport, rel) -> _Checked | None:
    image, image_problem = _open_image(pair.image)
    if image_problem:
        report.actions.append(Action("quarantine", rel(pair.image), image_problem))
        if pair.mask is not None:
            report.actions.append(Action("quarantine", rel(pair.mask), f"its image is broken: {image_problem}"))
        return None
    if pair.mask is None:
        return _Checked(pair, image.width, image.height, None, file_sha256(pair.image))
    if pair.mask.suffix.lower() == ".mat":
        try:
            truth = pair.read_mask()
        except Exception as exc:
            problem = f"unreadable ground truth ({exc})"
            report.actions += [Action("quarantine", rel(pair.mask), problem),
                               Action("quarantine", rel(pair.image), f"its mask is broken: {problem}")]
            return None
        mask_size, conversion = (truth.shape[1], truth.shape[0]), None
        fraction = float(truth.mean())
    else:
        mask, mask_problem = _open_image(pair.mask)
        if mask_problem:
            report.actions += [Action("quarantine", rel(pair.mask), mask_problem),
                               Action("quarantine", rel(pair.image), f"its mask is broken: {mask_problem}")]
            return None
        mask_size, conversion = mask.size, _mask_problem(pair.mask, mask, pair.mask_threshold, pair.mask_inverted)
        fraction = float(crack_pixels(mask_values(mask), pair.mask_threshold, inverted=pair.mask_inverted).mean())
    if mask_size != image.size:
        problem = f"size mismatch: image {image.width}x{image.height}, mask {mask_size[0]}x{mask_size[1]}"
        report.actions += [Action("quarantine", rel(pair.image), problem), Action("quarantine", rel(pair.mask), problem)]
        return None
    if conversion:
        target = pair.mask.with_suffix(".png")
        report.actions.append(Action("convert_mask", rel(pair.mask), conversion, rel(target)))
    return _Checked(pair, image.width, image.height, fraction, file_sha256(pair.image), conversion)


def _flag_suspicious(checked: list[_Checked], report: FixReport, rel) -> None:
    fractions = np.array([c.crack_fraction for c in checked if c.crack_fraction], dtype=float)
    limit = OUTLIER_MIN_FRACTION
    if len(fractions) >= 5:
        median = float(np.median(fractions))
        mad = float(np.median(np.abs(fractions - median))) * 1.4826
        limit = max(limit, median + OUTLIER_MADS * mad)
    by_hash: dict[str, list[_Checked]] = {}
    for c in checked:
        by_hash.setdefault(c.sha256, []).append(c)
        if c.crack_fraction is None:
            continue
        if c.pair.label == "positive" and c.crack_fraction == 0:
            report.flags.append(Flag(rel(c.pair.mask), "empty mask in a Positive folder"))
        elif c.pair.label == "negative" and c.crack_fraction > 0:
            report.flags.append(Flag(rel(c.pair.mask), f"crack pixels ({c.crack_fraction:.1%}) in a Negative mask"))
        if c.crack_fraction > limit:
            report.flags.append(Flag(rel(c.pair.mask), f"crack fraction {c.crack_fraction:.1%} far above the dataset norm (limit {limit:.1%})"))
    for same in by_hash.values():
        if len(same) > 1:
            splits = sorted({c.pair.split for c in same})
            where = f"in splits {', '.join(splits)}" if len(splits) > 1 else f"within split {splits[0]}"
            names = ", ".join(rel(c.pair.image) for c in same)
            for c in same:
                report.flags.append(Flag(rel(c.pair.image), f"same image (sha256) {where}: {names}"))


def _quarantine_target(quarantine: Path, relative: str) -> Path:
    target = quarantine / relative
    n = 1
    while target.exists():
        target = target.with_name(f"{target.stem}.{n}{target.suffix}")
        n += 1
    return target


def _apply(report: FixReport, root: Path, quarantine: Path) -> None:
    log_rows = []
    encoding = ENCODINGS[report.mask_encoding]
    for action in report.actions:
        source = root / action.path
        if action.kind == "quarantine":
            if not source.exists() and not source.is_symlink():  # already moved as the other half of a broken pair
                continue
            target = _quarantine_target(quarantine, action.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, target)
            action.target = str(target)
            log_rows.append((action.path, str(target), action.reason))
        elif action.kind == "convert_mask":
            binary = encoding.crack(mask_values(open_upright(source))).astype(np.uint8) * 255
            buffer = io.BytesIO()
            Image.fromarray(binary, mode="L").save(buffer, format="PNG")
            original = _quarantine_target(quarantine, action.path)
            original.parent.mkdir(parents=True, exist_ok=True)
            new_path = root / action.target
            if new_path == source:  # a PNG rewritten in place: keep the original first
                shutil.copy2(source, original)
            else:
                shutil.move(source, original)
            with atomic_path(new_path) as tmp:
                tmp.write_bytes(buffer.getvalue())
            log_rows.append((action.path, str(original), action.reason))
    if log_rows:
        reasons = quarantine / "reasons.csv"
        new = not reasons.exists()
        with reasons.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["original_path", "quarantined_as", "reason"])
            writer.writerows(log_rows)


def _manifest_csv(checked: list[_Checked], root: Path, report: FixReport) -> str:
    converted = {a.path: a.target for a in report.actions if a.kind == "convert_mask"}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(MANIFEST_COLUMNS)
    for c in checked:
        mask = os.path.relpath(c.pair.mask, root) if c.pair.mask else ""
        mask = converted.get(mask, mask)
        fraction = "" if c.crack_fraction is None else f"{c.crack_fraction:.6f}"
        writer.writerow([os.path.relpath(c.pair.image, root), mask, c.pair.split, c.pair.label,
                         c.width, c.height, fraction, c.sha256])
    return buffer.getvalue()


def fix_dataset(config: FixConfig) -> FixReport:
    """Plan and (unless ``dry_run``) apply every repair; write ``manifest.csv`` and ``fix-report.json``."""
    root = check_dataset_path(config.path).resolve()
    layout = detect_layout(root, config.layout)
    quarantine = Path(config.quarantine).resolve() if config.quarantine else default_quarantine(root)
    if quarantine == root or root in quarantine.parents:
        raise SettingError("quarantine", quarantine, "the quarantine folder must be outside the dataset")
    report = FixReport(str(root), layout, config.dry_run, str(quarantine))

    def rel(path: Path) -> str:
        return os.path.relpath(path, root)

    if layout == "kaggle":
        base = kaggle_root(root)
        misnamed, proper = base / "Negative" / "Mask", base / "Negative" / "Masks"
        if misnamed.is_dir() and not proper.exists():
            report.actions.append(Action("rename_folder", rel(misnamed), "misnamed folder (Kaggle download)", rel(proper)))
            if not config.dry_run:
                misnamed.rename(proper)

    scan = read_pairs(root, layout)
    report.mask_encoding = scan.mask_encoding.name
    report.actions += [Action("quarantine", rel(p), "image without mask") for p in scan.orphan_images]
    report.actions += [Action("quarantine", rel(p), "mask without image") for p in scan.orphan_masks]
    report.actions += [Action("quarantine", rel(p), "dangling symbolic link (its target is missing)")
                       for p in scan.dangling_links]
    checked = [c for pair in scan.pairs if (c := _plan_pair(pair, report, rel)) is not None]
    _flag_suspicious(checked, report, rel)
    report.pairs = sum(c.pair.mask is not None for c in checked)
    report.unannotated = sum(c.pair.mask is None for c in checked)

    if not config.dry_run:
        with _exclusive(root):
            _apply(report, root, quarantine)
            write_text(root / MANIFEST, _manifest_csv(checked, root, report))
            write_json(root / REPORT, report.to_dict())
    return report


LOCK = ".cracks-fix.lock"


@contextlib.contextmanager
def _exclusive(root: Path):
    """One ``cracks fix`` at a time per dataset: two would quarantine the same files twice."""
    lock = root / LOCK
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise InputError(root, f"another `cracks fix` is changing this dataset ({lock} exists; "
                          "delete it if that run was killed)") from None
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)
