"""`cracks fix` on generated Kaggle-layout datasets with every defect, and on the real data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cracks.config import FixConfig
from cracks.data.fix import fix_dataset
from cracks.data.layouts import detect_layout, gather_pairs, read_pairs
from cracks.errors import CracksError
from tests.conftest import make_kaggle, snapshot


def reasons_by_name(report) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a in report.actions:
        out.setdefault(Path(a.path).name, []).append(f"{a.kind}: {a.reason}")
    return out


def test_kaggle_defects_are_each_handled(tmp_path):
    root = make_kaggle(tmp_path / "ds")
    report = fix_dataset(FixConfig(root))
    base = root / "Concrete"
    quarantine = Path(report.quarantine)
    acts = reasons_by_name(report)

    assert (base / "Negative/Masks").is_dir() and not (base / "Negative/Mask").exists()
    assert acts["orphan_image.jpg"] == ["quarantine: image without mask"]
    assert acts["orphan_mask.png"] == ["quarantine: mask without image"]
    assert acts["zero.jpg"] == ["quarantine: zero-byte file"]
    assert acts["zero.png"][0].startswith("quarantine: its image is broken")
    assert "truncated" in acts["truncated.jpg"][0]
    assert "size mismatch" in acts["mismatch.jpg"][0] and "size mismatch" in acts["mismatch.png"][0]
    assert "3-channel" in acts["rgb.png"][0]
    assert "JPG mask" in acts["jpegmask.jpg"][0]
    for name in ("orphan_image.jpg", "zero.jpg", "truncated.jpg", "mismatch.jpg"):
        assert (quarantine / "Concrete/Positive/Images" / name).is_file(), name
    assert not (base / "Positive/Images/zero.jpg").exists()

    converted = np.asarray(Image.open(base / "Positive/Masks/rgb.png"))
    assert converted.ndim == 2 and set(np.unique(converted)) <= {0, 255}
    assert (base / "Positive/Masks/jpegmask.png").is_file() and not (base / "Positive/Masks/jpegmask.jpg").exists()
    assert (quarantine / "Concrete/Positive/Masks/jpegmask.jpg").is_file()

    flags = {Path(f.path).name: f.reason for f in report.flags}
    assert flags["empty.png"] == "empty mask in a Positive folder"
    assert "far above the dataset norm" in flags["huge.png"]
    assert "same image" in flags["dup.jpg"] and "same image" in flags["p1.jpg"]

    manifest = (root / "manifest.csv").read_text().splitlines()
    assert manifest[0] == "image,mask,split,label,width,height,crack_fraction,sha256"
    # 6 positives + 3 negatives + the duplicate (flagged, kept) + rgb, jpegmask, empty, huge (kept)
    assert len(manifest) - 1 == report.pairs == 6 + 3 + 1 + 4
    saved = json.loads((root / "fix-report.json").read_text())
    assert saved["counts"]["rename_folder"] == 1 and saved["counts"]["convert_mask"] == report.counts["convert_mask"]
    assert "reason" in (quarantine / "reasons.csv").read_text().splitlines()[0]


def test_nothing_is_lost(tmp_path):
    root = make_kaggle(tmp_path / "ds")
    before = snapshot(root)
    report = fix_dataset(FixConfig(root))
    after = snapshot(root, Path(report.quarantine))
    renamed = {k.replace("Negative/Mask/", "Negative/Masks/"): v for k, v in before.items()}
    for path, digest in renamed.items():
        assert after.get(path) == digest or after.get(path.replace("Negative/Masks/", "Negative/Mask/")) == digest, path


def test_second_run_changes_nothing(tmp_path):
    root = make_kaggle(tmp_path / "ds")
    fix_dataset(FixConfig(root))
    before = snapshot(root, tmp_path / "ds.quarantine")
    again = fix_dataset(FixConfig(root))
    assert again.actions == [] and again.counts["quarantine"] == 0
    after = snapshot(root, tmp_path / "ds.quarantine")
    assert json.loads((root / "fix-report.json").read_text())["actions"] == []
    before.pop("fix-report.json"), after.pop("fix-report.json")  # the report describes the latest run
    assert after == before


def test_dry_run_touches_nothing(tmp_path):
    root = make_kaggle(tmp_path / "ds")
    before = snapshot(root)
    report = fix_dataset(FixConfig(root, dry_run=True))
    assert snapshot(root) == before
    assert not (tmp_path / "ds.quarantine").exists()
    real = fix_dataset(FixConfig(root))
    # a dry run names files where they are now, i.e. still under the misnamed Negative/Mask
    planned = [(a.kind, a.path.replace("Negative/Mask/", "Negative/Masks/")) for a in report.actions]
    assert planned == [(a.kind, a.path) for a in real.actions]


def test_clean_dataset_needs_no_action(tmp_path):
    root = make_kaggle(tmp_path / "ds", defects=False)
    report = fix_dataset(FixConfig(root))
    assert report.counts["quarantine"] == 0 and report.counts["convert_mask"] == 3  # the JPEG negative masks


def test_layout_detection(tmp_path):
    assert detect_layout(make_kaggle(tmp_path / "k", defects=False)) == "kaggle"
    folders = tmp_path / "f"
    from tests.conftest import save_pair
    save_pair(folders / "images/a.png", folders / "masks/a.png", seed=1)
    assert detect_layout(folders) == "folders"
    assert len(read_pairs(folders).annotated) == 1
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk/file.txt").write_text("x")
    with pytest.raises(CracksError, match="no known dataset layout"):
        detect_layout(tmp_path / "junk")
    with pytest.raises(CracksError, match="unknown layout"):
        detect_layout(folders, "nonsense")


def test_masks_named_after_their_images_pair_and_fix_keeps_them(tmp_path):
    """CrackTree-style folders (``image/`` + ``gt/``) and masks named ``<image>_mask``: read strictly,
    this dataset had no layout, and a ``masks/`` folder of such names had no pairs at all."""
    from tests.conftest import save_pair
    root = tmp_path / "tree"
    for split in ("train", "valid"):
        for i in range(3):
            save_pair(root / split / "Image" / f"{i:04d}.jpg", root / split / "GT" / f"{i:04d}_mask.png", seed=i)
    save_pair(root / "train/Image/0003.jpg", root / "train/GT/0003.png", seed=3)  # an exact name pairs too
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "train/GT/0003_mask.png")  # ... and wins over this
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "train/GT/9999_mask.png")  # no image of that name
    scan = read_pairs(root)
    assert scan.layout == "folders"
    pairs = {(p.split, p.image.name): p.mask.name for p in scan.annotated}
    assert pairs == {**{(s, f"{i:04d}.jpg"): f"{i:04d}_mask.png" for s in ("train", "valid") for i in range(3)},
                     ("train", "0003.jpg"): "0003.png"}
    assert sorted(p.name for p in scan.orphan_masks) == ["0003_mask.png", "9999_mask.png"]
    assert scan.orphan_images == []
    before = snapshot(root)
    report = fix_dataset(FixConfig(root, dry_run=True))
    assert sorted(Path(a.path).name for a in report.actions if a.kind == "quarantine") == ["0003_mask.png", "9999_mask.png"]
    assert snapshot(root) == before


def test_mask_names_match_their_images_whatever_the_case(tmp_path):
    from tests.conftest import save_pair
    root = tmp_path / "phone"
    save_pair(root / "images/IMG_0001.JPG", root / "masks/img_0001.png", seed=1)
    save_pair(root / "images/IMG_0002.JPG", root / "masks/img_0002_mask.png", seed=2)
    scan = read_pairs(root)
    assert sorted((p.image.name, p.mask.name) for p in scan.annotated) == [
        ("IMG_0001.JPG", "img_0001.png"), ("IMG_0002.JPG", "img_0002_mask.png")]
    assert not scan.orphan_images and not scan.orphan_masks


def test_masks_beside_their_images_as_crack500_is_published(tmp_path):
    """``traincrop/0001.jpg`` + ``traincrop/0001_mask.png``: one folder per split holding both."""
    from tests.conftest import save_pair
    root = tmp_path / "CRACK500"
    for split, n in (("traincrop", 3), ("valcrop", 2)):
        for i in range(n):
            save_pair(root / split / f"2016_{i}.jpg", root / split / f"2016_{i}_mask.png", seed=i)
    save_pair(root / "traincrop/lonely.jpg", root / "traincrop/gone_mask.png", seed=9)  # neither has its other half
    scan = read_pairs(root)
    assert scan.layout == "beside"
    assert sorted((p.split, p.image.name, p.mask.name) for p in scan.annotated) == sorted(
        [("train", f"2016_{i}.jpg", f"2016_{i}_mask.png") for i in range(3)]  # traincrop/ is the train split
        + [("valid", f"2016_{i}.jpg", f"2016_{i}_mask.png") for i in range(2)])
    assert len(gather_pairs([root], "auto", "valid")) == len(gather_pairs([root], "auto", "valcrop")) == 2
    assert [p.name for p in scan.orphan_images] == ["lonely.jpg"]
    assert [p.name for p in scan.orphan_masks] == ["gone_mask.png"]
    quarantine = tmp_path / "q"
    before = snapshot(root, quarantine)
    report = fix_dataset(FixConfig(root, quarantine=quarantine))
    moved = sorted(Path(a.path).name for a in report.actions if a.kind == "quarantine")
    assert moved == ["gone_mask.png", "lonely.jpg"]
    after = snapshot(root, quarantine)
    assert sorted(before.values()) == sorted(v for k, v in after.items() if k != "reasons.csv"
                                             and not k.endswith((".json", ".csv")))  # nothing lost, only moved
    assert len(read_pairs(root).annotated) == 5


def test_deepcrack_as_published_img_and_lab_folders(tmp_path):
    from tests.conftest import save_pair
    root = tmp_path / "DeepCrack"
    for split in ("train", "test"):
        for i in range(2):
            save_pair(root / f"{split}_img" / f"{i}.jpg", root / f"{split}_lab" / f"{i}.png", seed=i)
    scan = read_pairs(root)
    assert scan.layout == "deepcrack" and not scan.orphan_images and not scan.orphan_masks
    assert sorted(p.split for p in scan.annotated) == ["test", "test", "train", "train"]
    with pytest.raises(CracksError, match=r"no annotated pairs in split 'valid' \(splits here: test, train"):
        gather_pairs([root], "auto", "valid")


def test_real_crackforest(shared_data):
    scan = read_pairs(shared_data / "crackforest")
    assert scan.layout == "crackforest"
    assert len(scan.annotated) == 118 and len(scan.unannotated) == 37
    assert all(p.label == "unannotated" for p in scan.unannotated)
    from cracks.data.masks import read_mask
    mask = read_mask(scan.annotated[0].mask)
    assert mask.shape == (320, 480) and 0 < mask.mean() < 0.2


def test_real_deepcrack_valid(shared_data):
    scan = read_pairs(shared_data / "deepcrack")
    assert len([p for p in scan.annotated if p.split == "valid"]) == 253


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cracks.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize("make,problem", [
    (lambda p: p / "missing", "no such file or directory"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "empty folder"),
    (lambda p: ((p / "junk").mkdir(), (p / "junk/a.txt").write_text("x")) and p / "junk", "no known dataset layout"),
])
def test_cli_bad_input_one_line_error(tmp_path, make, problem):
    path = make(tmp_path)
    result = cli("fix", str(path))
    assert result.returncode != 0
    lines = [l for l in result.stderr.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and str(path) in lines[0] and problem in lines[0]


def test_unreadable_folder(tmp_path, monkeypatch, capsys):
    """Root reads everything, so the denial is simulated where the library lists the folder."""
    import typer

    from cracks import cli as cli_module

    root = make_kaggle(tmp_path / "ds", defects=False)
    real_iterdir = Path.iterdir

    def denied(self):
        if self == root:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", denied)
    with pytest.raises(typer.Exit) as exit_info:
        cli_module.fix(root, "auto", False, None, False)
    assert exit_info.value.exit_code == 2
    err = capsys.readouterr().err
    assert str(root) in err and "permission denied" in err


def test_cli_unknown_layout(tmp_path):
    root = make_kaggle(tmp_path / "ds", defects=False)
    result = cli("fix", str(root), "--layout", "nope")
    assert result.returncode == 2 and "unknown layout 'nope'" in result.stderr


def test_cli_summary(tmp_path):
    root = make_kaggle(tmp_path / "ds")
    result = cli("fix", str(root), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "rename_folder" in result.stdout and "would quarantine" in result.stdout
    assert "[kaggle, masks 0/255]" in " ".join(result.stdout.split())  # the layout and encoding found


def test_sideways_phone_photos_are_read_upright_like_their_masks(tmp_path):
    """A camera stores the pixels sideways with EXIF orientation 6; the mask was drawn on the
    photo as every viewer shows it. Read raw, the pair would be quarantined for a size mismatch."""
    from cracks.data.masks import read_image, read_mask

    upright = np.full((60, 40, 3), 170, np.uint8)
    upright[:, 10:13] = 30  # a dark vertical crack, 3 px wide
    truth = np.zeros((60, 40), np.uint8)
    truth[:, 10:13] = 255
    root = tmp_path / "phone"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90).save(root / "images/p1.jpg", exif=exif, quality=95)
    Image.fromarray(truth).save(root / "masks/p1.png")
    with Image.open(root / "images/p1.jpg") as raw:
        assert raw.size == (60, 40)  # stored sideways
    report = fix_dataset(FixConfig(root))
    assert report.counts["quarantine"] == 0, report.actions
    pair = read_pairs(root).annotated[0]
    image, mask = read_image(pair.image), read_mask(pair.mask, pair.mask_threshold)
    assert image.shape[:2] == mask.shape == (60, 40)
    assert (image[..., 0] < 100).sum() == mask.sum() and (image[..., 0][mask] < 100).all()  # the crack under its mask
