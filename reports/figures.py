"""The report's figures, drawn straight onto the PDF page as vectors (reportlab canvas).

Why not matplotlib: its import and a rasterized figure cost about a second on the way to every
report (a third of the sample's start-up budget), and a raster overview blurs the cracks when an
engineer zooms in. Here the orthophoto goes in once as a JPEG and every crack is a vector path
over it, so a 1 px crack stays sharp at any zoom. The figures are platypus ``Flowable`` objects:
plain data in, drawing out, no state shared between reports.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Flowable

FONT = "Helvetica"
INK = colors.HexColor("#333333")
GRID = colors.HexColor("#999999")
UNRESOLVED = "#e6e6e6"  # the band of widths finer than the imagery resolves


def nice_step(span: float, count: int = 5) -> float:
    """A 1-2-5 tick step giving about ``count`` ticks over ``span``."""
    if not span > 0:
        return 1.0
    raw = span / count
    exponent = 10 ** math.floor(math.log10(raw))
    return next(m * exponent for m in (1, 2, 5, 10) if m * exponent >= raw)


def nice_length(target: float) -> float:
    """The longest 1-2-5 length not above ``target`` (a scale bar's length)."""
    exponent = 10 ** math.floor(math.log10(target))
    return max(m * exponent for m in (1, 2, 5) if m * exponent <= target)


def _label(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e5 else f"{value:.3g}"


@dataclass
class MapLayer:
    """Lines of one colour in raster pixel coordinates: each an Nx2 array of (x = column, y = row)."""

    name: str
    colour: str
    lines: list[np.ndarray]
    line_width: float | None = None  # default: the map's


class OverviewMap(Flowable):
    """Lines as vector paths over an optional image (an orthophoto, as JPEG), with a legend, a scale
    bar and a north arrow.

    ``raster_size`` is the (width, height) of the area the lines' coordinates span, x to the right
    and y down (raster pixels; the image, if any, fills it); ``scale_bar`` is (label, length in
    those units).
    """

    def __init__(self, image: np.ndarray | None, raster_size: tuple[float, float], layers: Sequence[MapLayer], *,
                 width: float, height: float, scale_bar: tuple[str, float] | None = None, north_arrow: bool = False,
                 line_width: float = 1.1, legend_title: str = "severity"):
        super().__init__()
        self.jpeg = None
        if image is not None:
            buffer = io.BytesIO()
            PILImage.fromarray(image).save(buffer, format="JPEG", quality=88)  # passed through to the PDF as is
            self.jpeg = buffer.getvalue()
        self.raster_size = raster_size
        self.layers = [layer for layer in layers if layer.lines]
        self.width, self.height = width, height
        self.scale_bar, self.north_arrow = scale_bar, north_arrow
        self.line_width, self.legend_title = line_width, legend_title

    def wrap(self, available_width, available_height):
        return self.width, self.height

    def _to_page(self, xy: np.ndarray) -> np.ndarray:
        sx, sy = self.width / self.raster_size[0], self.height / self.raster_size[1]
        return np.column_stack([xy[:, 0] * sx, self.height - xy[:, 1] * sy])

    def draw(self) -> None:
        canvas = self.canv
        if self.jpeg is not None:
            canvas.drawImage(ImageReader(io.BytesIO(self.jpeg)), 0, 0, self.width, self.height)
        else:
            canvas.setStrokeColor(GRID)
            canvas.setLineWidth(0.5)
            canvas.rect(0, 0, self.width, self.height, stroke=1, fill=0)
        canvas.saveState()
        clip = canvas.beginPath()
        clip.rect(0, 0, self.width, self.height)
        canvas.clipPath(clip, stroke=0, fill=0)
        canvas.setLineWidth(self.line_width)
        canvas.setLineCap(1)
        canvas.setLineJoin(1)
        # Simplified to a quarter of a point on the page: invisible, and a small file at 10,000 cracks.
        tolerance = 0.25 * self.raster_size[0] / self.width
        for layer in self.layers:
            canvas.setStrokeColor(colors.HexColor(layer.colour))
            canvas.setLineWidth(layer.line_width or self.line_width)
            path = canvas.beginPath()
            for line in layer.lines:
                if len(line) < 2:
                    continue
                kept = cv2.approxPolyDP(np.ascontiguousarray(line, np.float32).reshape(-1, 1, 2), tolerance, False)
                points = self._to_page(kept.reshape(-1, 2).astype(np.float64))
                path.moveTo(*points[0])
                for x, y in points[1:]:
                    path.lineTo(x, y)
            canvas.drawPath(path, stroke=1, fill=0)
        canvas.restoreState()
        self._legend()
        self._scale_bar()
        self._north_arrow()

    def _box(self, x: float, y: float, w: float, h: float) -> None:
        self.canv.setFillColor(colors.Color(1, 1, 1, alpha=0.75))
        self.canv.rect(x, y, w, h, stroke=0, fill=1)

    def _legend(self) -> None:
        if not self.layers:
            return
        canvas, size, row = self.canv, 7.5, 10.0
        width = 28 + max(canvas.stringWidth(layer.name, FONT, size) for layer in self.layers + [MapLayer(self.legend_title, "", [])])
        height = row * (len(self.layers) + 1) + 4
        x, top = 6.0, self.height - 6.0
        self._box(x, top - height, width, height)
        canvas.setFillColor(INK)
        canvas.setFont(FONT + "-Bold", size)
        canvas.drawString(x + 4, top - row, self.legend_title)
        canvas.setFont(FONT, size)
        canvas.setLineWidth(2)
        for i, layer in enumerate(self.layers, start=2):
            y = top - row * i + 2.5
            canvas.setStrokeColor(colors.HexColor(layer.colour))
            canvas.line(x + 4, y, x + 20, y)
            canvas.setFillColor(INK)
            canvas.drawString(x + 24, y - 2.5, layer.name)

    def _scale_bar(self) -> None:
        if self.scale_bar is None:
            return
        label, length_px = self.scale_bar
        canvas = self.canv
        length = length_px * self.width / self.raster_size[0]
        x, y = 0.04 * self.width, 0.05 * self.height
        self._box(x - 4, y - 5, length + 8, 19)
        for colour, width in ((colors.black, 4), (colors.white, 2)):
            canvas.setStrokeColor(colour)
            canvas.setLineWidth(width)
            canvas.setLineCap(0)
            canvas.line(x, y, x + length, y)
        canvas.setFillColor(colors.black)
        canvas.setFont(FONT, 8.5)
        canvas.drawCentredString(x + length / 2, y + 4.5, label)

    def _north_arrow(self) -> None:
        if not self.north_arrow:
            return
        canvas = self.canv
        x, top = self.width - 22, self.height - 8
        self._box(x - 10, top - 36, 20, 36)
        canvas.setFillColor(colors.black)
        arrow = canvas.beginPath()
        arrow.moveTo(x, top - 4)
        arrow.lineTo(x - 6, top - 18)
        arrow.lineTo(x + 6, top - 18)
        arrow.close()
        canvas.drawPath(arrow, stroke=0, fill=1)
        canvas.setLineWidth(2)
        canvas.setStrokeColor(colors.black)
        canvas.line(x, top - 18, x, top - 24)
        canvas.setFont(FONT + "-Bold", 11)
        canvas.drawCentredString(x, top - 34, "N")


@dataclass
class Histogram:
    """Counts of ``values`` in ``edges`` bins, with dashed red lines at ``limits``; values below
    ``floor`` (what the imagery cannot resolve) on a shaded band."""

    values: Sequence[float]
    edges: np.ndarray
    limits: Sequence[float]
    xlabel: str
    ylabel: str
    title: str
    floor: float | None = None


@dataclass
class Bars:
    """One bar per name, coloured."""

    names: Sequence[str]
    values: Sequence[float]
    colours: Sequence[str]
    ylabel: str
    title: str


class ChartRow(Flowable):
    """Charts side by side, each in an equal share of ``width``: axes, 1-2-5 ticks, labels."""

    def __init__(self, charts: Sequence[Histogram | Bars], *, width: float, height: float):
        super().__init__()
        self.charts, self.width, self.height = list(charts), width, height

    def wrap(self, available_width, available_height):
        return self.width, self.height

    def draw(self) -> None:
        share = self.width / len(self.charts)
        for i, chart in enumerate(self.charts):
            self.canv.saveState()
            self.canv.translate(i * share, 0)
            self._panel(chart, share)
            self.canv.restoreState()

    def _panel(self, chart: Histogram | Bars, share: float) -> None:
        canvas = self.canv
        left, bottom, right, top = 40.0, 30.0, share - 12.0, self.height - 16.0
        plot_w, plot_h = right - left, top - bottom
        if isinstance(chart, Histogram):
            counts, edges = np.histogram(np.asarray(chart.values, float), bins=chart.edges)
            x0, x1 = float(edges[0]), float(edges[-1])
            heights, colours = counts.astype(float), ["#555555"] * len(counts)
            lefts = edges[:-1]
            widths = np.diff(edges)
        else:
            x0, x1 = 0.0, float(len(chart.names))
            heights, colours = np.asarray(chart.values, float), list(chart.colours)
            lefts, widths = np.arange(len(chart.names)) + 0.15, np.full(len(chart.names), 0.7)
        y1 = float(heights.max()) if len(heights) and heights.max() > 0 else 1.0
        y_step = nice_step(y1, 4)
        if isinstance(chart, Histogram):
            y_step = max(1.0, math.ceil(y_step))  # counts: whole ticks
        y1 = math.ceil(y1 / y_step) * y_step
        sx, sy = plot_w / (x1 - x0 or 1.0), plot_h / y1

        canvas.setFont(FONT + "-Bold", 8.5)
        canvas.setFillColor(INK)
        canvas.drawCentredString(left + plot_w / 2, self.height - 10, chart.title)
        canvas.setFont(FONT, 7.5)
        canvas.setStrokeColor(GRID)
        canvas.setLineWidth(0.4)
        tick = 0.0
        while tick <= y1 + 1e-9:  # y ticks and light grid lines
            y = bottom + tick * sy
            canvas.line(left - 3, y, left, y)
            canvas.drawRightString(left - 5, y - 2.5, _label(tick))
            tick += y_step
        if isinstance(chart, Histogram) and chart.floor is not None and chart.floor > x0:
            band = (min(chart.floor, x1) - x0) * sx  # widths the imagery cannot resolve
            canvas.setFillColor(colors.HexColor(UNRESOLVED))
            canvas.rect(left, bottom, band, plot_h, stroke=0, fill=1)
            if band > 55:  # room for the words
                canvas.setFillColor(INK)
                canvas.setFont(FONT, 6.5)
                canvas.drawString(left + 2, top - 8, "below resolution")
                canvas.setFont(FONT, 7.5)
        for lx, w, h, colour in zip(lefts, widths, heights, colours):
            if h > 0:
                canvas.setFillColor(colors.HexColor(colour))
                canvas.setStrokeColor(colors.white)
                canvas.setLineWidth(0.5)
                canvas.rect(left + (lx - x0) * sx, bottom, w * sx, h * sy, stroke=1, fill=1)
        canvas.setFillColor(INK)
        if isinstance(chart, Histogram):
            x_step = nice_step(x1 - x0, 5)
            tick = math.ceil(x0 / x_step) * x_step
            canvas.setStrokeColor(GRID)
            canvas.setLineWidth(0.4)
            while tick <= x1 + 1e-9:
                x = left + (tick - x0) * sx
                canvas.line(x, bottom, x, bottom - 3)
                canvas.drawCentredString(x, bottom - 11, _label(round(tick, 10)))
                tick += x_step
            canvas.setStrokeColor(colors.HexColor("#d7191c"))
            canvas.setDash(3, 2)
            canvas.setLineWidth(0.8)
            for limit in chart.limits:
                if x0 <= limit <= x1:
                    x = left + (limit - x0) * sx
                    canvas.line(x, bottom, x, top)
            canvas.setDash()
            xlabel = chart.xlabel
        else:
            for i, name in enumerate(chart.names):
                canvas.drawCentredString(left + (i + 0.5) * sx, bottom - 11, name)
            xlabel = ""
        canvas.setStrokeColor(INK)
        canvas.setLineWidth(0.6)
        canvas.line(left, bottom, right, bottom)
        canvas.line(left, bottom, left, top)
        canvas.setFont(FONT, 8)
        if xlabel:
            canvas.drawCentredString(left + plot_w / 2, 4, xlabel)
        canvas.saveState()
        canvas.translate(9, bottom + plot_h / 2)
        canvas.rotate(90)
        canvas.drawCentredString(0, 0, chart.ylabel)
        canvas.restoreState()
