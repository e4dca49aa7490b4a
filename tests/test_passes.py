"""The passes around the network as one value: made from a job's threshold, written into the
resume key and read back by flow workers, and wrapped around a backend in one order."""

from __future__ import annotations

import numpy as np
import pytest

from cracks.models.backends import BackendChoice
from cracks.models.passes import Passes
from cracks.models.scale_check import HalfScaleChecked
from cracks.models.tta import FlipAveraged


@pytest.mark.parametrize("threshold", [0.5, 0.7])
@pytest.mark.parametrize("tta", [False, True])
@pytest.mark.parametrize("half_scale", [False, True])
def test_every_combination_reads_back_from_the_resume_key(threshold, tta, half_scale):
    passes = Passes.at_threshold(threshold, tta=tta, half_scale=half_scale)
    assert Passes.parse(str(passes)) == passes
    choice = BackendChoice("openvino", "int8-bf16", passes)
    assert BackendChoice.parse(str(choice)) == choice  # how flow workers get the plan's choice
    assert str(choice).startswith("openvino int8-bf16") and (" + tta" in str(choice)) == tta


def test_each_pass_skips_only_by_its_own_cut():
    assert Passes.at_threshold(0.7) == Passes()  # no pass: nothing to skip, and the plain resume key
    assert str(Passes.at_threshold(0.7, tta=True)) == " + tta from 0.392"
    assert str(Passes.at_threshold(0.7, half_scale=True)) == " + half-scale check from 0.692"
    assert str(Passes.at_threshold(0.5, tta=True, half_scale=True)) == " + tta + half-scale check from 0.492"


def test_a_cut_without_its_pass_and_an_unknown_pass_are_refused():
    with pytest.raises(ValueError, match="without tta"):
        Passes(mirror_from=0.392)
    with pytest.raises(ValueError, match="without half_scale"):
        Passes(tta=True, check_from=0.692)
    with pytest.raises(ValueError, match="names no pass"):
        BackendChoice.parse("openvino int8 + sharpened")


def test_the_mirror_runs_inside_the_half_scale_check():
    """With both passes the half-scale view is mirror-averaged too: the network sees the tile,
    its mirror, the half-size tile and its mirror, in that order."""
    seen: list[tuple[int, int, bool]] = []

    def network(batch: np.ndarray) -> np.ndarray:
        seen.append((*batch.shape[1:3], bool(batch[0, 0, 0, 0] == 0)))  # size, and whether the dark corner is left
        return np.full(batch.shape[:3], 0.9, np.float32)

    tiles = np.full((1, 64, 96, 3), 200, np.uint8)
    tiles[0, :4, :4] = 0  # a dark top-left corner tells the mirror apart
    wrapped = Passes(tta=True, half_scale=True).around(network)
    assert isinstance(wrapped, HalfScaleChecked) and isinstance(wrapped.backend, FlipAveraged)
    out = wrapped(tiles)
    assert seen == [(64, 96, True), (64, 96, False), (32, 48, True), (32, 48, False)]
    assert out.shape == (1, 64, 96) and np.allclose(out, 0.9)
    assert Passes().around(network) is network  # no pass: the network itself
