"""The network as an OpenVINO model: converted from PyTorch, with normalization and sigmoid inside.

Used by the OpenVINO backend (fp32 and bf16 convert in memory) and by the int8 exporter.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def with_pre_and_post_processing(network, normalization: dict[str, list[float]]):
    """uint8 NHWC in, float16 probabilities out: the model's normalization before it, a sigmoid after."""
    import openvino as ov
    from openvino import opset13
    from openvino.preprocess import PrePostProcessor

    ppp = PrePostProcessor(network)
    ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC"))
    ppp.input().model().set_layout(ov.Layout("NCHW"))
    ppp.input().preprocess().convert_element_type(ov.Type.f32) \
        .mean([255 * m for m in normalization["mean"]]).scale([255 * s for s in normalization["std"]])
    ppp.output().postprocess().custom(lambda node: opset13.sigmoid(node).output(0))
    ppp.output().tensor().set_element_type(ov.Type.f16)  # probabilities need no more; halves what rows hold
    return ppp.build()


def to_openvino(network: torch.nn.Module):
    """Convert the PyTorch network to an OpenVINO model with free batch, height and width."""
    import openvino as ov
    import torch

    network = network.to(memory_format=torch.contiguous_format)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="torch.jit")  # OpenVINO traces via TorchScript
        return ov.convert_model(network, example_input=torch.zeros(1, 3, 64, 64), input=[-1, 3, -1, -1])
