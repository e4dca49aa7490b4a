"""Field training pieces: mask encodings per dataset, hard negatives, domain-weighted sampling."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from cracks.config import FixConfig
from cracks.data.dataset import CrackDataset, normalize_batch
from cracks.data.fix import fix_dataset
from cracks.data.layouts import Pair, read_pairs
from cracks.data.masks import read_image, read_mask
from cracks.errors import InputError, SettingError
from cracks.metrics import THRESHOLDS, ThresholdSweep, macro_best_threshold, macro_dice_at, macro_dice_curve
from cracks.synthetic import crack_scene
from cracks.training.augment import field_optics_steps, train_transform
from cracks.training.hard_negatives import OCCLUDING, PAINTERS, HardNegatives, paint
from cracks.training.sampling import epoch_batches, sample_weights

NORMALIZATION = {"mean": [0.5] * 3, "std": [0.5] * 3}


def _folders_dataset(root: Path, *, scale: int, n: int = 6, jpeg: bool = False, palette: bool = False,
                     colour: tuple[int, int, int] | None = None, inverted: bool = False) -> Path:
    """``folders`` layout whose masks store crack as ``scale`` (1 or 255), or in ``colour`` on black
    (RGB, or the palette's second entry with ``palette``)."""
    for i in range(n):
        image, mask = crack_scene(64, 64, seed=i, n_cracks=2)
        (root / "images").mkdir(parents=True, exist_ok=True)
        (root / "masks").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / "images" / f"{i}.png")
        values = ((1 - mask if inverted else mask) * scale).astype(np.uint8)
        if palette:
            im = Image.fromarray(mask.astype(np.uint8), mode="L").convert("P")
            im.putpalette([0, 0, 0, *(colour or (255, 255, 255))] + [0] * 762)
            im.save(root / "masks" / f"{i}.png")
        elif colour is not None:
            rgb = (mask[..., None] * np.array(colour)).astype(np.uint8)
            Image.fromarray(rgb).save(root / "masks" / (f"{i}.jpg" if jpeg else f"{i}.png"), quality=90)
        elif jpeg:
            Image.fromarray(values).save(root / "masks" / f"{i}.jpg", quality=80)
        else:
            Image.fromarray(values).save(root / "masks" / f"{i}.png")
    return root


@pytest.mark.parametrize("scale, jpeg, palette, colour, expected", [
    (1, False, False, None, "0/1"), (255, False, False, None, "0/255"), (255, True, False, None, "0/255"),
    (1, False, True, None, "0/255"),
    # colour masks: read as grey, red is 76, VOC's dark red 38 and blue 29: all were empty masks
    (255, False, False, (255, 0, 0), "0/255"), (255, True, False, (0, 0, 255), "0/255"),
    (1, False, True, (128, 0, 0), "0/255"),
])
def test_mask_encoding_is_detected_per_dataset(tmp_path, scale, jpeg, palette, colour, expected):
    root = _folders_dataset(tmp_path / "d", scale=scale, jpeg=jpeg, palette=palette, colour=colour)
    scan = read_pairs(root)
    assert scan.mask_encoding.name == expected
    truth = crack_scene(64, 64, seed=0, n_cracks=2)[1]
    read = read_mask(scan.annotated[0].mask, scan.annotated[0].mask_threshold)
    # JPEG ringing moves a few edge pixels; the crack itself is read, never an empty mask.
    assert read.sum() > 0.8 * truth.sum() and (read == truth).mean() > 0.98


@pytest.mark.parametrize("scale, jpeg", [(255, False), (255, True), (1, False)])
def test_inverted_masks_dark_cracks_on_white_are_read_as_cracks(tmp_path, scale, jpeg):
    root = _folders_dataset(tmp_path / "d", scale=scale, jpeg=jpeg, inverted=True)
    scan = read_pairs(root)
    assert scan.mask_encoding.name == ("0/1" if scale == 1 else "0/255") + " inverted"
    truth = crack_scene(64, 64, seed=0, n_cracks=2)[1].astype(bool)
    read = scan.annotated[0].read_mask()
    assert read.mean() < 0.5 and (read == truth).mean() > 0.98  # read the usual way: ~95 % "crack"
    _, tensor = CrackDataset(scan.annotated, NORMALIZATION)[0]
    assert 0 < tensor.float().mean() < 0.5
    report = fix_dataset(FixConfig(root))
    assert report.mask_encoding == scan.mask_encoding.name and report.counts["convert_mask"] == 6
    rewritten = np.asarray(Image.open(root / "masks" / "0.png")) > 127
    assert (rewritten == truth).mean() > 0.98
    again = read_pairs(root)
    assert again.mask_encoding.name == "0/255" and fix_dataset(FixConfig(root)).counts["convert_mask"] == 0


