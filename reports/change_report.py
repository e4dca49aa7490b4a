"""The change report: map of both epochs coloured by change, counts, largest changes, the rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

from cracks.atomic import atomic_path
from reports.figures import MapLayer, OverviewMap, nice_length
from reports.pdf import SMALL, STYLES, TABLE_STYLE

CHANGE_COLOURS = {"new": "#d7191c", "extended": "#fdae61", "widened": "#7b3294", "gone": "#2c7bb6",
                  "unchanged": "#9e9e9e", "outside": "#d9d9d9"}


def _lines(geometries, x0: float, y1: float) -> list[np.ndarray]:
    """Map-coordinate lines as arrays measured from the map's top-left corner, y down."""
    parts = shapely.get_parts(np.asarray(list(geometries), dtype=object))
    return [np.column_stack([xy[:, 0] - x0, y1 - xy[:, 1]])
            for xy in (shapely.get_coordinates(line) for line in parts) if len(xy) >= 2]


def _map(result, *, width: float = 180 * mm, max_height: float = 120 * mm) -> OverviewMap:
    """Both epochs' cracks coloured by change, the length added to extended cracks in black."""
    frame = result.changes
    crack = frame["part"].ne("added")  # whole cracks; "added" rows are the length an extended crack gained
    boxes = ([frame.total_bounds] if len(frame) else []) + ([result.compared_area.bounds] if result.compared_area else [])
    boxes = np.array(boxes or [(0.0, 0.0, 1.0, 1.0)])
    minx, miny, maxx, maxy = *boxes[:, :2].min(axis=0), *boxes[:, 2:].max(axis=0)
    pad = 0.03 * max(maxx - minx, maxy - miny, 1e-9)
    x0, y1, extent = minx - pad, maxy + pad, (maxx - minx + 2 * pad, maxy - miny + 2 * pad)
    layers = []
    for change, colour in CHANGE_COLOURS.items():
        part = frame[(frame["change"] == change) & crack]
        layers.append(MapLayer(f"{change} ({len(part)})", colour, _lines(part.geometry, x0, y1)))
    added = frame[frame["part"] == "added"]
    layers.append(MapLayer("added length", "#000000", _lines(added.geometry, x0, y1), line_width=2.4))
    if result.compared_area is not None:  # where both epochs have data: the rest is "outside"
        layers.append(MapLayer("compared area", "#4d4d4d", _lines([result.compared_area.boundary], x0, y1), line_width=0.6))
    height = min(max_height, width * extent[1] / extent[0])
    scale_bar = None
    if frame.crs is not None and frame.crs.axis_info and frame.crs.axis_info[0].unit_name in ("metre", "meter"):
        bar = nice_length(extent[0] / 5)
        scale_bar = (f"{bar:g} m" if bar >= 1 else f"{bar * 100:g} cm", bar)
    return OverviewMap(None, extent, layers, width=min(width, height * extent[0] / extent[1]), height=height,
                       scale_bar=scale_bar, north_arrow=frame.crs is not None, line_width=1.4, legend_title="change")


def write_change_report(result, target: Path) -> Path:
    summary = result.to_dict()
    counts = summary["counts"]
    reg = summary["registration"]
    story = [
        Paragraph("Crack change report", STYLES["Title"]),
        Paragraph(f"Old epoch <i>{result.old}</i> ({result.old_date[:10]}) · new epoch <i>{result.new}</i> "
                  f"({result.new_date[:10]})", STYLES["BodyText"]),
        Spacer(1, 3 * mm),
        Table([["Change", "Cracks", "Length"]] + [[c, str(counts[c]), f"{summary['length_m'][c]:.2f} m"] for c in counts],
              style=TABLE_STYLE),
        Spacer(1, 3 * mm),
        _map(result),
        Paragraph(f"Registration ({reg['source']} phase correlation): the new epoch was shifted by "
                  f"{reg['shift_m'][0] * 1000:+.1f} mm east, {reg['shift_m'][1] * 1000:+.1f} mm north "
                  f"({reg['shift_px'][1]:+.1f}, {reg['shift_px'][0]:+.1f} px) before matching; the epochs correlate "
                  f"{reg['correlation']:.2f} with the shift, {reg['correlation_unshifted']:.2f} without. Matching tolerance "
                  f"{summary['tolerance_m'] * 1000:.1f} mm. A crack is <b>new</b> when at most half of it lies near an "
                  f"old one, <b>gone</b> likewise the other way, <b>extended</b> when it runs beyond the old crack by more "
                  f"than {summary['noise']['length_px']:g} px (inside the compared area), <b>outside</b> when most of it lies "
                  f"where only one epoch has data (neither new nor gone: the other survey did not see it), "
                  f"<b>widened</b> when its mean width grew by more than "
                  f"{summary['noise']['width_px']:g} px, on the ground and in its own epoch's pixels; the noise limits "
                  f"come from measuring one site twice. Pixel size {result.pixel_size_mm[0]:.3g} mm (old), "
                  f"{result.pixel_size_mm[1]:.3g} mm (new)."
                  + (f" <b>Registration uncertain</b>: {result.registration_doubt}." if result.registration_doubt else "")
                  + (f" <b>The two epochs were inspected differently</b> ({', '.join(result.inspection_differs)}): "
                     "part of any change may be the inspection's, not the structure's."
                     if result.inspection_differs else ""), SMALL),
    ]
    largest = result.changes[result.changes["change"].isin(["new", "extended", "widened"])
                             & result.changes["part"].ne("added")]
    size = largest["growth_m"].fillna(largest["new_length_m"]).astype(float)  # object dtype when nothing changed
    largest = largest.assign(size=size).nlargest(10, "size")
    if len(largest):
        rows = [["change", "new id", "old id", "length", "growth", "width change"]]
        for r in largest.itertuples():
            rows.append([r.change, str(r.new_id), "" if r.old_id != r.old_id else str(int(r.old_id)),
                         f"{r.new_length_m:.2f} m", f"{r.size:.2f} m",
                         "" if r.width_growth_mm != r.width_growth_mm else f"{r.width_growth_mm:+.2f} mm"])
        story += [Paragraph("Largest changes", STYLES["Heading3"]), Table(rows, style=TABLE_STYLE, repeatRows=1)]
    with atomic_path(target) as tmp:
        SimpleDocTemplate(str(tmp), pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=14 * mm,
                          bottomMargin=16 * mm, title="Crack change report").build(story)
    return target
