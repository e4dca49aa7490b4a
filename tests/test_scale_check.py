"""The half-scale check: what the network also sees at half resolution nearby is kept, the rest capped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from cracks.config import InspectConfig
from cracks.errors import SettingError
from cracks.inspect.predictor import Predictor
from cracks.inspect.rows import to_u8
from cracks.models import artifact, backends
from cracks.models.passes import Passes, check_cut
from cracks.models.scale_check import REACH_PX, HalfScaleChecked, half_scale_checked, half_scale_probabilities

MODEL = Path(__file__).resolve().parents[1] / "models" / "default"
SAMPLE = Path(__file__).resolve().parents[1] / "sample" / "road_section.tif"


def wide_only(batch: np.ndarray) -> np.ndarray:
    """A stand-in network: 0.95 on dark pixels of a tile at least 64 px wide (the full-scale view),
    and at half scale only on dark runs at least 3 px tall (what survives halving of a wide line)."""
    dark = batch.mean(axis=3) < 60
    if batch.shape[2] >= 64:
        return np.where(dark, 0.95, 0.05).astype(np.float32)
    tall = dark & np.roll(dark, 1, axis=1) & np.roll(dark, -1, axis=1)
    return np.where(tall, 0.95, 0.05).astype(np.float32)


def test_a_line_seen_at_half_scale_keeps_its_pixels_and_one_never_seen_there_is_capped():
    tiles = np.full((1, 128, 192, 3), 150, np.uint8)
    tiles[0, 20:28, 10:180] = 10  # a wide crack: still dark over 3 rows at half scale
    tiles[0, 100, 10:180] = 10  # a one-pixel line: greyed away by halving
    checked = half_scale_checked(wide_only, tiles)
    assert checked.shape == (1, 128, 192) and checked.dtype == np.float32
    assert (checked[0, 20:28, 10:180] > 0.9).all()
    assert (checked[0, 100, 10:180] < 0.1).all()  # the full-scale 0.95 capped by what half scale saw
    assert np.all(checked <= wide_only(tiles))  # the check only ever lowers a probability


def test_the_half_scale_view_confirms_pixels_within_its_reach_only():
    tiles = np.full((1, 256, 256, 3), 150, np.uint8)
    tiles[0, 10:18, 10:60] = 10  # a short wide crack, seen at half scale
    tiles[0, 13, 60:250] = 10  # its thin continuation, not seen there
    checked = half_scale_checked(wide_only, tiles)[0]
    assert (checked[13, 60 : 60 + REACH_PX - 4] > 0.9).all()  # within reach of the wide part: kept
    assert (checked[13, 60 + REACH_PX + 8 : 250] < 0.1).all()  # beyond it: capped
    near = half_scale_probabilities(wide_only, tiles)[0]
    assert near.shape == (256, 256) and near[13, 60 + REACH_PX // 2] > 0.9 and near[200, 200] < 0.1


def test_tiles_below_the_cut_skip_the_half_scale_pass_and_keep_every_decision():
    calls: list[tuple[int, ...]] = []

    def network(batch: np.ndarray) -> np.ndarray:
        calls.append(batch.shape[:3])
        return wide_only(batch)

    tiles = np.full((2, 96, 128, 3), 150, np.uint8)
    tiles[0, 40, 5:120] = 10  # only the first tile has anything crack-like
    full = half_scale_checked(network, tiles)
    calls.clear()
    backend = HalfScaleChecked(network, check_from=check_cut(0.70))
    skipped = backend(tiles)
    assert calls == [(2, 96, 128), (1, 48, 64)] and (backend.tiles, backend.checked) == (2, 1)
    assert np.array_equal(skipped, full)  # the flat tile's probabilities (0.05) were never above the cut
    threshold_u8 = round(0.70 * 255)
    assert np.array_equal(to_u8(skipped) >= threshold_u8, to_u8(full) >= threshold_u8)


def test_check_cut_keeps_inspections_uint8_decisions():
    """A tile whose every pixel is under ``check_cut(t)`` has no pixel at or over ``t`` once rounded
    to uint8 as inspection stores it, so it needs no check; and the cut is not needlessly low."""
    for threshold in np.arange(0.05, 0.99, 0.01):
        cut = check_cut(float(threshold))
        under = np.nextafter(np.float32(cut), np.float32(0))
        assert to_u8(np.array([under]))[0] < round(threshold * 255)
        assert cut > threshold - 0.01


def test_half_scale_is_part_of_the_inference_choice_and_parses_back():
    assert backends.BackendChoice.parse("openvino int8-bf16 + tta from 0.392 + half-scale check from 0.692") == \
        backends.BackendChoice("openvino", "int8-bf16", Passes(True, 0.392, True, 0.692))
    choice = backends.BackendChoice("torch", "fp32", Passes(half_scale=True))
    assert str(choice) == "torch fp32 + half-scale check" and backends.BackendChoice.parse(str(choice)) == choice
    with pytest.raises(SettingError, match="half_scale"):
        InspectConfig(inputs=[], half_scale="yes")  # a YAML string would have been truthy


def test_the_shipped_model_checked_at_half_scale_in_inspection():
    """``--half-scale`` keys its cut of the job's threshold, runs the real network at half scale
    on tiles that reach it, and never raises a probability."""
    if not (MODEL.exists() and SAMPLE.exists()):
        pytest.skip("shipped model or sample site missing")
    from cracks.inspect.pipeline import config_predictor

    model = artifact.load(MODEL, lazy=True)
    predictor = config_predictor(model, InspectConfig(inputs=[], half_scale=True, backend="torch", precision="fp32"))
    assert str(predictor.choice) == "torch fp32 + half-scale check from 0.692"
    assert backends.BackendChoice.parse(str(predictor.choice)) == predictor.choice
    plain = Predictor(model, backend="torch", precision="fp32")
    with rasterio.open(SAMPLE) as src:  # the sample site's cracked road, and a bare patch of the same grey
        cracked = np.moveaxis(src.read(window=Window(0, 0, 256, 256)), 0, -1)
    rng = np.random.default_rng(4)
    flat = (np.median(cracked, axis=(0, 1)) + rng.normal(0, 3, cracked.shape)).clip(0, 255).astype(np.uint8)
    checked = predictor([flat, cracked])
    direct = plain([flat, cracked])
    assert (predictor.run.tiles, predictor.run.checked) == (2, 1)  # bare concrete needs no second look
    assert all((c <= d + 1e-6).all() for c, d in zip(checked, direct))
    found, kept = int((direct[1] >= 0.7).sum()), int((checked[1] >= 0.7).sum())
    assert found > 500 and kept > 0.8 * found  # the real cracks are seen at half scale too


def test_the_report_says_in_words_what_the_inference_passes_did():
    from reports.pdf import _inference_note

    both = _inference_note("openvino int8 + tta from 0.392 + half-scale check from 0.692")
    assert "mirror image" in both and f"half resolution also shows one within {REACH_PX} px" in both
    assert "mirror" not in _inference_note("torch fp32 + half-scale check") and _inference_note("openvino int8") == ""
