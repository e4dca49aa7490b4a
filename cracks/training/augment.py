"""Augmentations (albumentations) for training crops and for validation.

Masks travel through these transforms as 0/255 uint8 and are binarized afterwards
(``cracks.data.dataset.MASK_KEEP``), so that a 1 px crack shrunk by the scale augmentation
stays a (thinner) crack instead of vanishing under nearest-neighbour resampling.
"""

from __future__ import annotations

import albumentations as A
import cv2

from cracks.errors import SettingError
from cracks.training.hard_negatives import PAINTERS, HardNegatives


def train_transform(
    crop: int, *, scale: tuple[float, float] = (1.0, 1.0), hard_negatives: float = 0.0, field_photometry: bool = False,
    hard_negative_weights: dict[str, float] | None = None, field_optics: bool = False,
) -> A.Compose:
    """Geometry that crack orientation does not care about, plus photometric camera effects.

    ``scale``: random rescale range (field imagery comes at many ground sample distances; 0.5-2x
    teaches a thin drone-scale crack and a wide close-up one alike). ``hard_negatives``: the
    probability of painting field artefacts that are not cracks (:mod:`hard_negatives`), each kind
    drawn in proportion to ``hard_negative_weights`` (kinds not named weigh 1).
    ``field_photometry``: sun, shadow, wet and dry surfaces, colour casts of other cameras.
    ``field_optics``: what a survey's optics and files do to a sharp photo (:func:`field_optics_steps`).
    """
    steps: list[A.BasicTransform] = []
    if scale != (1.0, 1.0):
        steps.append(A.RandomScale(scale_limit=(scale[0] - 1, scale[1] - 1), interpolation=cv2.INTER_AREA,
                                   mask_interpolation=cv2.INTER_LINEAR, p=0.8))
    steps += [
        A.PadIfNeeded(min_height=crop, min_width=crop, border_mode=cv2.BORDER_REFLECT_101),
        A.RandomResizedCrop(size=(crop, crop), scale=(0.5, 1.0), ratio=(0.75, 1.333), p=0.5 if scale == (1.0, 1.0) else 0.0),
        A.RandomCrop(height=crop, width=crop),
        A.HorizontalFlip(),
        A.VerticalFlip(),
        A.RandomRotate90(),
    ]
    if hard_negatives > 0:
        weights = hard_negative_weights or {}
        unknown = set(weights) - PAINTERS.keys()
        if unknown:
            raise SettingError("hard_negative_weights", ", ".join(sorted(unknown)),
                               f"unknown hard negatives (choose from {', '.join(PAINTERS)})")
        steps.append(HardNegatives(kinds=tuple(PAINTERS), weights=[weights.get(kind, 1.0) for kind in PAINTERS],
                                   p=hard_negatives))
    steps += [
        A.RandomBrightnessContrast(brightness_limit=0.25, contrast_limit=0.25, p=0.6),
        A.OneOf([A.GaussianBlur(blur_limit=(3, 5)), A.MotionBlur(blur_limit=5)], p=0.2),
        A.GaussNoise(std_range=(0.02, 0.08), p=0.2),
    ]
    if field_photometry:
        steps += [
            A.RandomGamma(gamma_limit=(70, 140), p=0.3),  # midday sun versus overcast
            A.HueSaturationValue(hue_shift_limit=8, sat_shift_limit=25, val_shift_limit=15, p=0.3),  # camera casts
            A.RandomShadow(shadow_roi=(0, 0, 1, 1), num_shadows_limit=(1, 2), shadow_dimension=4, p=0.15),
            A.CLAHE(clip_limit=(1, 3), p=0.1),  # wet, high-contrast surfaces; survey-camera tone curves
            A.ToGray(p=0.05),  # grey survey cameras
        ]
    if field_optics:
        steps += field_optics_steps()
    else:
        steps.append(A.ImageCompression(quality_range=(50, 95), p=0.3))
    return A.Compose(steps)


def field_optics_steps() -> list[A.BasicTransform]:
    """Defocus, motion blur, a coarser ground sample distance, a dull exposure and heavy compression, the mask untouched.

    Measured with ``scripts/field_conditions.py``: on blurred or coarser copies of the validation
    photos the model paints the whole blurred dark band (DeepCrack precision 0.59 -> 0.44, 2 px
    Dice 0.870 -> 0.724 at Gaussian sigma 1.5), so widths and areas grow with a survey's blur. The
    crack did not widen; the truth stays sharp, and the model learns to find its core in the blur.
    """
    return [
        A.OneOf([
            A.GaussianBlur(blur_limit=0, sigma_limit=(0.6, 2.0)),  # defocus, a soft lens
            A.MotionBlur(blur_limit=(5, 9)),  # a moving vehicle or drone
            A.Defocus(radius=(1, 3), alias_blur=(0.1, 0.3)),
            A.Downscale(scale_range=(0.4, 0.85),  # flown higher: fewer pixels on the same ground
                        interpolation_pair={"downscale": cv2.INTER_AREA, "upscale": cv2.INTER_LINEAR}),
        ], p=0.35),
        A.RandomBrightnessContrast(brightness_limit=0, contrast_limit=(-0.5, 0), p=0.15),  # dull: values scaled by 0.5-1
        A.ImageCompression(quality_range=(20, 95), p=0.4),  # drone video streams, photos sent on by phone
    ]
