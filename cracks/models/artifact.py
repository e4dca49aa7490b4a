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
from typing import TYPE_CHECKING, Any

import cracks
from cracks.errors import ModelError

if TYPE_CHECKING:
    from torch import nn

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
    # The narrowest mean width (px) its crack records come out at (cracks.training.width_floor);
    # None: not measured, inspection assumes the shipped model's (cracks.standards.WIDTH_FLOOR_PX).
    width_floor_px: float | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any], path: Path) -> "ModelMeta":
        names = {f.name for f in dataclasses.fields(cls)}
        required = {"arch", "encoder", "in_channels", "normalization"}
        missing = sorted(required - data.keys())
        if missing:
            raise ModelError(path, f"model.json lacks {', '.join(missing)}")
        if data.get("format_version", FORMAT_VERSION) > FORMAT_VERSION:
            raise ModelError(path, f"model format {data['format_version']} is newer than this package reads")
        return cls(**{k: v for k, v in data.items() if k in names})


class LoadedModel:
    """A model artifact: its metadata, its folder, the device it runs on, and the network.

    The PyTorch network is built on first use of :attr:`model`: the OpenVINO int8 path reads
    only the metadata and the export, so inspecting on a CPU never imports torch.
    """

    def __init__(self, model: nn.Module | None, meta: ModelMeta, path: Path | None, device: str = "cpu"):
        self._model = model
        self.meta = meta
        self.path = path
        self.device = str(next(model.parameters()).device) if model is not None else str(device)

    @property
    def model(self) -> nn.Module:
        if self._model is None:
            self._model = _network(self.path, self.meta).to(self.device).eval()
        return self._model

    @property
    def on_cuda(self) -> bool:
        return self.device.startswith("cuda")

    @property
    def network_loaded(self) -> bool:
        return self._model is not None


def save(model: nn.Module, meta: ModelMeta, out_dir: str | Path, half: bool = False) -> Path:
    """Write the artifact directory atomically (a temporary folder renamed into place)."""
    from safetensors.torch import save_file

    from cracks.atomic import share

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
        for written in (tmp / WEIGHTS, tmp / METADATA):
            share(written)
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


def update_meta(path: str | Path, **fields: Any) -> None:
    """Set top-level fields of an artifact's ``model.json`` in place (atomically), keeping every
    other field as written, including ones this version does not know."""
    from cracks.atomic import write_json

    meta_path = Path(path) / METADATA
    read_meta(path)  # a folder that is no artifact, or a corrupt one, is refused here
    write_json(meta_path, {**json.loads(meta_path.read_text()), **fields})


def read_meta(path: str | Path) -> ModelMeta:
    path = Path(path)
    meta_path = path / METADATA
    if not meta_path.is_file():
        raise ModelError(path, f"not a model artifact (no {METADATA})")
    try:
        data = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(meta_path, f"corrupt model metadata ({exc})") from exc
    return ModelMeta.from_json(data, meta_path)


def load(path: str | Path, device: str | Any = "cpu", *, lazy: bool = False) -> LoadedModel:
    """Rebuild the network from ``model.json`` and load ``model.safetensors`` strictly.

    ``lazy``: check the artifact's files now but build the network on first use
    (:class:`LoadedModel`), for paths that may never need PyTorch.
    """
    path = Path(path)
    meta = read_meta(path)
    if not (path / WEIGHTS).is_file():
        raise ModelError(path, f"model artifact lacks {WEIGHTS}")
    loaded = LoadedModel(None, meta, path, device=str(device))
    if not lazy:
        loaded.model  # noqa: B018 - build now: a broken artifact fails here, not mid-inspection
    return loaded


def _network(path: Path, meta: ModelMeta) -> nn.Module:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from cracks.models.factory import build_model

    weights = path / WEIGHTS
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(weights, f"corrupt weights ({exc})") from exc
    try:
        model = build_model(meta.arch, meta.encoder, meta.in_channels, pretrained=False)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()}, strict=True)
    except (RuntimeError, ValueError, KeyError) as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise ModelError(path, f"weights do not match {meta.arch}/{meta.encoder} ({first_line})") from exc
    return model
