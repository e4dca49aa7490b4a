"""The change report: map of both epochs coloured by change, counts, largest changes, the rule."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table

from cracks.atomic import atomic_path
from reports.pdf import SMALL, STYLES, TABLE_STYLE, _figure

CHANGE_COLOURS = {"new": "#d7191c", "extended": "#fdae61", "widened": "#7b3294", "gone": "#2c7bb6",
                  "unchanged": "#9e9e9e"}


def _map(result) -> object:
    frame = result.changes
    fig = Figure(figsize=(7.2, 4.8))
    ax = fig.subplots()
    for change, colour in CHANGE_COLOURS.items():
        part = frame[(frame["change"] == change) & (frame["part"].fillna("crack") == "crack")]
        if len(part):
            part.plot(ax=ax, color=colour, linewidth=1.4, label=f"{change} ({len(part)})")
    added = frame[frame["part"] == "added"]
    if len(added):
        added.plot(ax=ax, color="#000000", linewidth=2.4, label="added length")
    ax.set_aspect("equal")
    ax.legend(loc="upper left", fontsize=7, framealpha=0.8)
    ax.tick_params(labelsize=7)
    return _figure(fig)


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
        Image(_map(result), width=180 * mm, height=120 * mm),
        Paragraph(f"Registration ({reg['source']} phase correlation): the new epoch was shifted by "
                  f"{reg['shift_m'][0] * 1000:+.1f} mm east, {reg['shift_m'][1] * 1000:+.1f} mm north "
                  f"({reg['shift_px'][1]:+.1f}, {reg['shift_px'][0]:+.1f} px) before matching. Matching tolerance "
                  f"{summary['tolerance_m'] * 1000:.1f} mm. A crack is <b>new</b> when at most half of it lies near an "
                  f"old one, <b>gone</b> likewise the other way, <b>extended</b> when it runs beyond the old crack by more "
                  f"than {summary['noise']['length_px']:g} px, <b>widened</b> when its mean width grew by more than "
                  f"{summary['noise']['width_px']:g} px; the noise limits come from measuring one site twice."
                  + (" <b>The two epochs were inspected with different models</b>: part of any change may be the model's."
                     if result.models_differ else ""), SMALL),
    ]
    largest = result.changes[result.changes["change"].isin(["new", "extended", "widened"])
                             & (result.changes["part"].fillna("crack") == "crack")]
    largest = largest.assign(size=largest["growth_m"].fillna(largest["new_length_m"])).nlargest(10, "size")
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
