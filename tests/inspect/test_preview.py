"""The report's overview picture, sampled from the tiles segmentation reads: the same pixels a
decimated read gives, nodata black, and the decimated read again where tiles were not read here."""

from __future__ import annotations

import io

import numpy as np
import rasterio
from PIL import Image as PILImage

from cracks.config import InspectConfig
from cracks.inspect.pipeline import inspect_site, load_model, plan_site, segment_site
from cracks.synthetic import RenderedCrack
from reports.pdf import overview_map
from tests.rasters import dark_pixel_predictor, scene, write_geotiff
from tiling.preview import Preview
from tiling.raster import open_raster


def _site(tmp_path):
    crack = RenderedCrack(points=np.array([[30.0, 40.0], [500.0, 1300.0]]), width=4.0)
    image, _ = scene(560, 1500, [crack])
    nodata = (slice(0, 200), slice(0, 300))
    return write_geotiff(tmp_path / "site.tif", image, nodata_box=nodata), image, nodata


def test_preview_is_the_raster_sampled_every_step_with_nodata_black(tmp_path):
    path, image, nodata = _site(tmp_path)
    config = InspectConfig(inputs=[path], out=tmp_path / "out", tile=256, overlap=64)
    plan = plan_site(path, config, load_model(config), "dark pixels")
    segment_site(plan, dark_pixel_predictor, progress=False)
    preview = plan.preview
    step = preview.step
    assert step == 2 and preview.complete  # 1500 px wide: every 2nd pixel for a 1400 px picture
    expected = image[step // 2 :: step, step // 2 :: step][: 560 // step, : 1500 // step].copy()
    valid = np.ones(image.shape[:2], bool)
    valid[nodata] = False
    expected[~valid[step // 2 :: step, step // 2 :: step][: 560 // step, : 1500 // step]] = 0
    assert np.array_equal(preview.image, expected)


def test_overview_uses_the_preview_when_complete_and_reads_otherwise(tmp_path, monkeypatch):
    path, image, _ = _site(tmp_path)
    info = open_raster(path)
    partial = Preview.of_raster(info.width, info.height)
    assert not partial.complete
    opened = []
    real_open = rasterio.open
    monkeypatch.setattr(rasterio, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))

    class Nothing:
        cracks: list = []

    read = overview_map(info, Nothing(), ["fine"], width=100, height=40, preview=partial)
    assert opened == [info.path]  # incomplete (a resumed or distributed run): read decimated
    full = Preview(1, np.full((info.height, info.width, 3), 7, np.uint8), np.ones((info.height, info.width), bool))
    sampled = overview_map(info, Nothing(), ["fine"], width=100, height=40, preview=full)
    assert len(opened) == 1  # complete: not read again
    pictures = [np.asarray(PILImage.open(io.BytesIO(m.jpeg))) for m in (read, sampled)]
    assert pictures[0].shape[:2] == (info.height // 2, info.width // 2) and pictures[0].std() > 5  # the orthophoto
    assert pictures[1].shape[:2] == (info.height, info.width) and abs(pictures[1].astype(float).mean() - 7) < 1


def test_inspection_report_comes_from_the_sampled_preview(tmp_path, monkeypatch):
    path, _, _ = _site(tmp_path)
    config = InspectConfig(inputs=[path], out=tmp_path / "out", tile=256, overlap=64)
    drawn = {}
    import reports.pdf

    real = reports.pdf.overview_map
    monkeypatch.setattr(reports.pdf, "overview_map", lambda *a, **k: drawn.setdefault("preview", k["preview"]) and real(*a, **k))
    result = inspect_site(path, config, load_model(config), dark_pixel_predictor, progress=False)
    assert result.ok and (result.out_dir / "report.pdf").stat().st_size > 10_000
    assert drawn["preview"].complete
