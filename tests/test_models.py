"""Model factory, the ported ImageNet weights, and safe artifacts."""

from __future__ import annotations

import json
import os
from collections import OrderedDict

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from cracks.errors import CracksError
from cracks.models import artifact, build_model
from cracks.models.factory import ARCHITECTURES, normalization_for
from cracks.models.pretrained import LITE_WEIGHTS, imagenet_classifier, port_state_dict, timm_state_dict


def classify(model, image: np.ndarray) -> int:
    resized = np.asarray(Image.fromarray(image).resize((224, 224), Image.BICUBIC), np.float32) / 255
    x = torch.from_numpy((resized - 0.5) / 0.5).permute(2, 0, 1)[None]
    with torch.no_grad():
        return int(model(x).argmax())


@pytest.mark.parametrize("encoder", list(LITE_WEIGHTS))
def test_ported_lite_weights_recognise_a_cat_and_an_espresso(encoder):
    model = imagenet_classifier(encoder)
    assert 281 <= classify(model, skimage.data.chelsea()) <= 285  # ImageNet cats
    assert classify(model, skimage.data.coffee()) == 967  # espresso


def test_port_checks_every_shape():
    source = OrderedDict(a=torch.zeros(3, 3), b=torch.zeros(4), c_num_batches_tracked=torch.tensor(1))
    assert list(port_state_dict(source, {"x": torch.Size([3, 3]), "y": torch.Size([4])})) == ["x", "y"]
    with pytest.raises(ValueError, match="shape"):
        port_state_dict(source, {"x": torch.Size([3, 3]), "y": torch.Size([5])})
    with pytest.raises(ValueError, match="tensors"):
        port_state_dict(source, {"x": torch.Size([3, 3])})


@pytest.mark.parametrize("encoder", list(LITE_WEIGHTS))
def test_unet_encoder_carries_imagenet_weights(encoder):
    model = build_model("unet", encoder)
    ported = timm_state_dict(encoder)
    own = {k: v for k, v in model.encoder.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert len(own) > 200
    for key, value in own.items():
        assert torch.equal(value, ported[key]), key
    assert normalization_for("unet", encoder)["mean"] == [0.5, 0.5, 0.5]


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_architecture_segments(arch):
    model = build_model(arch, "timm-tf_efficientnet_lite0" if arch != "plain-unet" else None, pretrained=False).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 64, 96)).shape == (1, 1, 64, 96)


def test_unknown_architecture():
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("resnet-magic")


def make_artifact(tmp_path, half=False):
    model = build_model("unet", pretrained=False).eval()
    meta = artifact.ModelMeta(arch="unet", encoder="timm-tf_efficientnet_lite0", in_channels=3,
                              normalization=normalization_for("unet", "timm-tf_efficientnet_lite0"), threshold=0.4,
                              training={"datasets": ["x"]}, metrics={"valid": {"dice": 0.5}})
    return model, artifact.save(model, meta, tmp_path / "model", half=half)


def test_artifact_round_trip(tmp_path):
    model, path = make_artifact(tmp_path)
    loaded = artifact.load(path)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model(x), loaded.model(x))
    meta = json.loads((path / "model.json").read_text())
    for key in ("arch", "encoder", "in_channels", "normalization", "threshold", "tile_size", "training", "metrics",
                "created", "package_version"):
        assert key in meta
    assert loaded.meta.threshold == 0.4


def test_an_artifact_is_readable_by_others_as_the_umask_allows(tmp_path):
    """A model is written to be shared (safetensors writes its file private; the folder must not be)."""
    previous = os.umask(0o022)
    try:
        _, path = make_artifact(tmp_path)
    finally:
        os.umask(previous)
    assert {f.name: f.stat().st_mode & 0o777 for f in path.iterdir()} == {"model.safetensors": 0o644, "model.json": 0o644}


def test_half_precision_artifact_is_close_and_small(tmp_path):
    model, full = make_artifact(tmp_path / "a")
    _, half = make_artifact(tmp_path / "b", half=True)
    assert (half / "model.safetensors").stat().st_size < 0.55 * (full / "model.safetensors").stat().st_size
    assert artifact.read_meta(half).dtype == "float16"


def test_corrupt_or_mismatched_artifacts_fail_clearly(tmp_path):
    _, path = make_artifact(tmp_path)
    weights = path / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 3])
    with pytest.raises(CracksError, match="corrupt weights"):
        artifact.load(path)
    weights.write_bytes(data)
    meta = json.loads((path / "model.json").read_text())
    (path / "model.json").write_text(json.dumps({**meta, "arch": "fpn"}))
    with pytest.raises(CracksError, match="do not match fpn"):
        artifact.load(path)
    (path / "model.json").write_text("{not json")
    with pytest.raises(CracksError, match="corrupt model metadata"):
        artifact.load(path)
    with pytest.raises(CracksError, match="not a model artifact"):
        artifact.load(tmp_path)