def test_a_dataset_of_crack_free_white_masks_is_read_as_crack_free(tmp_path):
    root = _folders_dataset(tmp_path / "d", scale=255, n=4)
    for path in (root / "masks").iterdir():
        Image.fromarray(np.full((64, 64), 255, np.uint8)).save(path)
    scan = read_pairs(root)
    assert scan.mask_encoding.inverted and not any(p.read_mask().any() for p in scan.annotated)


@pytest.mark.parametrize("crack_value", [2, 100])
def test_masks_of_small_values_are_refused_naming_the_dataset(tmp_path, crack_value):
    """A label map (CrackForest's 1 = background, 2 = crack; defect classes 0-5) or crack stored as
    100: under the 0/255 threshold every mask was empty, and the model learnt that nothing is a crack."""
    root = _folders_dataset(tmp_path / "d", scale=crack_value)
    with pytest.raises(InputError, match=rf"{root}: masks hold values up to {crack_value} .*a label map"):
        read_pairs(root)
    assert _fix_dry_run_exit_code(root) == 2


def _fix_dry_run_exit_code(root: Path) -> int:
    import subprocess
    import sys
    run = subprocess.run([sys.executable, "-m", "cracks.cli", "fix", str(root), "--dry-run"], capture_output=True, text=True)
    assert run.stderr.strip().startswith("error:") and len(run.stderr.strip().splitlines()) == 1
    return run.returncode


def test_masks_of_several_colours_are_refused_as_multi_class(tmp_path):
    """Crack white, spalling red (S2DS-style): by the brightest channel both were crack."""
    root = _folders_dataset(tmp_path / "d", scale=255, colour=(255, 255, 255))
    spalling = np.asarray(Image.open(root / "masks" / "0.png")).copy()
    spalling[40:50, 40:50] = (255, 0, 0)
    Image.fromarray(spalling).save(root / "masks" / "0.png")
    with pytest.raises(InputError, match=r"masks draw 2 colours \(255/0/0, 255/255/255\): a label map"):
        read_pairs(root)


def test_antialiased_shades_of_one_colour_are_one_class(tmp_path):
    root = _folders_dataset(tmp_path / "d", scale=255, colour=(255, 0, 0))
    shaded = np.asarray(Image.open(root / "masks" / "0.png")).copy()
    shaded[0, :10] = (180, 0, 0)  # an antialiased edge of the red crack
    Image.fromarray(shaded).save(root / "masks" / "0.png")
    assert read_pairs(root).mask_encoding.name == "0/255"


def test_16_bit_photos_are_scaled_not_clipped_white(tmp_path):
    image, mask = crack_scene(64, 64, seed=3, n_cracks=2)
    grey = image.mean(axis=2)
    Image.fromarray((grey * 200).astype(np.uint16)).save(tmp_path / "survey.png")  # values up to ~51,000
    assert Image.open(tmp_path / "survey.png").mode.startswith("I")
    read = read_image(tmp_path / "survey.png")
    assert read.shape == (64, 64, 3) and read.dtype == np.uint8
    assert (read[..., 0] == 255).mean() < 0.01  # clipped, it was all white
    assert read[..., 0][mask > 0].mean() < read[..., 0][mask == 0].mean() - 20  # the cracks still dark
    assert np.corrcoef(read[..., 0].ravel(), grey.ravel())[0, 1] > 0.99


def test_fix_writes_colour_masks_as_their_cracks(tmp_path):
    root = _folders_dataset(tmp_path / "d", scale=255, palette=True, colour=(128, 0, 0))
    fix_dataset(FixConfig(root))
    truth = crack_scene(64, 64, seed=0, n_cracks=2)[1]
    assert np.array_equal(np.asarray(Image.open(root / "masks" / "0.png")) > 127, truth.astype(bool))


