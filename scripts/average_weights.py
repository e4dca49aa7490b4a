"""Average the weights of models that share their batch-norm statistics (a "model soup").

Continuations trained with ``--freeze-norm`` keep their start's statistics, so their weights can
be averaged layer by layer; the result is a snapshot that ``scripts/adopt_snapshot.py`` scores
and adopts like any other. Measured with it (README model card, session 16): the shipped model
and a CPU continuation averaged evenly kept the continuation's gains without its false alarms on
kerb edges.

    python scripts/average_weights.py models/default runs/cpu16/big-100.safetensors --out soup.safetensors

The soup's metadata lists its members (``soup``: weight, path and SHA-256 of each), so the model
adopted from it says what it is made of; its other metadata (architecture, run settings) is the
first training snapshot's, named in ``settings_from``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from cracks.atomic import atomic_path
from cracks.hashing import file_sha256
from cracks.models.artifact import WEIGHTS


def weights_file(path: Path) -> Path:
    """The file holding a snapshot's or a model folder's weights."""
    return path / WEIGHTS if path.is_dir() else path


def read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """A snapshot's tensors and metadata, or a model folder's (its ``model.safetensors``)."""
    with safe_open(str(weights_file(path)), "pt") as f:
        meta = f.metadata() or {}
    return load_file(str(weights_file(path))), meta


def members(paths: list[Path], weights: list[float]) -> list[dict[str, object]]:
    """What a soup is made of: each member's weight, path and SHA-256 (of its weights file)."""
    return [{"weight": w, "path": str(p), "sha256": file_sha256(weights_file(p))} for w, p in zip(weights, paths)]


def average(states: list[dict[str, torch.Tensor]], weights: list[float]) -> dict[str, torch.Tensor]:
    """The weighted mean of float tensors (stored as float16, as snapshots are); integer buffers
    (batch-norm step counts) from the first state. The states must hold the same tensors."""
    keys = set(states[0])
    for state in states[1:]:
        if set(state) != keys or any(state[k].shape != states[0][k].shape for k in keys):
            raise SystemExit("error: the models do not hold the same tensors (another architecture or encoder?)")
    total = sum(weights)
    return {k: (sum(w * s[k].float() for w, s in zip(weights, states)) / total).half()
            if states[0][k].is_floating_point() else states[0][k] for k in states[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, help="snapshots (.safetensors) or model folders")
    parser.add_argument("--weights", default=None, help="comma-separated, one per model (default: equal)")
    parser.add_argument("--out", type=Path, required=True, help="the averaged snapshot (.safetensors)")
    args = parser.parse_args()
    weights = [float(w) for w in args.weights.split(",")] if args.weights else [1.0] * len(args.models)
    if len(weights) != len(args.models) or min(weights) < 0 or sum(weights) <= 0:
        parser.error(f"--weights {args.weights}: one non-negative weight per model, not all zero")
    read_in = [read(path) for path in args.models]
    first = next((i for i, (_, meta) in enumerate(read_in) if meta.get("arch")), None)
    if first is None:
        parser.error("give at least one scripts/train_budget.py snapshot: it names the architecture and encoder")
    meta = {**read_in[first][1], "run": args.out.stem, "settings_from": str(args.models[first]),
            "soup": json.dumps(members(args.models, weights))}
    with atomic_path(args.out) as tmp:
        save_file(average([state for state, _ in read_in], weights), str(tmp), metadata=meta)
    print(f"wrote {args.out}: " + ", ".join(f"{w:g} x {p}" for w, p in zip(weights, args.models)))


if __name__ == "__main__":
    main()
