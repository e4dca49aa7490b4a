"""One optimizer step: micro-batches add up to the large batch's step when batch norm is frozen."""

from __future__ import annotations

import copy

import pytest
import torch

from cracks.models.factory import build_model
from cracks.training.step import freeze_norm_statistics, train_step


def _stepped(model: torch.nn.Module, images, masks, *, micro_batch: int | None) -> dict:
    model = copy.deepcopy(model)
    freeze_norm_statistics(model)
    for layer in model.modules():  # stochastic depth draws anew per pass: off, to compare exactly
        if type(layer).__name__ == "DropPath":
            layer.eval()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)  # the update is the gradient, scaled
    passes: list[int] = []
    model.register_forward_pre_hook(lambda _, args: passes.append(len(args[0])))
    loss = train_step(model, images, masks, torch.nn.BCEWithLogitsLoss(), optimizer, None, "cpu", False,
                      micro_batch=micro_batch)
    return {"loss": loss, "passes": passes, **{k: v.detach().clone() for k, v in model.state_dict().items()}}


def test_micro_batches_step_like_the_whole_batch_with_frozen_norm():
    torch.manual_seed(0)
    model = build_model("unet", "timm-tf_efficientnet_lite0", pretrained=False).train()
    images = torch.randn(6, 3, 64, 64)
    masks = (torch.rand(6, 1, 64, 64) > 0.9).float()
    whole = _stepped(model, images, masks, micro_batch=None)
    chunked = _stepped(model, images, masks, micro_batch=4)  # chunks of 4 and 2: weighted by their share
    start = model.state_dict()
    assert (whole["passes"], chunked["passes"]) == ([6], [4, 2])
    moved = [k for k in start if not torch.equal(whole[k], start[k])]
    assert len(moved) > 50
    assert torch.allclose(whole["loss"], chunked["loss"], atol=1e-6)
    for key in moved:
        assert torch.allclose(whole[key], chunked[key], atol=1e-5, rtol=1e-4), key


def test_micro_batch_below_one_is_refused():
    model = torch.nn.Conv2d(3, 1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="micro_batch"):
        train_step(model, torch.zeros(2, 3, 4, 4), torch.zeros(2, 1, 4, 4), torch.nn.BCEWithLogitsLoss(), optimizer,
                   None, "cpu", False, micro_batch=0)


def test_cracks_train_refuses_a_micro_batch_larger_than_the_batch(tmp_path):
    from typer.testing import CliRunner

    from cracks.cli import app

    result = CliRunner().invoke(app, ["train", "--data", str(tmp_path), "--batch-size", "8", "--micro-batch", "9"])
    assert result.exit_code == 2
    assert "--micro-batch 9" in result.output and "--batch-size (8)" in result.output