def test_nearly_empty_jpeg_masks_are_not_taken_for_0_1(tmp_path):
    """A JPEG mask of an almost crack-free image rings to values 0-3: decided per dataset, not per mask."""
    root = _folders_dataset(tmp_path / "d", scale=255, jpeg=True)
    faint = np.zeros((64, 64), np.uint8)
    faint[10, 10] = 3
    Image.fromarray(faint).save(root / "masks" / "0.jpg", quality=80)
    scan = read_pairs(root)
    assert scan.mask_encoding.name == "0/255"
    assert not read_mask(root / "masks" / "0.jpg", scan.annotated[0].mask_threshold).any()


def test_dataset_yields_cracks_from_0_1_masks(tmp_path):
    root = _folders_dataset(tmp_path / "d", scale=1)
    dataset = CrackDataset(read_pairs(root).annotated, NORMALIZATION)
    _, mask = dataset[0]
    assert mask.sum() > 20


def test_preloaded_uint8_batches_normalize_to_what_the_dataset_yields(tmp_path):
    """The GPU runs' fast path (decoded once, bytes through the workers) trains on the same tensors."""
    import torch

    pairs = read_pairs(_folders_dataset(tmp_path / "d", scale=1)).annotated
    plain = CrackDataset(pairs, NORMALIZATION)
    fast = CrackDataset(pairs, NORMALIZATION, preload=True, normalize=False, threads=2)
    images, masks = zip(*(fast[i] for i in range(len(fast))))
    assert images[0].dtype == torch.uint8 and masks[0].dtype == torch.uint8
    x, y = normalize_batch(torch.stack(images), torch.stack(masks), NORMALIZATION)
    expected_x, expected_y = zip(*(plain[i] for i in range(len(plain))))
    assert torch.allclose(x, torch.stack(expected_x), atol=1e-5)
    assert torch.equal(y, torch.stack(expected_y)) and y.sum() > 100


def test_fix_rewrites_0_1_masks_as_0_255_and_reports_the_encoding(tmp_path):
    root = _folders_dataset(tmp_path / "d", scale=1)
    before = read_mask(root / "masks" / "0.png", 0)
    report = fix_dataset(FixConfig(root))
    assert report.mask_encoding == "0/1" and report.counts["convert_mask"] == 6
    assert json.loads((root / "fix-report.json").read_text())["mask_encoding"] == "0/1"
    after = np.asarray(Image.open(root / "masks" / "0.png"))
    assert set(np.unique(after)) == {0, 255} and np.array_equal(after > 127, before)
    assert (tmp_path / "d.quarantine" / "masks" / "0.png").is_file()  # the original is kept
    assert read_pairs(root).mask_encoding.name == "0/255"
    assert fix_dataset(FixConfig(root)).counts["convert_mask"] == 0


def test_real_uav_crackx_masks_are_0_1(shared_data):
    scan = read_pairs(shared_data / "uav-crackx")
    assert scan.mask_encoding.name == "0/1"
    fractions = [read_mask(p.mask, p.mask_threshold).mean() for p in scan.annotated[::60]]
    assert np.mean(fractions) > 0.001  # read with > 127 they would all be 0


