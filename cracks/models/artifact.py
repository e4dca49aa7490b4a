"""Model artifacts: ``model.safetensors`` + ``model.json``, loaded without executing code.

A checkpoint pickle can run arbitrary code when loaded; safetensors holds tensors only.
``model.json`` carries everything needed to rebuild and use the network: architecture,
encoder, normalization, the tuned threshold, tile size, training data and metrics.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

import cracks
from cracks.errors import CracksError
from cracks.models.factory import build_model

FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
METADATA = "model.json"


@dataclass
class ModelMeta:
    arch: str
    encoder: str | None
    in_channels: int
    normalization: dict[str, list[float]]
    threshold: float = 0.5
    tile_size: int = 512
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    package_version: str = cracks.__version__
    format_version: int = FORMAT_VERSION
    dtype: str = "float32"
    exports: dict[str, Any] = field(default_factory=dict)  # faster copies, e.g. int8 (cracks.models.export)

    @classmethod
    def from_json(cls, data: dict[str, Any], path: Path) -> "ModelMeta":
        names = {f.name for f in dataclasses.fields(cls)}
        required = {"arch", "encoder", "in_channels", "normalization"}
        missing = sorted(required - data.keys())
        if missing:
            raise CracksError(path, f"model.json lacks {', '.join(missing)}")
        if data.get("format_version", FORMAT_VERSION) > FORMAT_VERSION:
            raise CracksError(path, f"model format {data['format_version']} is newer than this package reads")
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class LoadedModel:
    model: nn.Module
    meta: ModelMeta
    path: Path


def save(model: nn.Module, meta: ModelMeta, out_dir: str | Path, half: bool = False) -> Path:
    """Write the artifact directory atomically (a temporary folder renamed into place)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    tmp.chmod(0o755)
    try:
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        if half:
            state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
        meta.dtype = "float16" if half else "float32"
        meta.exports = {}  # the folder is replaced: exports of earlier weights do not carry over
        save_file(state, str(tmp / WEIGHTS), metadata={"format": "pt"})
        (tmp / METADATA).write_text(json.dumps(dataclasses.asdict(meta), indent=2) + "\n")
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def read_meta(path: str | Path) -> ModelMeta:
    path = Path(path)
    meta_path = path / METADATA
    if not meta_path.is_file():
        raise CracksError(path, f"not a model artifact (no {METADATA})")
    try:
        data = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise CracksError(meta_path, f"corrupt model metadata ({exc})") from exc
    return ModelMeta.from_json(data, meta_path)


def load(path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Rebuild the network from ``model.json`` and load ``model.safetensors`` strictly."""
    path = Path(path)
    meta = read_meta(path)
    weights = path / WEIGHTS
    if not weights.is_file():
        raise CracksError(path, f"model artifact lacks {WEIGHTS}")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CracksError(weights, f"corrupt weights ({exc})") from exc
    try:
        model = build_model(meta.arch, meta.encoder, meta.in_channels, pretrained=False)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()}, strict=True)
    except (RuntimeError, ValueError, KeyError) as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise CracksError(path, f"weights do not match {meta.arch}/{meta.encoder} ({first_line})") from exc
    return LoadedModel(model.to(device).eval(), meta, path)
