"""Segmentation models: factory, pretrained weights, artifacts, prediction.

Submodules load on first use (PEP 562), so that ``import cracks.models.names`` or reading a
model's metadata does not import PyTorch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LoadedModel": "artifact", "ModelMeta": "artifact", "load": "artifact", "read_meta": "artifact", "save": "artifact",
    "ARCHITECTURES": "factory", "build_model": "factory",
    "BASELINE_ARCH": "names", "DEFAULT_ARCH": "names", "DEFAULT_ENCODER": "names",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"cracks.models.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'cracks.models' has no attribute {name!r}")
