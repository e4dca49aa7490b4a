"""Synthetic hard negatives: the things in field imagery that a crack model mistakes for cracks.

A model trained on close-up crack crops has never seen a lane marking, a sawn joint, a kerb, the
seam between two photos of a mosaic or the ragged black collar of an orthophoto, so it marks the
straight dark edges of all of them as cracks. This module paints such artefacts onto training
images with the mask they deserve: *not crack*. Occluding artefacts (paint, nodata collars, a
smooth kerb face) also clear the crack pixels they cover; the others (joints, seams, shadows)
leave the mask as it is, because a crack under a shadow is still a crack.

The core is plain numpy over an explicit ``numpy.random.Generator`` (:func:`paint`), so every
artefact is reproducible from a seed; :class:`HardNegatives` wraps it as an albumentations
transform for the training pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import albumentations as A
import cv2
import numpy as np

from cracks.errors import SettingError

Painter = Callable[[np.ndarray, np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def _frame(shape: tuple[int, ...], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """Across-line distance ``d`` and along-line coordinate ``t`` of a random line through the image."""
    h, w = shape[:2]
    angle = rng.uniform(0, np.pi)
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    d = (x - cx) * -np.sin(angle) + (y - cy) * np.cos(angle)
    t = (x - cx) * np.cos(angle) + (y - cy) * np.sin(angle)
    return d, t, angle


def _smooth_noise(shape: tuple[int, int], rng: np.random.Generator, scale: float) -> np.ndarray:
    """Zero-mean, unit-ish noise with features about ``scale`` px across."""
    h, w = shape
    small = rng.standard_normal((max(2, int(h / scale) + 2), max(2, int(w / scale) + 2))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _blend(image: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = np.clip(alpha, 0, 1)[..., None]
    return np.clip(image.astype(np.float32) * (1 - a) + colour * a, 0, 255).astype(np.uint8)


def _paint_colour(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """White or yellow road paint that keeps some of the surface texture beneath it."""
    base = np.array([rng.uniform(225, 255)] * 3) if rng.random() < 0.65 else \
        np.array([rng.uniform(215, 250), rng.uniform(180, 215), rng.uniform(30, 90)])
    luminance = image.astype(np.float32).mean(axis=2, keepdims=True)
    texture = 0.85 + 0.15 * luminance / max(float(luminance.mean()), 1.0)
    return base * texture


def _occlude(mask: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return np.where(alpha > 0.5, 0, mask).astype(mask.dtype)


def lane_marking(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A solid or dashed paint stripe with worn, slightly blurred edges."""
    h, w = image.shape[:2]
    d, t, _ = _frame(image.shape, rng)
    half = rng.uniform(0.03, 0.15) * min(h, w) + 1
    ragged = _smooth_noise((h, w), rng, rng.uniform(3, 12)) * rng.uniform(0.3, 2.0)
    alpha = np.clip(half - np.abs(d) + ragged, 0, 1.5)
    if rng.random() < 0.4:  # dashed
        period = rng.uniform(0.4, 1.5) * max(h, w)
        alpha *= ((t - rng.uniform(0, period)) % period) < period * rng.uniform(0.4, 0.7)
    if rng.random() < 0.6:  # worn paint
        alpha *= _smooth_noise((h, w), rng, rng.uniform(4, 20)) > rng.uniform(-1.5, -0.3)
    alpha = cv2.GaussianBlur(alpha.astype(np.float32), (0, 0), rng.uniform(0.3, 1.5))
    return _blend(image, _paint_colour(image, rng), alpha), _occlude(mask, alpha)


