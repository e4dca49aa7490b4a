"""Generated cracks with known geometry, for tests, benchmarks and demos.

A crack is a polyline (its centerline) and a width; its mask is every pixel whose centre lies
within ``width / 2`` of the polyline, so length and width are known exactly. Backgrounds are
multi-scale noise that looks like concrete or asphalt texture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class RenderedCrack:
    points: np.ndarray  # (N, 2) centerline vertices as (x, y) pixel coordinates
    width: float  # pixels

    @property
    def length(self) -> float:
        return float(np.linalg.norm(np.diff(self.points, axis=0), axis=1).sum())


def texture(height: int, width: int, rng: np.random.Generator, mean: float = 150, contrast: float = 18) -> np.ndarray:
    """HxWx3 uint8 concrete-like texture (blurred noise at three scales, slight colour tint)."""
    grey = np.zeros((height, width), np.float32)
    for sigma, weight in ((1.0, 0.5), (4.0, 0.3), (16.0, 0.2)):
        noise = ndimage.gaussian_filter(rng.standard_normal((height, width)).astype(np.float32), sigma)
        grey += weight * noise / (noise.std() + 1e-6)
    grey = mean + contrast * grey
    tint = np.array([1.0, 0.98, 0.95], np.float32)
    return np.clip(grey[..., None] * tint, 0, 255).astype(np.uint8)


def polyline_distance(shape: tuple[int, int], points: np.ndarray, margin: float) -> np.ndarray:
    """Distance from every pixel centre to the polyline, computed only near it (inf elsewhere).

    The ends are cut flat (butt caps): pixels beyond the first and last vertex are not part of
    the crack, so the rendered crack's length is exactly the centerline length.
    """
    height, width = shape
    dist = np.full(shape, np.inf, np.float32)
    last = len(points) - 2
    for i, ((x0, y0), (x1, y1)) in enumerate(zip(points[:-1], points[1:])):
        c0, c1 = int(max(0, np.floor(min(x0, x1) - margin))), int(min(width, np.ceil(max(x0, x1) + margin) + 1))
        r0, r1 = int(max(0, np.floor(min(y0, y1) - margin))), int(min(height, np.ceil(max(y0, y1) + margin) + 1))
        if c0 >= c1 or r0 >= r1:
            continue
        yy, xx = np.mgrid[r0:r1, c0:c1].astype(np.float32)
        dx, dy = x1 - x0, y1 - y0
        raw = ((xx - x0) * dx + (yy - y0) * dy) / max(dx * dx + dy * dy, 1e-9)
        t = np.clip(raw, 0, 1)
        d = np.hypot(xx - (x0 + t * dx), yy - (y0 + t * dy))
        if i == 0:
            d[raw < 0] = np.inf
        if i == last:
            d[raw > 1] = np.inf
        dist[r0:r1, c0:c1] = np.minimum(dist[r0:r1, c0:c1], d)
    return dist


def draw_cracks(shape: tuple[int, int], cracks: list[RenderedCrack]) -> np.ndarray:
    """The bool mask of the given cracks."""
    mask = np.zeros(shape, bool)
    for crack in cracks:
        mask |= polyline_distance(shape, crack.points, crack.width / 2 + 1) <= crack.width / 2
    return mask


def straight(x0: float, y0: float, x1: float, y1: float, width: float) -> RenderedCrack:
    return RenderedCrack(np.array([[x0, y0], [x1, y1]], float), width)


def curved(cx: float, cy: float, length: float, width: float, bend: float = 0.6, angle: float = 0.0, n: int = 60) -> RenderedCrack:
    """A circular arc of the given centerline length; ``bend`` is the arc angle in radians."""
    radius = length / bend
    theta = np.linspace(-bend / 2, bend / 2, n)
    x = radius * np.sin(theta)
    y = radius * (1 - np.cos(theta))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    pts = (rot @ np.vstack([x, y])).T + [cx, cy]
    return RenderedCrack(pts, width)


def random_walk(rng: np.random.Generator, start: tuple[float, float], heading: float, length: float,
                width: float, step: float = 8.0, wiggle: float = 0.25) -> RenderedCrack:
    """An irregular crack: a random walk with slowly drifting heading."""
    pts = [np.array(start, float)]
    for _ in range(int(length / step)):
        heading += rng.normal(0, wiggle)
        pts.append(pts[-1] + step * np.array([np.cos(heading), np.sin(heading)]))
    return RenderedCrack(np.array(pts), width)


def render(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, darkness: float = 0.45) -> np.ndarray:
    """Darken crack pixels (with a soft 1 px edge) on a background image."""
    soft = ndimage.gaussian_filter(mask.astype(np.float32), 0.7)
    soft = np.maximum(soft, mask)
    shade = 1 - darkness * soft * (0.85 + 0.15 * rng.random(mask.shape, dtype=np.float32))
    return np.clip(image.astype(np.float32) * shade[..., None], 0, 255).astype(np.uint8)


def crack_scene(height: int, width: int, seed: int = 0, n_cracks: int = 3, widths: tuple[float, float] = (2, 8)) -> tuple[np.ndarray, np.ndarray]:
    """A textured image with a few random-walk cracks: ``(HxWx3 uint8 image, HxW bool mask)``."""
    rng = np.random.default_rng(seed)
    cracks = [
        random_walk(rng, (rng.uniform(0, width), rng.uniform(0, height)), rng.uniform(0, 2 * np.pi),
                    rng.uniform(0.3, 0.9) * max(height, width), rng.uniform(*widths))
        for _ in range(n_cracks)
    ]
    mask = draw_cracks((height, width), cracks)
    return render(texture(height, width, rng), mask, rng), mask
