"""QGIS layer styles stored inside the GeoPackage, so the layers open styled like the PDF.

QGIS reads a ``layer_styles`` table in a GeoPackage and applies the style marked
``useAsDefault`` when the layer is added: ``centerlines`` categorized by ``severity`` in the
report's colours, ``crack_polygons`` the same colours half transparent, ``spots`` grey.
The table is registered in ``gpkg_contents`` as an attributes table, as QGIS itself does.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from xml.sax.saxutils import quoteattr

SEVERITY_PALETTE = ("#2c7bb6", "#fdae61", "#f46d43", "#a50026")  # mildest to worst
UNKNOWN_COLOUR = "#7b3294"


def severity_colours(classes: list[str]) -> dict[str, str]:
    """Colours of a standard's classes, mildest blue to worst dark red (3 or 4 classes), for the
    PDF and the QGIS styles alike."""
    picks = SEVERITY_PALETTE if len(classes) >= 4 else (SEVERITY_PALETTE[0], SEVERITY_PALETTE[2], SEVERITY_PALETTE[3])
    return {**dict(zip(classes, picks)), "unknown": UNKNOWN_COLOUR}


CREATE = """CREATE TABLE IF NOT EXISTS layer_styles (
    id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
    f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT,
    useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), update_time DATETIME)"""


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _symbol(index: int, kind: str, colour: str) -> str:
    if kind == "line":
        layer = (f'<layer class="SimpleLine" enabled="1" locked="0" pass="0"><Option type="Map">'
                 f'<Option type="QString" name="line_color" value="{_rgba(colour, 1)}"/>'
                 f'<Option type="QString" name="line_width" value="0.8"/>'
                 f'<Option type="QString" name="line_width_unit" value="MM"/>'
                 f'<Option type="QString" name="capstyle" value="round"/></Option></layer>')
    else:
        layer = (f'<layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map">'
                 f'<Option type="QString" name="color" value="{_rgba(colour, 0.45)}"/>'
                 f'<Option type="QString" name="outline_color" value="{_rgba(colour, 0.9)}"/>'
                 f'<Option type="QString" name="outline_width" value="0.1"/>'
                 f'<Option type="QString" name="outline_width_unit" value="MM"/></Option></layer>')
    return f'<symbol type="{kind}" name="{index}" alpha="1" clip_to_extent="1" force_rhr="0">{layer}</symbol>'


def categorized_qml(field: str, colours: dict[str, str], kind: str) -> str:
    """A QGIS style: features coloured by ``field`` (categories and colours in order)."""
    categories = "".join(f'<category render="true" symbol="{i}" value={quoteattr(v)} label={quoteattr(v)}/>'
                         for i, v in enumerate(colours))
    symbols = "".join(_symbol(i, kind, c) for i, c in enumerate(colours.values()))
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
            '<qgis version="3.28.0" styleCategories="Symbology">'
            f'<renderer-v2 type="categorizedSymbol" attr="{field}" symbollevels="0" enableorderby="0" forceraster="0">'
            f"<categories>{categories}</categories><symbols>{symbols}</symbols></renderer-v2></qgis>")


def add_layer_styles(gpkg: Path, severity_colours: dict[str, str]) -> None:
    """Write default styles for the crack layers into ``gpkg`` (before it is moved into place)."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    styles = {
        "centerlines": categorized_qml("severity", severity_colours, "line"),
        "crack_polygons": categorized_qml("severity", severity_colours, "fill"),
        "spots": categorized_qml("severity", {"spot": "#808080"}, "fill"),
    }
    with sqlite3.connect(gpkg) as db:
        tables = {row[0] for row in db.execute("SELECT table_name FROM gpkg_contents")}
        db.execute(CREATE)
        if "layer_styles" not in tables:
            db.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, last_change) "
                       "VALUES ('layer_styles', 'attributes', 'layer_styles', ?)", (now,))
        for table, qml in styles.items():
            if table not in tables:
                continue
            db.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                       "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) "
                       "VALUES ('', '', ?, 'geom', ?, ?, '', 1, 'concrete-cracks default', '', '', ?)",
                       (table, table, qml, now))