def arrow(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A painted direction arrow (shaft and head), partly inside the image."""
    h, w = image.shape[:2]
    size = rng.uniform(0.4, 1.2) * min(h, w)
    shaft_w, head_w, head_l = size * rng.uniform(0.08, 0.15), size * rng.uniform(0.3, 0.45), size * rng.uniform(0.3, 0.45)
    points = np.array([[-size / 2, -shaft_w / 2], [size / 2 - head_l, -shaft_w / 2], [size / 2 - head_l, -head_w / 2],
                       [size / 2, 0], [size / 2 - head_l, head_w / 2], [size / 2 - head_l, shaft_w / 2],
                       [-size / 2, shaft_w / 2]])
    angle = rng.uniform(0, 2 * np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.array([rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h])
    polygon = (points @ rotation.T + centre).round().astype(np.int32)
    alpha = np.zeros((h, w), np.float32)
    cv2.fillPoly(alpha, [polygon], 1.0)
    alpha = cv2.GaussianBlur(alpha, (0, 0), rng.uniform(0.4, 1.5))
    return _blend(image, _paint_colour(image, rng), alpha), _occlude(mask, alpha)


def sawn_joint(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A dead-straight dark line across the whole image: a sawn or sealed pavement joint."""
    h, w = image.shape[:2]
    d, _, _ = _frame(image.shape, rng)
    width = rng.uniform(1.0, 5.0)
    profile = np.clip(width / 2 + 0.5 - np.abs(d), 0, 1)
    darkness = rng.uniform(0.35, 0.75) if rng.random() < 0.7 else 0.9  # open joint, or black sealant
    out = image.astype(np.float32) * (1 - darkness * profile[..., None])
    if rng.random() < 0.4:  # a second, parallel joint: joints come in a grid
        gap = rng.uniform(0.3, 0.8) * max(h, w)
        profile2 = np.clip(width / 2 + 0.5 - np.abs(d - gap), 0, 1)
        out *= 1 - darkness * profile2[..., None]
    return np.clip(out, 0, 255).astype(np.uint8), mask


def kerb_edge(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The carriageway edge: another surface beyond a straight or gently curved line."""
    h, w = image.shape[:2]
    d, t, _ = _frame(image.shape, rng)
    d = d + rng.uniform(-1, 1) * 1e-3 * t * t  # gently curved
    beyond = d > 0
    other = image.astype(np.float32) * rng.uniform(0.55, 1.6) + rng.uniform(-8, 8, size=3)
    smooth_face = rng.random() < 0.5
    if smooth_face:  # a kerb or concrete face: flatter texture, no visible cracks
        other = cv2.GaussianBlur(other, (0, 0), rng.uniform(1.5, 4.0))
        other += _smooth_noise((h, w), rng, 6)[..., None] * rng.uniform(2, 8)
    out = np.where(beyond[..., None], other, image.astype(np.float32))
    if rng.random() < 0.6:  # the shadow or bright arris along the edge
        line = np.clip(rng.uniform(1, 4) - np.abs(d), 0, 1)[..., None]
        out = out * (1 - line * rng.uniform(-0.4, 0.6))
    mask = np.where(beyond, 0, mask).astype(mask.dtype) if smooth_face else mask
    return np.clip(out, 0, 255).astype(np.uint8), mask


def photo_seam(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The join of two photos in a mosaic: exposure and white balance jump along a line."""
    d, _, _ = _frame(image.shape, rng)
    side = (d > 0)[..., None]
    gain = rng.uniform(0.7, 1.35) * rng.uniform(0.97, 1.03, size=3)
    other = image.astype(np.float32) * gain
    if rng.random() < 0.5:
        other = cv2.GaussianBlur(other, (0, 0), rng.uniform(0.5, 1.5))  # the other photo is softer
    return np.clip(np.where(side, other, image), 0, 255).astype(np.uint8), mask


def nodata_collar(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The black (or white) nodata border of an orthophoto, with a ragged edge."""
    h, w = image.shape[:2]
    d, t, _ = _frame(image.shape, rng)
    ragged = _smooth_noise((h, w), rng, rng.uniform(2, 15)) * rng.uniform(0, 8)
    outside = (d + ragged) > 0
    fill = 0 if rng.random() < 0.8 else 255
    out = image.copy()
    out[outside] = fill
    return out, np.where(outside, 0, mask).astype(mask.dtype)


def hard_shadow(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A cast shadow: a half-plane or a pole's band, darker and bluer, with a crisp edge."""
    h, w = image.shape[:2]
    d, _, _ = _frame(image.shape, rng)
    if rng.random() < 0.5:
        region = d > 0
    else:
        region = np.abs(d) < rng.uniform(3, 0.2 * min(h, w) + 4)
    alpha = cv2.GaussianBlur(region.astype(np.float32), (0, 0), rng.uniform(0.3, 2.0))[..., None]
    tint = rng.uniform(0.35, 0.7) * np.array([0.95, 1.0, 1.1])
    out = image.astype(np.float32) * (1 - alpha + alpha * tint)
    return np.clip(out, 0, 255).astype(np.uint8), mask


def formwork(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Formwork marks on cast concrete: panel joints and rows of tie holes.

    A panel joint leaves a thin straight ridge (a dark and a bright edge side by side, or just a
    dark line), usually in a grid; the ties leave small round holes in a regular grid. Straight,
    thin and dark: what a crack model marks on walls, piers and decks.
    """
    h, w = image.shape[:2]
    d, t, _ = _frame(image.shape, rng)
    shade = np.zeros((h, w), np.float32)  # > 0 darker, < 0 brighter
    panel = rng.uniform(0.3, 0.9) * max(h, w)
    depth, relief = rng.uniform(0.2, 0.55), rng.uniform(0.0, 0.35)
    for across in (d, t) if rng.random() < 0.5 else (d,):
        for offset in (0.0, panel) if rng.random() < 0.5 else (0.0,):
            o = across - offset
            shade += depth * np.exp(-((o + 0.8) / rng.uniform(0.6, 1.4)) ** 2) - relief * np.exp(-((o - 1.2) / 0.9) ** 2)
    if rng.random() < 0.6:  # tie holes, a regular grid
        spacing = rng.uniform(0.2, 0.5) * max(h, w)
        radius = rng.uniform(1.5, 0.02 * min(h, w) + 2)
        along_t, along_d = (t + rng.uniform(0, spacing)) % spacing, (d + rng.uniform(0, spacing)) % spacing
        near = np.minimum(along_t, spacing - along_t) ** 2 + np.minimum(along_d, spacing - along_d) ** 2
        holes = np.clip(radius + 0.5 - np.sqrt(near), 0, 1)
        shade += rng.uniform(0.25, 0.55) * holes
    out = image.astype(np.float32) * (1 - np.clip(shade, -0.5, 0.9))[..., None]
    return np.clip(out, 0, 255).astype(np.uint8), mask


def stain(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Water, rust or oil stains: dark streaks and blotches with soft, irregular edges.

    Run-off streaks down a wall are long and from about ten pixels to a few dozen wide; oil and
    damp patches on a road are blotches. Both are darker than the surface, neither has a crack's
    crisp dark core. Never narrower: a streak a few pixels wide *is* a thin crack's look, and
    showing one as "not a crack" taught a model to miss thin cracks (a CPU run with such streaks
    lost 0.037 strict Dice on DeepCrack; README, model card).
    """
    h, w = image.shape[:2]
    if rng.random() < 0.55:  # a streak that starts somewhere and fades out along its length
        d, t, _ = _frame(image.shape, rng)
        wobble = _smooth_noise((h, w), rng, rng.uniform(10, 40)) * rng.uniform(1, 6)
        half = rng.uniform(5, 0.08 * min(h, w) + 8) * (1 + 0.3 * _smooth_noise((h, w), rng, 20))
        start, length = rng.uniform(-0.5, 0.2) * max(h, w), rng.uniform(0.4, 1.5) * max(h, w)
        fade = np.clip(1 - (t - start) / length, 0, 1) * (t > start)
        alpha = np.clip(half - np.abs(d + wobble), 0, 1) * fade
    else:  # a blotch
        alpha = (_smooth_noise((h, w), rng, rng.uniform(15, 50)) > rng.uniform(0.6, 1.4)).astype(np.float32)
    alpha = cv2.GaussianBlur(alpha.astype(np.float32), (0, 0), rng.uniform(2.0, 5.0))
    tint = rng.uniform(0.5, 0.85) * (np.array([1.1, 0.9, 0.75]) if rng.random() < 0.3 else np.ones(3))  # rust or damp
    out = image.astype(np.float32) * (1 - alpha[..., None] * (1 - tint))
    return np.clip(out, 0, 255).astype(np.uint8), mask


def tining(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Tined or grooved concrete pavement (and brushed decks): evenly spaced parallel grooves.

    Each groove is thin, dark and straight, like a crack; there are many, a few pixels to a couple
    of dozen apart, over the whole surface or a band of it.
    """
    h, w = image.shape[:2]
    d, t, _ = _frame(image.shape, rng)
    period = rng.uniform(5, 25)
    jitter = _smooth_noise((h, w), rng, rng.uniform(20, 60)) * rng.uniform(0, 0.8)
    off = np.abs(((d + jitter) % period) - period / 2)  # distance to the nearest groove, shifted by half a period
    profile = np.clip(rng.uniform(0.6, 1.5) + 0.5 - off, 0, 1)
    wear = np.clip(0.6 + 0.5 * _smooth_noise((h, w), rng, rng.uniform(10, 40)), 0, 1)
    if rng.random() < 0.3:  # tining stops in a band (a joint, a kerb strip)
        profile *= np.abs(t) < rng.uniform(0.2, 0.5) * max(h, w)
    out = image.astype(np.float32) * (1 - rng.uniform(0.15, 0.45) * profile * wear)[..., None]
    return np.clip(out, 0, 255).astype(np.uint8), mask


def tined_joint(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Tined or brushed concrete with a joint across it: the grooves, then a sawn joint or a
    formwork line at its own angle.

    Why a kind of its own: cracks in tined pavement cross the grooves and are drawn, so a model
    shown tining and joints only apart learned that a straight line crossing grooves is a crack.
    On crack-free walls painted with tining such a model marked the walls' own panel and
    formwork joints where the grooves cross them, not the grooves (session 23, README model
    card). Joints cut across tined slabs and decks everywhere: a pavement's longitudinal joints
    run across its transverse tining.
    """
    image, mask = tining(image, mask, rng)
    return (sawn_joint if rng.random() < 0.6 else formwork)(image, mask, rng)


PAINTERS: dict[str, Painter] = {
    "lane_marking": lane_marking,
    "arrow": arrow,
    "sawn_joint": sawn_joint,
    "kerb_edge": kerb_edge,
    "photo_seam": photo_seam,
    "nodata_collar": nodata_collar,
    "hard_shadow": hard_shadow,
    "formwork": formwork,
    "stain": stain,
    "tining": tining,
    "tined_joint": tined_joint,
}
OCCLUDING = frozenset({"lane_marking", "arrow", "nodata_collar", "kerb_edge"})


def paint(image: np.ndarray, mask: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Paint one artefact of ``kind`` onto an HxWx3 uint8 image; return the image and its mask.

    Never adds crack pixels to the mask; occluding kinds remove those they cover.
    """
    if kind not in PAINTERS:
        raise SettingError("hard_negative", repr(kind), f"unknown hard negative (choose from {', '.join(PAINTERS)})")
    return PAINTERS[kind](image, mask, rng)


class HardNegatives(A.DualTransform):
    """albumentations transform: with probability ``p``, paint 1-``max_artefacts`` random artefacts.

    ``weights``: how often each of ``kinds`` is drawn, relatively (default: equally often); weigh up
    the artefacts a model still falls for.
    """

    def __init__(self, kinds: Sequence[str] = tuple(PAINTERS), max_artefacts: int = 2, p: float = 0.5,
                 weights: Sequence[float] | None = None):
        super().__init__(p=p)
        unknown = set(kinds) - PAINTERS.keys()
        if unknown:
            raise SettingError("hard_negatives", ", ".join(sorted(unknown)), f"unknown hard negatives (choose from {', '.join(PAINTERS)})")
        weights = [1.0] * len(kinds) if weights is None else [float(w) for w in weights]
        if len(weights) != len(kinds) or any(w < 0 for w in weights) or not sum(weights) > 0:
            raise SettingError("hard_negative_weights", weights, f"give one weight >= 0 per kind ({len(kinds)}), not all 0")
        self.kinds = tuple(kinds)
        self.weights = tuple(weights)
        self.max_artefacts = max_artefacts

    def get_params_dependent_on_data(self, params, data):
        image, mask = data["image"], data.get("mask")
        if mask is None:
            mask = np.zeros(image.shape[:2], np.uint8)
        count = int(self.random_generator.integers(1, self.max_artefacts + 1))
        chance = np.asarray(self.weights) / sum(self.weights)
        for kind in self.random_generator.choice(self.kinds, size=count, p=chance):
            image, mask = paint(image, mask, str(kind), self.random_generator)
        return {"painted_image": image, "painted_mask": mask}

    def apply(self, img, painted_image=None, **params):
        return painted_image

    def apply_to_mask(self, mask, painted_mask=None, **params):
        return painted_mask

    def get_transform_init_args_names(self):
        return ("kinds", "max_artefacts", "weights")
