"""The network as an OpenVINO model: converted from PyTorch, with normalization and sigmoid inside.

Used by the OpenVINO backend (fp32 and bf16 convert in memory) and by the int8 exporter.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def with_pre_and_post_processing(network, normalization: dict[str, list[float]]):
    """uint8 NHWC in, float32 probabilities out: the model's normalization before it, a sigmoid after.

    float32, not float16: each tile's probabilities become uint8 right after the call
    (:func:`cracks.inspect.rows.to_u8`), on the thread that feeds the network, and numpy converts
    float16 element by element: 0.74 s for the 144 windows of a 100 MP orthophoto against 0.09 s
    from float32 (2-core Xeon with AMX), time the network waited for its next tile."""
    import openvino as ov
    from openvino import opset13
    from openvino.preprocess import PrePostProcessor

    ppp = PrePostProcessor(network)
    ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC"))
    ppp.input().model().set_layout(ov.Layout("NCHW"))
    ppp.input().preprocess().convert_element_type(ov.Type.f32) \
        .mean([255 * m for m in normalization["mean"]]).scale([255 * s for s in normalization["std"]])
    ppp.output().postprocess().custom(lambda node: opset13.sigmoid(node).output(0))
    ppp.output().tensor().set_element_type(ov.Type.f32)
    return ppp.build()


def to_openvino(network: torch.nn.Module):
    """Convert the PyTorch network to an OpenVINO model with free batch, height and width."""
    import openvino as ov
    import torch

    network = network.to(memory_format=torch.contiguous_format)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="torch.jit")  # OpenVINO traces via TorchScript
        return ov.convert_model(network, example_input=torch.zeros(1, 3, 64, 64), input=[-1, 3, -1, -1])
