"""How much does each field condition cost the model? Per-domain scores on degraded copies of the card's sets.

    .venv/bin/python scripts/field_conditions.py [models/default | SNAPSHOT --threshold T] [../shared/data]
        [--conditions clean grey ...] [--at 0.8,0.85]

The visible validation photos were taken in good light by careful hands; the field's were not.
Each condition degrades every photo the way a survey does (the truth mask is untouched: the
crack is where it was), the model segments it as ``cracks evaluate`` would (torch fp32, the
model's threshold), and the table gives the 2 px Dice per domain and its change from the clean
photos, then strict recall and precision. Conditions, each seeded per image:

* ``grey``: a monochrome survey camera (line-scan road cameras are grey).
* ``dark`` / ``bright``: under- and over-exposure (gamma 2.2 / 0.45 with the highlights clipped).
* ``haze``: contrast halved around the mean (a dusty lens, a low sun, a wet road's glare).
* ``blur``: defocus or motion, Gaussian sigma 1.5 px.
* ``jpeg``: quality 25 (a drone's video stream, a photo sent on by phone).
* ``noise``: sensor noise, sigma 8 grey levels (high ISO at dusk).
* ``coarse``: half the resolution (averaged down and back up): a survey flown twice as high,
  on the same pixel grid so the truth still fits.
* ``shadow``: a hard shadow (a pole, a parapet, the vehicle) over a random half of the photo,
  40 % of the light, its edge a straight line.

``--at`` also prints the 2 px Dice at other thresholds (multiples of 0.05), condition by
condition: whether a condition wants another threshold than the sharp photos.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import cv2
import numpy as np
import torch
from card_sets import domains, load_scored_model
from card_sets import parser as card_parser

from cracks.data.masks import read_image
from cracks.metrics import ThresholdSweep
from cracks.models.passes import Passes
from cracks.training.evaluate import probability_of

Degrade = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _gamma(image: np.ndarray, gamma: float) -> np.ndarray:
    table = np.clip(255 * (np.arange(256) / 255) ** gamma, 0, 255).astype(np.uint8)
    return table[image]


def _shadow(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape[:2]
    angle = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:h, 0:w]
    side = (xx - w / 2) * np.cos(angle) + (yy - h / 2) * np.sin(angle) > rng.uniform(-0.2, 0.2) * min(h, w)
    return np.where(side[..., None], image * 0.4, image).astype(np.uint8)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    _, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)


def _coarse(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


CONDITIONS: dict[str, Degrade] = {
    "clean": lambda image, rng: image,
    "grey": lambda image, rng: np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2),
    "dark": lambda image, rng: _gamma(image, 2.2),
    "bright": lambda image, rng: _gamma(image, 0.45),
    "haze": lambda image, rng: np.clip(image.mean() + 0.5 * (image.astype(np.float32) - image.mean()), 0, 255).astype(np.uint8),
    "blur": lambda image, rng: cv2.GaussianBlur(image, (0, 0), 1.5),
    "jpeg": lambda image, rng: _jpeg(image, 25),
    "noise": lambda image, rng: np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8),
    "coarse": lambda image, rng: _coarse(image),
    "shadow": _shadow,
}


def main() -> None:
    parser = card_parser(__doc__.splitlines()[0])
    parser.add_argument("--conditions", nargs="+", default=list(CONDITIONS), choices=list(CONDITIONS))
    parser.add_argument("--threshold", type=float, help="decision threshold (default: the model's own)")
    parser.add_argument("--at", type=lambda text: [float(t) for t in text.split(",")], default=[],
                        help="comma-separated thresholds (multiples of 0.05) to print 2 px Dice at, too")
    parser.add_argument("--half-scale", action="store_true", help="check every prediction at half scale (inspect --half-scale)")
    args = parser.parse_args()
    if any(not 0 < t < 1 or abs(t * 20 - round(t * 20)) > 1e-9 for t in args.at):
        parser.error(f"--at {args.at}: thresholds are multiples of 0.05 between 0 and 1")
    torch.set_grad_enabled(False)
    model, normalization, threshold = load_scored_model(args.model, args.threshold)
    if threshold is None:
        parser.error(f"{args.model}: a snapshot has no threshold of its own: give --threshold")
    by_domain = domains(args.data, crack500_step=args.crack500_step)
    passes = Passes(half_scale=args.half_scale)  # on every tile: the sweeps score other thresholds too
    sweeps = {name: {domain: (ThresholdSweep(), ThresholdSweep(tolerance=2)) for domain in by_domain}
              for name in args.conditions}
    for domain, pairs in by_domain.items():
        for pair in pairs:  # each photo read once, then degraded every way
            image, truth = read_image(pair.image), pair.read_mask()
            for name in args.conditions:
                rng = np.random.default_rng(zlib.crc32(pair.image.name.encode()))
                probability = probability_of(model, CONDITIONS[name](image, rng), normalization, passes=passes)
                for sweep in sweeps[name][domain]:
                    sweep.add(probability, truth)
        print(f"{domain}: " + ", ".join(f"{name} {sweeps[name][domain][1].result(threshold).dice:.3f}"
                                        for name in args.conditions), flush=True)
    results = {name: {domain: (strict.result(threshold), near.result(threshold))
                      for domain, (strict, near) in row.items()} for name, row in sweeps.items()}
    names = list(by_domain)
    clean = results.get("clean")
    print(f"\nmodel {args.model} (threshold {threshold:.2f}, torch fp32"
          f"{', checked at half scale' if args.half_scale else ''}); 2 px Dice"
          + (" (change from clean)" if clean else "") + "\n")
    print("| condition | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for name, row in results.items():
        cells = [f"{row[d][1].dice:.3f}" + (f" ({row[d][1].dice - clean[d][1].dice:+.3f})" if clean and name != "clean" else "")
                 for d in names]
        print(f"| {name} | " + " | ".join(cells) + " |")
    for other in args.at:
        print(f"\n2 px Dice at threshold {other:.2f} (change from {threshold:.2f})\n")
        print("| condition | " + " | ".join(names) + " |")
        print("|---" * (len(names) + 1) + "|")
        for name, row in sweeps.items():
            dice = {d: row[d][1].scores_at(other).dice for d in names}
            print(f"| {name} | " + " | ".join(f"{dice[d]:.3f} ({dice[d] - results[name][d][1].dice:+.3f})"
                                             for d in names) + " |")
    print("\nstrict recall / precision\n")
    print("| condition | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for name, row in results.items():
        print(f"| {name} | " + " | ".join(f"{row[d][0].recall:.2f} / {row[d][0].precision:.2f}" for d in names) + " |")


if __name__ == "__main__":
    main()
