"""Augmentations (albumentations) for training crops and for validation."""

from __future__ import annotations

import albumentations as A
import cv2


def train_transform(crop: int) -> A.Compose:
    """Geometry that crack orientation does not care about, plus photometric camera effects."""
    return A.Compose([
        A.PadIfNeeded(min_height=crop, min_width=crop, border_mode=cv2.BORDER_REFLECT_101),
        A.RandomResizedCrop(size=(crop, crop), scale=(0.5, 1.0), ratio=(0.75, 1.333), p=0.5),
        A.RandomCrop(height=crop, width=crop),
        A.HorizontalFlip(),
        A.VerticalFlip(),
        A.RandomRotate90(),
        A.RandomBrightnessContrast(brightness_limit=0.25, contrast_limit=0.25, p=0.6),
        A.OneOf([A.GaussianBlur(blur_limit=(3, 5)), A.MotionBlur(blur_limit=5)], p=0.2),
        A.GaussNoise(std_range=(0.02, 0.08), p=0.2),
        A.ImageCompression(quality_range=(50, 95), p=0.3),
    ])
