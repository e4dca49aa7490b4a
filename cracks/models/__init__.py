"""Segmentation models: factory, pretrained weights, artifacts, prediction."""

from cracks.models.artifact import LoadedModel, ModelMeta, load, read_meta, save
from cracks.models.factory import ARCHITECTURES, BASELINE_ARCH, DEFAULT_ARCH, DEFAULT_ENCODER, build_model

__all__ = [
    "ARCHITECTURES", "BASELINE_ARCH", "DEFAULT_ARCH", "DEFAULT_ENCODER", "LoadedModel", "ModelMeta",
    "build_model", "load", "read_meta", "save",
]
