"""The per-site PDF condition report (reportlab: layout, and figures drawn as vectors by reports.figures).

Page 1: what was inspected and with what, the condition rating and why, the overview map
(orthophoto, cracks coloured by severity, scale bar and north arrow when georeferenced) and the
summary figures. Page 2: width histogram, length by severity, the widest and longest cracks
with coordinates, and the processing details an engineer needs to sign off or reproduce it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cracks.atomic import atomic_path
from cracks.standards import WIDTH_FLOOR_PX, width_floor_mm
from reports.figures import Bars, ChartRow, Histogram, MapLayer, OverviewMap, nice_length
from reports.styles import severity_colours
from tiling.preview import Preview, preview_grid

# Images go into the PDF as binary streams: reportlab's ASCII85 text encoding runs in pure Python
# here (no C accelerator in the wheel) and took half a second per report, for a larger file.
rl_config.useA85 = 0

RATING_COLOURS = {"good": "#1a9641", "fair": "#e6a100", "poor": "#d7191c", "unrated": "#777777"}
STYLES = getSampleStyleSheet()
SMALL = ParagraphStyle("small", parent=STYLES["BodyText"], fontSize=8, leading=10)
TABLE_STYLE = TableStyle([
    ("FONT", (0, 0), (-1, -1), "Helvetica", 8.5),
    ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8.5),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
])


def _fmt(value, digits: int = 2, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return f"{value}{unit}"


def overview_map(info, measurement, classes: list[str], *, width: float, height: float,
                 preview: Preview | None = None) -> OverviewMap:
    """The orthophoto at about ``tiling.preview.MAX_SIDE_PX`` under the cracks coloured by severity: sampled while
    segmenting (``preview``), or else read decimated (a resumed or distributed run)."""
    if preview is not None and preview.complete:
        image = preview.image
    else:
        _, shape = preview_grid(info.width, info.height)
        with rasterio.open(info.path) as src:
            data = src.read(info.rgb_bands, out_shape=(3, *shape))
        image = np.moveaxis(np.clip(data.astype(np.float32) * info.scale, 0, 255).astype(np.uint8), 0, -1)
    colours = severity_colours(classes)
    layers = [MapLayer(severity, colours[severity],
                       [p[:, ::-1] + 0.5 for c in measurement.cracks if c.severity == severity for p in c.paths])
              for severity in (*classes, "unknown")]
    scale_bar = None
    if info.pixel_size_m:
        bar_m = nice_length(info.width * info.pixel_size_m / 5)
        scale_bar = (f"{bar_m:g} m" if bar_m >= 1 else f"{bar_m * 100:g} cm", bar_m / info.pixel_size_m)
    return OverviewMap(image, (info.width, info.height), layers, width=width, height=height,
                       scale_bar=scale_bar, north_arrow=info.georeferenced)


def width_axis_end(widths: list[float], limits: list[float]) -> float:
    """Where the width histogram's axis ends: past the widest crack, and past a class limit only
    when it is near. (ASTM's 75 mm on a road whose cracks are 3-9 mm wide left every bar a
    white-edged sliver: an empty-looking chart.)"""
    upper = max(widths, default=1.0) * 1.15 or 1.0
    return max([upper] + [limit * 1.05 for limit in limits if limit <= upper * 1.5])


def charts(measurement, summary, *, width: float, height: float) -> ChartRow:
    """Width distribution (class limits dashed) and crack length by severity."""
    metric = summary.gsd_m is not None
    statistic = summary.standard["width_statistic"].replace("_mm", "")  # width_mean or width_p95
    widths = [getattr(c, f"{statistic}_mm") if metric else getattr(c, f"{statistic}_px") for c in measurement.cracks]
    limits = list(summary.processing["severity_limits_mm"]) if metric else []
    upper = width_axis_end(widths, limits)
    label = "mean" if statistic == "width_mean" else "95th percentile"
    names = list(summary.by_severity) if metric else ["unknown"]  # no GSD: no width classes
    lengths = [summary.by_severity[n]["length_m"] for n in names] if metric else [summary.total_length_px]
    colours = severity_colours(summary.standard["classes"])
    floor_px = summary.model.get("width_floor_px", WIDTH_FLOOR_PX)  # no crack is measured narrower
    floor = width_floor_mm(summary.gsd_m, floor_px) if metric else floor_px
    shaded = "; shaded: finer than the imagery resolves" if floor < upper else ""
    return ChartRow([
        Histogram(widths, np.linspace(0, upper, 21), [lim for lim in limits if lim <= upper],
                  f"crack width, {label} (" + ("mm" if metric else "px") + ")" + shaded, "cracks", "Width distribution",
                  floor=floor),
        Bars(names, lengths, [colours[n] for n in names], "length (" + ("m" if metric else "px") + ")",
             "Crack length by severity"),
    ], width=width, height=height)


def _crack_rows(info, cracks, key, n=8) -> list[list[str]]:
    metric = info.pixel_size_m is not None
    rows = [["id", "length", "mean width", "p95 width", "severity", "orientation", "x", "y", "confidence"]]
    for c in sorted(cracks, key=key, reverse=True)[:n]:
        path = max(c.paths, key=len)
        row, col = path[len(path) // 2]
        x, y = info.transform @ (col + 0.5, row + 0.5)
        length = f"{c.length_m:.2f} m" if metric else f"{c.length_px:.0f} px"
        mean = f"{c.width_mean_mm:.2f} mm" if metric else f"{c.width_mean_px:.1f} px"
        p95 = f"{c.width_p95_mm:.2f} mm" if metric else f"{c.width_p95_px:.1f} px"
        severity = f"{c.severity} (spacing)" if c.severity_basis == "spacing" else c.severity
        rows.append([str(c.crack_id), length, mean, p95, severity, f"{c.orientation_class} ({round(c.orientation_deg) % 180}°)",
                     f"{x:,.2f}", f"{y:,.2f}", "n/a" if c.confidence is None else f"{c.confidence:.2f}"])
    return rows


def _on_page(canvas, doc, site: str, date: str) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 7.5)
    canvas.setFillColor(colors.grey)
    canvas.drawString(15 * mm, 10 * mm, f"Crack condition report · {site} · {date}")
    canvas.drawRightString(195 * mm, 10 * mm, f"page {doc.page}")
    canvas.restoreState()


def _inference_note(inference: str) -> str:
    """What the passes named in ``processing.inference`` did, in words (nothing for a plain pass)."""
    from cracks.models.passes import Passes

    _, plus, named = inference.partition(" + ")
    try:
        passes = Passes.parse(plus + named)
    except ValueError:  # a summary written by another version: say nothing rather than guess
        return ""
    notes = []
    if passes.tta:
        notes.append("each tile averaged with its mirror image where that can change a decision")
    if passes.half_scale:
        from cracks.models.scale_check import REACH_PX

        notes.append(f"a crack kept only where the tile seen at half resolution also shows one within {REACH_PX} px")
    return (": " + "; ".join(notes)) if notes else ""


def _sharpness_text(sharpness: dict | None) -> str:
    """The edge rise measured on the orthophoto (cracks.sharpness), as the report states it."""
    if not sharpness:
        return "not measured"
    if sharpness["edge_rise_px"] is None:
        return f"not measurable (only {sharpness['edges']} strong edges)"
    verdict = "soft: widths too large" if sharpness["soft"] else "sharp enough"
    return (f"edges rise over {sharpness['edge_rise_px']:.1f} px ({verdict}; a sharp photo about {sharpness['sharp_px']:g} px, "
            f"soft above {sharpness['soft_above_px']:g} px)")


def write_report(info, measurement, summary: dict, target: Path, *, preview: Preview | None = None) -> Path:
    metric = summary.gsd_m is not None
    date = summary.processing["date"][:10]
    condition = summary.condition
    story = [
        Paragraph(f"Crack condition report: {summary.site}", STYLES["Title"]),
        Paragraph(f"Inspection date {date} · input <i>{info.path.name}</i>", STYLES["BodyText"]),
        Spacer(1, 3 * mm),
    ]
    rows = [[f"Condition: {condition['rating'].upper()}"], [Paragraph(condition["rule"], SMALL)]]
    if condition.get("caveat"):  # the imagery cannot resolve some width classes: said where the rating is read
        rows.append([Paragraph(f"<b>Resolution:</b> {condition['caveat']}.", SMALL)])
    rating = Table(rows, colWidths=[180 * mm])
    rating.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(RATING_COLOURS[condition["rating"]])),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white), ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 13),
        ("BOX", (0, 0), (-1, -1), 0.5, colors.grey),
    ]))
    story += [rating, Spacer(1, 3 * mm)]
    if not info.georeferenced:
        story.append(Paragraph(
            "<b>Not georeferenced:</b> the input has no CRS or transform. Coordinates are pixel columns and rows"
            + (f"; lengths and widths use the given ground sample distance ({summary.gsd_m * 1000:g} mm/px)." if metric
               else "; lengths and widths are in pixels and no condition rating is possible."), SMALL))
    full_width = 180 * mm
    height = full_width * min(info.height / info.width, 1.1)  # tall sites: at most 1.1 widths high
    width = min(full_width, height * info.width / info.height)
    story += [overview_map(info, measurement, summary.standard["classes"], width=width, height=height, preview=preview),
              Spacer(1, 2 * mm)]
    length_unit = "m" if metric else "px"
    facts = [
        ["Figure", "Value"],
        ["Cracks", str(summary.n_cracks)],
        ["Spots (not counted as cracks)", str(summary.n_spots)],
        ["Total crack length", _fmt(summary.total_length_m if metric else summary.total_length_px, 2, f" {length_unit}")],
        ["Analysed area (valid pixels)", _fmt(summary.analysed_area_m2, 2, " m²") if metric else f"{summary.analysed_area_px:,} px"],
        ["Crack density", _fmt(summary.density_m_per_m2, 3, " m/m²")],
        ["Widest crack (max)", _fmt(summary.max_width_mm, 2, " mm") if metric else _fmt(summary.max_width_px, 1, " px")],
    ]
    severity = [["Severity", "Cracks", "Length"]] + ([
        [name, str(v["count"]), _fmt(v["length_m"], 2, " m")] for name, v in summary.by_severity.items()] if metric else [
        ["unknown (no GSD)", str(summary.n_cracks), _fmt(summary.total_length_px, 0, " px")]])
    tables = Table([[Table(facts, style=TABLE_STYLE, colWidths=[50 * mm, 35 * mm]),
                     Table(severity, style=TABLE_STYLE, colWidths=[30 * mm, 20 * mm, 30 * mm])]],
                   colWidths=[92 * mm, 88 * mm], style=[("VALIGN", (0, 0), (-1, -1), "TOP")])
    story += [KeepTogether([Paragraph("Summary", STYLES["Heading2"]), tables])]
    if summary.truth:
        t = summary.truth
        story.append(Paragraph(
            f"<b>Check against ground truth</b> ({Path(t['truth']).name}): Dice {t['dice']:.3f}, IoU {t['iou']:.3f}, "
            f"precision {t['precision']:.3f}, recall {t['recall']:.3f} (pixel-wise, valid area); "
            f"Dice {t.get('dice_tolerance_2px', float('nan')):.3f} when a crack pixel within 2 px of the drawn one counts "
            f"as found (annotations are uncertain by about that much).", STYLES["BodyText"]))
        if t.get("cracks"):
            c = t["cracks"]
            agreement = "n/a" if c["width_class_agreement"] is None else f"{c['width_class_agreement']:.0%}"
            story.append(Paragraph(
                f"<b>Crack by crack</b>: {c['records']} records for {c['true_cracks']} drawn cracks; "
                f"{c['matched_records']} records lie on a drawn crack (precision {c['precision']:.2f}), "
                f"{c['found_true_cracks']} drawn cracks found (recall {c['recall']:.2f}), "
                f"{c['records_per_true_crack']:.1f} records per found crack, {c.get('records_on_two_cracks', 0)} "
                f"lying on two drawn cracks; total length {c['length_error']:+.0%} "
                f"against the drawn centerlines; severity class agrees for {agreement} of the matched records "
                f"(tolerance {c['tolerance_px']:g} px).", STYLES["BodyText"]))
    story += [KeepTogether([Paragraph("Crack statistics", STYLES["Heading2"]),
                            charts(measurement, summary, width=180 * mm, height=63 * mm)])]
    coords = "map coordinates (" + (summary.crs or "") + ")" if info.georeferenced else "pixel column / row"
    width_px = summary.standard["width_statistic"].replace("_mm", "_px")  # the statistic the standard grades by
    tables = [("Widest cracks", (lambda c: getattr(c, width_px))), ("Longest cracks", (lambda c: c.length_px))]
    if any(c.confidence is not None for c in measurement.cracks):  # the model's least sure records: check these first
        tables.append(("Least confident cracks, to check first", lambda c: -(c.confidence or 1.0)))
    for title, key in tables:
        if measurement.cracks:
            story += [KeepTogether([Paragraph(f"{title} (x, y at the crack's midpoint, {coords})", STYLES["Heading3"]),
                                    Table(_crack_rows(info, measurement.cracks, key), style=TABLE_STYLE, repeatRows=1)])]
    model = summary.model
    valid = model.get("valid_metrics") or {}
    processing = summary.processing
    details = [
        ["Detail", "Value"],
        ["Input", f"{info.path.name} ({info.width} x {info.height} px, {info.count} bands, {info.dtype})"],
        ["CRS / ground sample distance", f"{summary.crs or 'none'} / " + (f"{summary.gsd_m * 1000:.2f} mm per pixel" if metric else "pixels")
         + (f" on the ground (a map metre is {info.map_scale:.3f} m here)" if info.map_scale != 1.0 else "")],
        ["Input SHA-256", summary.input_sha256[:32] + "…"],
        ["Imagery sharpness", _sharpness_text((summary.imagery or {}).get("sharpness"))],
        ["Model", f"{model['arch']} / {model['encoder']}, trained {model['trained'][:10]}"
                  + (f", weights SHA-256 {model['weights_sha256'][:12]}" if model.get("weights_sha256") else "")],
        ["Model validation scores", f"Dice {valid.get('dice', float('nan')):.3f}, IoU {valid.get('iou', float('nan')):.3f}" if valid else "n/a"],
        ["Decision threshold", f"{model['threshold']:.2f}"],
        ["Inference", Paragraph(f"{processing.get('inference') or 'n/a'}" + _inference_note(processing.get("inference", "")), SMALL)],
        ["Tiling", f"{processing['tile']} px tiles, {processing['overlap']} px overlap, {processing['windows']} windows, blended"],
        ["Standard", Paragraph(f"{summary.standard['title']}: {summary.standard['description']}. "
                               f"Source: {summary.standard['source']}."
                               + (f" Note: {summary.standard['note']}." if summary.standard['note'] else ""), SMALL)],
        ["Crack records", Paragraph(f"fragments facing each other across gaps up to {processing['link_gap_mm']:g} mm "
                                    f"linked ({summary.n_fragments_linked} fragments joined); regions shorter "
                                    f"than {processing['min_crack_mm']:g} mm or than {processing['min_elongation']:g} "
                                    "times their mean width are spots, outside every crack figure", SMALL)],
        ["Processing time", f"{processing['seconds']:.1f} s, concrete-cracks {processing['package_version']}"],
    ]
    story += [KeepTogether([Paragraph("Processing details", STYLES["Heading3"]),
                            Table(details, style=TABLE_STYLE, colWidths=[50 * mm, 130 * mm])]),
              Spacer(1, 3 * mm),
              Paragraph("Lengths follow crack centerlines (skeleton graph, spurs pruned); widths come from the distance "
                        "transform along the centerline, mean width from crack area over length. Automated results: "
                        "verify critical cracks on site before acting on them.", SMALL)]
    with atomic_path(target) as tmp:
        doc = SimpleDocTemplate(str(tmp), pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=14 * mm,
                                bottomMargin=16 * mm, title=f"Crack condition report: {summary.site}",
                                author="concrete-cracks")
        page = lambda canvas, d: _on_page(canvas, d, summary.site, date)  # noqa: E731
        doc.build(story, onFirstPage=page, onLaterPages=page)
    return target
