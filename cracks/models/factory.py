"""Build segmentation models by name: smp architectures over any smp encoder, plus the baseline."""

from __future__ import annotations

import warnings

import segmentation_models_pytorch as smp
from torch import nn

from cracks.errors import SettingError
from cracks.models.baseline import PlainUNet
from cracks.models.names import BASELINE_ARCH, DEFAULT_ARCH, DEFAULT_ENCODER
from cracks.models.pretrained import LITE_WEIGHTS, load_imagenet_encoder

SMP_ARCHITECTURES: dict[str, type[nn.Module]] = {
    "unet": smp.Unet,
    "unetplusplus": smp.UnetPlusPlus,
    "fpn": smp.FPN,
    "linknet": smp.Linknet,
    "deeplabv3plus": smp.DeepLabV3Plus,
    "manet": smp.MAnet,
    "segformer": smp.Segformer,
}
ARCHITECTURES = [*SMP_ARCHITECTURES, BASELINE_ARCH]

# (mean, std) in 0-1 units. The TF-ported EfficientNets were trained on (x - 0.5) / 0.5.
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
TF_INCEPTION = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


def normalization_for(arch: str, encoder: str | None) -> dict[str, list[float]]:
    mean, std = TF_INCEPTION if (encoder or "").startswith("timm-tf_") or arch == BASELINE_ARCH else IMAGENET
    return {"mean": list(mean), "std": list(std)}


def build_model(
    arch: str = DEFAULT_ARCH,
    encoder: str | None = DEFAULT_ENCODER,
    in_channels: int = 3,
    pretrained: bool = True,
) -> nn.Module:
    """A binary segmentation model producing one logit per pixel.

    ``pretrained`` loads the offline ImageNet weights where the project has them
    (EfficientNet-Lite0/1/2); other encoders start from random weights, with a warning.
    """
    arch = arch.lower()
    if arch == BASELINE_ARCH:
        return PlainUNet(in_channels=in_channels)
    if arch not in SMP_ARCHITECTURES:
        raise SettingError("arch", repr(arch), f"unknown architecture (choose from {', '.join(ARCHITECTURES)})")
    model = SMP_ARCHITECTURES[arch](
        encoder_name=encoder, encoder_weights=None, in_channels=in_channels, classes=1
    )
    if pretrained:
        if encoder in LITE_WEIGHTS and in_channels == 3:
            load_imagenet_encoder(model.encoder, encoder)
        else:
            warnings.warn(
                f"no offline ImageNet weights for encoder {encoder!r}: starting from random weights",
                stacklevel=2,
            )
    return model
