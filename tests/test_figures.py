"""Report figures drawn as PDF vectors: cracks land where they are on the orthophoto."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.platypus import SimpleDocTemplate

from reports.figures import Bars, ChartRow, Histogram, MapLayer, OverviewMap, nice_length, nice_step


def _render(tmp_path, flowables) -> np.ndarray:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    pdf = tmp_path / "f.pdf"
    SimpleDocTemplate(str(pdf), pagesize=A4, leftMargin=0, rightMargin=0, topMargin=0, bottomMargin=0).build(flowables)
    subprocess.run(["pdftoppm", "-r", "72", "-png", "-singlefile", str(pdf), str(tmp_path / "page")], check=True)
    return np.asarray(Image.open(tmp_path / "page.png").convert("RGB")).astype(int)


def test_crack_lines_are_drawn_at_their_raster_position(tmp_path):
    """A crack along row 300 of a 1000 x 500 px raster, drawn 400 pt wide: 60 % down the map, in red."""
    grey = np.full((50, 100, 3), 128, np.uint8)  # the decimated orthophoto
    line = np.array([[100.0, 300.0], [900.0, 300.0]])  # x = column, y = row of the full raster
    figure = OverviewMap(grey, (1000, 500), [MapLayer("high", "#ff0000", [line])], width=400, height=200,
                         line_width=3)
    page = _render(tmp_path, [figure])
    grey_rows, grey_cols = np.nonzero((np.abs(page - 128) < 12).all(axis=2))  # where the map landed (1 px = 1 pt)
    top, left = grey_rows.min(), grey_cols.min()
    assert grey_rows.max() - top == pytest.approx(200, abs=2) and grey_cols.max() - left == pytest.approx(400, abs=2)
    red = (page[..., 0] > 200) & (page[..., 1] < 80) & (page[..., 2] < 80)
    rows, cols = np.nonzero(red[:, left + 30:])  # right of the legend's sample line
    cols += left + 30
    assert np.median(rows) - top == pytest.approx(120, abs=1.5)  # 300 / 500 of 200 pt, y down
    assert cols.min() - left == pytest.approx(40, abs=2.5) and cols.max() - left == pytest.approx(360, abs=2.5)


def test_charts_and_ticks(tmp_path):
    assert [nice_step(s) for s in (10, 7.3, 0.42, 1000)] == [2, 2, 0.1, 200]
    assert [nice_length(t) for t in (7.3, 0.42, 1000)] == [5, 0.2, 1000]
    charts = ChartRow([Histogram([0.1, 0.2, 0.25, 1.4], np.linspace(0, 1.5, 16), [0.3, 1.0], "width (mm)", "cracks", "W"),
                       Bars(["low", "medium", "high"], [10.3, 0.7, 0.0], ["#2c7bb6", "#fdae61", "#d7191c"], "m", "L")],
                      width=500, height=180)
    page = _render(tmp_path, [charts])
    blue = (page[..., 2] > 150) & (page[..., 0] < 90)
    assert blue[:180].sum() > 500  # the tallest bar, in its colour
    band = (np.abs(page - 0xE6) <= 2).all(axis=2)[:180]
    assert band.sum() < 200  # no floor given: no band (a few anti-aliased pixels of that grey; the band is thousands)


def test_widths_below_the_floor_are_shaded(tmp_path):
    """A 0.45 mm floor on a 0-1.5 mm axis: a light band over the first 30 % of the plot, under the bars."""
    chart = Histogram([0.1, 0.2, 0.25, 1.4], np.linspace(0, 1.5, 16), [0.3, 1.0], "width (mm)", "cracks", "W", floor=0.45)
    page = _render(tmp_path, [ChartRow([chart], width=500, height=180)])
    band = (np.abs(page - 0xE6) <= 2).all(axis=2)[:180]
    cols = np.flatnonzero(band.sum(axis=0) > 50)  # columns where the band runs most of the plot's height
    plot_width = 500 - 12 - 40  # ChartRow's panel margins
    assert (cols.max() - cols.min() + 1) == pytest.approx(0.3 * plot_width, abs=3)