def _scene(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    image, mask = crack_scene(128, 128, seed=seed, n_cracks=2)
    return image, mask.astype(np.uint8) * 255


@pytest.mark.parametrize("kind", sorted(PAINTERS))
def test_hard_negatives_change_the_image_and_never_add_crack(kind):
    image, mask = _scene()
    changed = 0
    for seed in range(8):
        painted, new_mask = paint(image, mask, kind, np.random.default_rng(seed))
        assert painted.shape == image.shape and painted.dtype == np.uint8
        assert not np.any((new_mask > 0) & (mask == 0)), "a hard negative must not add crack pixels"
        if kind not in OCCLUDING:
            assert np.array_equal(new_mask, mask)
        changed += np.abs(painted.astype(int) - image).mean() > 1
    assert changed >= 6


def test_hard_negatives_are_reproducible_from_a_seed():
    image, mask = _scene()
    first = paint(image, mask, "lane_marking", np.random.default_rng(7))
    again = paint(image, mask, "lane_marking", np.random.default_rng(7))
    other = paint(image, mask, "lane_marking", np.random.default_rng(8))
    assert np.array_equal(first[0], again[0]) and not np.array_equal(first[0], other[0])


def _flat_grey(kind: str, seed: int) -> np.ndarray:
    grey = np.full((128, 128, 3), 128, np.uint8)
    return paint(grey, np.zeros((128, 128), np.uint8), kind, np.random.default_rng(seed))[0].astype(int).mean(axis=2)


def test_tining_paints_many_parallel_grooves():
    """Tined pavement: several thin dark lines, all running the same way."""
    from skimage.measure import label, regionprops

    for seed in range(6):
        grooves = [r for r in regionprops(label(_flat_grey("tining", seed) < 123)) if r.area >= 20]
        assert len(grooves) >= 4
        assert np.median([r.eccentricity for r in grooves]) > 0.95  # lines, not blobs
        assert np.std([r.orientation for r in grooves]) < 0.1  # parallel


def test_tined_joint_is_tining_with_a_straight_joint_across_it():
    """The same seed paints the same grooves as ``tining``, plus a joint: thin straight lines that
    span the image (a sawn joint, or a formwork line or grid) at another angle than the grooves."""
    from skimage.measure import label, regionprops

    crossing_lines = 0
    for seed in range(8):
        grooves, crossed = _flat_grey("tining", seed), _flat_grey("tined_joint", seed)
        added = np.abs(crossed - grooves) > 8
        assert 0.005 < added.mean() < 0.15  # lines, not an area
        joint = max(regionprops(label(added)), key=lambda r: r.area)
        rows, cols = joint.bbox[2] - joint.bbox[0], joint.bbox[3] - joint.bbox[1]
        assert max(rows, cols) >= 100  # across the 128 px image
        groove_angle = np.median([r.orientation for r in regionprops(label(grooves < 123)) if r.area >= 20])
        crossing_lines += joint.eccentricity > 0.98 and abs(np.sin(joint.orientation - groove_angle)) > 0.1
    assert crossing_lines >= 4  # the rest: formwork grids, or a joint nearly along the grooves


def test_stains_are_soft_where_joints_and_formwork_are_crisp():
    """A stain darkens gradually (no crack-like dark core); joints and formwork lines step sharply."""
    def steepest(kind: str, seed: int) -> int:
        shade = _flat_grey(kind, seed)
        return int(max(np.abs(np.diff(shade, axis=0)).max(), np.abs(np.diff(shade, axis=1)).max()))

    assert max(steepest("stain", seed) for seed in range(8)) < 25
    assert np.median([steepest("sawn_joint", seed) for seed in range(8)]) > 40
    assert np.median([steepest("formwork", seed) for seed in range(8)]) > 40


def test_occluding_paint_clears_the_crack_it_covers():
    image, mask = _scene()
    cleared = [paint(image, mask, "nodata_collar", np.random.default_rng(s))[1] for s in range(6)]
    assert any(0 < (m > 0).sum() < (mask > 0).sum() for m in cleared)
    collared = paint(image, mask, "nodata_collar", np.random.default_rng(1))[0]
    assert (collared.max(axis=2) == 0).mean() > 0.05 or (collared.min(axis=2) == 255).mean() > 0.05


def test_training_transform_is_seeded_and_keeps_thin_cracks_when_shrunk():
    image, mask = _scene()
    transform = train_transform(96, scale=(0.5, 0.5), hard_negatives=0.0)
    transform.set_random_seed(0)
    out = transform(image=image, mask=mask)
    assert out["image"].shape == (96, 96, 3)
    # a 0.5x rescale of 1-3 px cracks: kept (the mask is blended, then thresholded at a quarter)
    assert (out["mask"] >= 64).sum() > 0.2 * (mask > 0).sum() * 0.25
    with_negatives = train_transform(96, hard_negatives=1.0)
    with_negatives.set_random_seed(1)
    a = with_negatives(image=image, mask=mask)["image"]
    with_negatives.set_random_seed(1)
    b = with_negatives(image=image, mask=mask)["image"]
    assert np.array_equal(a, b)
    assert isinstance(with_negatives.transforms[-5], HardNegatives) or any(
        isinstance(t, HardNegatives) for t in with_negatives.transforms)


def _crack_contrast(image: np.ndarray, mask: np.ndarray) -> float:
    grey = image.astype(np.float32).mean(axis=2)
    return float(grey[mask == 0].mean() - grey[mask > 0].mean())


@pytest.mark.parametrize("optic", ["gaussian", "motion", "defocus", "coarser"])
def test_field_optics_blur_the_crack_and_keep_its_mask_sharp(optic):
    image, mask = _scene()
    blurs, haze, jpeg = field_optics_steps()
    blur = blurs.transforms[["gaussian", "motion", "defocus", "coarser"].index(optic)]
    for step in (blur, haze, jpeg):
        step.p = 1.0
    blurred = A.Compose([blur], seed=5)(image=image, mask=mask)
    assert _crack_contrast(blurred["image"], mask) < 0.9 * _crack_contrast(image, mask)
    out = A.Compose([blur, haze, jpeg], seed=5)(image=image, mask=mask)
    assert np.array_equal(out["mask"], mask) and not np.array_equal(out["image"], image)  # the truth stays as drawn


def test_field_optics_are_an_option_of_the_training_transform():
    def kinds(transform: A.Compose) -> set[str]:
        found = set()
        for step in transform.transforms:
            found.add(type(step).__name__)
            found |= {type(t).__name__ for t in getattr(step, "transforms", [])}
        return found

    assert {"Downscale", "Defocus"} <= kinds(train_transform(96, field_optics=True))
    assert not {"Downscale", "Defocus"} & kinds(train_transform(96))


def test_domain_weights_give_each_dataset_its_share():
    weights = sample_weights([1000, 50], [1.0, 1.0])
    batches = epoch_batches(1050, 8, seed=1, epoch=0, limit=None, weights=weights, samples=4000)
    counts = Counter(i >= 1000 for batch in batches for i in batch)
    assert abs(counts[True] / sum(counts.values()) - 0.5) < 0.04  # the small set weighs as much as the big one
    assert batches == epoch_batches(1050, 8, seed=1, epoch=0, limit=None, weights=weights, samples=4000)
    with pytest.raises(ValueError):
        sample_weights([10, 10], [1.0])


def test_threshold_is_chosen_across_domains_not_by_the_largest():
    rng = np.random.default_rng(0)
    big, small = ThresholdSweep(), ThresholdSweep()
    truth = np.zeros((64, 64), bool)
    truth[20:24] = True
    for _ in range(10):  # the big domain is happy at any threshold below 0.9
        big.add(np.where(truth, 0.9, 0.02) + rng.uniform(0, 0.01, truth.shape), truth)
    small.add(np.where(truth, 0.3, 0.02), truth)  # the small one needs a low threshold
    threshold, mean = macro_best_threshold([big, small])
    assert threshold <= 0.3 and mean > 0.99
    # fixed by hand at 0.5: the small domain finds nothing there, so the mean halves
    assert macro_dice_at([big, small], threshold) == pytest.approx(mean)
    assert macro_dice_at([big, small], 0.5) == pytest.approx(0.5, abs=0.01)
    with pytest.raises(ValueError, match="not one the sweep counted"):
        macro_dice_at([big, small], 0.72)
    # the whole curve: every threshold of the grid, peaking where the best was chosen
    curve = macro_dice_curve([big, small])
    assert list(curve) == pytest.approx(list(THRESHOLDS)) and max(curve.values()) == pytest.approx(mean)
    assert curve[threshold] == pytest.approx(mean) and curve[0.5] == pytest.approx(0.5, abs=0.01)


def test_fix_reports_dangling_links_and_refuses_a_second_concurrent_run(tmp_path):
    root = _folders_dataset(tmp_path / "d", scale=255)
    (root / "images" / "ghost.png").symlink_to(tmp_path / "nowhere.png")
    report = fix_dataset(FixConfig(root, dry_run=True))
    assert any(a.path == "images/ghost.png" and "dangling" in a.reason for a in report.actions)
    (root / ".cracks-fix.lock").write_text("123\n")  # a run in progress
    with pytest.raises(Exception, match="another `cracks fix`"):
        fix_dataset(FixConfig(root))
    assert (root / "images" / "ghost.png").is_symlink()  # nothing moved
    (root / ".cracks-fix.lock").unlink()
    fix_dataset(FixConfig(root))
    assert not (root / "images" / "ghost.png").is_symlink() and not (root / ".cracks-fix.lock").exists()
    assert (tmp_path / "d.quarantine" / "images" / "ghost.png").is_symlink()  # quarantined, not deleted


def test_hard_negative_weights_choose_the_artefacts():
    """A kind weighted 0 is never painted: only nodata collars leave pure black or white pixels."""
    grey = np.full((64, 64, 3), 128, np.uint8)
    empty = np.zeros((64, 64), np.uint8)

    def painted(kind: str) -> list[bool]:
        weights = [1.0 if k == kind else 0.0 for k in PAINTERS]
        transform = HardNegatives(kinds=tuple(PAINTERS), weights=weights, p=1.0)
        transform.set_random_seed(3)
        return [bool(np.isin(transform(image=grey, mask=empty)["image"], (0, 255)).any()) for _ in range(8)]

    assert all(painted("nodata_collar"))
    assert not any(painted("sawn_joint"))
    with pytest.raises(SettingError):
        HardNegatives(weights=[0.0] * len(PAINTERS))
    with pytest.raises(SettingError):
        train_transform(64, hard_negatives=0.5, hard_negative_weights={"puddle": 2.0})


class _DarkLines(torch.nn.Module):
    """A stand-in crack model: anything much darker than its surroundings is a crack."""

    def __init__(self):
        super().__init__()
        self.gain = torch.nn.Parameter(torch.tensor(20.0))  # a parameter tells the predictor its device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grey = x.mean(dim=1, keepdim=True)
        return self.gain * (torch.nn.functional.avg_pool2d(grey, 9, stride=1, padding=4) - grey - 0.3)


def test_hard_negative_false_alarms_per_kind_do_not_shift_when_a_kind_is_added(tmp_path, monkeypatch):
    """Each kind draws from its own seeded stream: the card's columns stay comparable across versions."""
    import cracks.training.hard_negatives as hard_negatives
    from cracks.training.evaluate import hard_negative_false_px

    pairs = []
    for seed in range(3):
        image, mask = crack_scene(96, 96, seed=seed, n_cracks=1)
        cv2.imwrite(str(tmp_path / f"{seed}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(tmp_path / f"{seed}_mask.png"), mask.astype(np.uint8) * 255)
        pairs.append(Pair(tmp_path / f"{seed}.png", tmp_path / f"{seed}_mask.png", "valid", f"{seed}"))
    normalization = {"mean": [0.5] * 3, "std": [0.25] * 3}
    every = hard_negative_false_px(_DarkLines(), normalization, 0.5, pairs)
    assert every["sawn_joint"] > every["none"]  # the stand-in falls for joints, so the figures mean something
    fewer = {kind: painter for kind, painter in hard_negatives.PAINTERS.items() if kind != "arrow"}
    monkeypatch.setattr(hard_negatives, "PAINTERS", fewer)
    without = hard_negative_false_px(_DarkLines(), normalization, 0.5, pairs)
    assert "arrow" not in without
    assert without == {kind: value for kind, value in every.items() if kind != "arrow"}
    only = hard_negative_false_px(_DarkLines(), normalization, 0.5, pairs, kinds=["sawn_joint"])
    assert only == {"none": every["none"], "sawn_joint": every["sawn_joint"]}  # a subset paints as the whole does
    with pytest.raises(SettingError):
        hard_negative_false_px(_DarkLines(), normalization, 0.5, pairs, kinds=["puddle"])
    once = hard_negative_false_px(_DarkLines(), normalization, 0.5, pairs, paintings=1)
    assert once["none"] == every["none"] and once != every  # more paintings of each kind, same bare surfaces
    with pytest.raises(SettingError):
        hard_negative_false_px(_DarkLines(), normalization, 0.5, pairs, paintings=0)


def test_stains_are_wider_than_cracks():
    """A stain is never a thin dark line: that is a crack's look, and a crack shown as 'not a
    crack' teaches the model to miss thin cracks (a run with thin stain streaks lost DeepCrack)."""
    from scipy import ndimage
    from skimage.measure import label, regionprops

    for seed in range(24):
        darkened = _flat_grey("stain", seed) < 128 - 12
        half_width = ndimage.distance_transform_edt(darkened)
        for region in regionprops(label(darkened)):
            if region.area >= 30:
                assert half_width[tuple(region.coords.T)].max() >= 3.5, seed
