"""Change between two inspections of one site: which cracks are new, gone, longer or wider.

Inputs are two inspection output folders (``summary.json`` + ``cracks.gpkg``), made with any
model. Steps:

1. **Registration.** Georeferenced surveys of one site are off by centimetres. The residual shift
   is estimated by phase correlation (scikit-image, sub-pixel) of the two orthophotos over their
   overlap (the probability masks when an orthophoto is gone), reported, and applied to the newer
   epoch's geometry before matching.
2. **Matching** within a tolerance of ``tolerance_px`` pixels plus the registration error: a new
   crack lying mostly (``MATCH_FRACTION``) away from every old crack is ``new``; an old crack
   lying mostly away from every new one is ``gone`` (repaired, or missed); a matched crack whose
   centerline runs beyond the old one by more than the length noise is ``extended`` (the added
   parts are their own features), one whose mean width grew by more than the width noise is
   ``widened``, the rest ``unchanged``.

The noise thresholds come from measuring one site twice: ``scripts/compare_noise.py`` inspects
the sample site with 1024 px and 512 px tiles and prints the length and width differences of the
matched cracks; the defaults (``length_noise_px`` 30 px, ``width_noise_px`` 1.5 px) sit above the
largest differences it measured (27 px, 1.03 px; README). ``tests/test_compare.py`` checks that re-tiling gives nothing but
``unchanged``. The thresholds and the tolerance are stated in ``changes.json``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
import shapely.affinity
from rasterio.windows import from_bounds

from cracks.atomic import write_json
from cracks.errors import InputError
from cracks.inspect.summary import SiteSummary
from tiling.ground import coordinates_are_ground_metres

MATCH_FRACTION = 0.5
CHANGES = ("new", "gone", "extended", "widened", "unchanged")
MAX_REGISTRATION_PX = 2048


@dataclass(frozen=True)
class CompareSettings:
    tolerance_px: float = 3.0
    length_noise_px: float = 30.0  # above the 27 px max measured re-tiling the sample site
    width_noise_px: float = 1.5  # above the 1.03 px max measured there


@dataclass
class Epoch:
    folder: Path
    summary: SiteSummary
    cracks: gpd.GeoDataFrame
    footprint: shapely.Geometry

    @property
    def gsd_m(self) -> float:
        return float(self.summary.gsd_m)


@dataclass(frozen=True)
class Registration:
    shift_px: tuple[float, float]  # (row, col) that moves the new epoch onto the old one
    shift_map: tuple[float, float]  # (east, north) in the site CRS's units (feet, degrees, metres)
    shift_m: tuple[float, float]  # (east, north) in ground metres
    error: float  # phase-correlation error (0 = perfect)
    source: str  # "orthophoto" or "mask"


@dataclass
class Comparison:
    old: str
    new: str
    old_date: str
    new_date: str
    registration: Registration
    tolerance_m: float
    settings: CompareSettings
    changes: gpd.GeoDataFrame = field(repr=False)
    inspection_differs: list[str] = field(default_factory=list)  # of "model", "threshold", "inference"

    @property
    def models_differ(self) -> bool:
        return "model" in self.inspection_differs

    def to_dict(self) -> dict:
        frame = self.changes[self.changes["part"].fillna("crack") != "added"]  # one row per crack
        counts = {c: int((frame["change"] == c).sum()) for c in CHANGES}
        lengths = {c: float(frame.loc[frame["change"] == c, "new_length_m"].fillna(0).sum()) for c in CHANGES}
        lengths["gone"] = float(frame.loc[frame["change"] == "gone", "old_length_m"].fillna(0).sum())
        return {
            "old": self.old, "new": self.new, "old_date": self.old_date, "new_date": self.new_date,
            "models_differ": self.models_differ, "inspection_differs": self.inspection_differs, "counts": counts, "length_m": lengths,
            "new_length_m": lengths["new"], "extended_length_m": float(frame["growth_m"].fillna(0).clip(lower=0)
                                                                     .loc[frame["change"] == "extended"].sum()),
            "registration": asdict(self.registration), "tolerance_m": self.tolerance_m,
            "noise": {"length_px": self.settings.length_noise_px, "width_px": self.settings.width_noise_px,
                      "tolerance_px": self.settings.tolerance_px},
        }


def load_epoch(folder: Path) -> Epoch:
    folder = Path(folder)
    summary_path, gpkg = folder / "summary.json", folder / "cracks.gpkg"
    for path in (summary_path, gpkg):
        if not path.is_file():
            raise InputError(folder, f"not an inspection output folder (no {path.name})")
    summary = SiteSummary.read(summary_path)
    if not summary.georeferenced:
        raise InputError(folder, "the inspection is not georeferenced: epochs can only be compared in map coordinates")
    cracks = gpd.read_file(gpkg, layer="centerlines", engine="pyogrio")
    site = gpd.read_file(gpkg, layer="site", engine="pyogrio")
    return Epoch(folder, summary, cracks, shapely.union_all(site.geometry.values))


def _grey_window(path: Path, bounds: tuple[float, float, float, float], band_mask: bool) -> tuple[np.ndarray, object]:
    with rasterio.open(path) as src:
        window = from_bounds(*bounds, transform=src.transform).round_offsets().round_lengths()
        if window.width > MAX_REGISTRATION_PX or window.height > MAX_REGISTRATION_PX:  # the centre is enough
            window = rasterio.windows.Window(window.col_off + max(0, (window.width - MAX_REGISTRATION_PX) // 2),
                                             window.row_off + max(0, (window.height - MAX_REGISTRATION_PX) // 2),
                                             min(window.width, MAX_REGISTRATION_PX), min(window.height, MAX_REGISTRATION_PX))
        data = src.read(window=window, boundless=True, fill_value=0).astype(np.float32)
        return (data[0] if band_mask else data[:3].mean(axis=0)), src.transform


def register(old: Epoch, new: Epoch, metric) -> Registration:
    """Shift of the new epoch onto the old one, by phase correlation over the overlap, in the
    site CRS's units (to move the new layers) and in ground metres (``metric``: :func:`metric_crs`)."""
    from skimage.registration import phase_cross_correlation

    overlap = old.footprint.intersection(new.footprint)
    if overlap.is_empty or overlap.area <= 0:
        raise InputError(new.folder, f"does not overlap {old.folder}: not the same site")
    bounds = overlap.bounds
    sources = [(Path(old.summary.input), Path(new.summary.input), "orthophoto", False),
               (old.folder / "mask.tif", new.folder / "mask.tif", "mask", True)]
    for old_path, new_path, source, is_mask in sources:
        if old_path.is_file() and new_path.is_file():
            break
    else:
        raise InputError(new.folder, "neither the orthophotos nor the masks of both epochs can be read for registration")
    reference, _ = _grey_window(old_path, bounds, is_mask)
    moving, transform = _grey_window(new_path, bounds, is_mask)
    h, w = min(reference.shape[0], moving.shape[0]), min(reference.shape[1], moving.shape[1])
    shift, error, _ = phase_cross_correlation(reference[:h, :w], moving[:h, :w], upsample_factor=10)
    dy, dx = float(shift[0]), float(shift[1])
    east = transform.a * dx + transform.b * dy
    north = transform.d * dx + transform.e * dy
    crs = old.cracks.crs
    shift_m = (east, north) if metric == crs else _in_metres((east, north), old.footprint.centroid, crs, metric)
    return Registration((dy, dx), (east, north), shift_m, float(error), source)


def metric_crs(epoch: Epoch):
    """The CRS to match in: the site's own where its coordinates are ground metres (UTM, national
    grids), else the UTM zone of the site (degrees, feet, Web Mercator's stretched metres):
    tolerances, growth and shifts are lengths on the ground."""
    crs = epoch.cracks.crs
    if coordinates_are_ground_metres(crs, epoch.summary.processing.get("map_scale", 1.0)):
        return crs
    return gpd.GeoSeries([epoch.footprint], crs=crs).estimate_utm_crs()


def _in_metres(shift_map: tuple[float, float], at: shapely.Point, crs, metric) -> tuple[float, float]:
    """A shift in the site CRS's units as (east, north) ground metres at ``at``."""
    moved = shapely.affinity.translate(at, *shift_map)
    a, b = gpd.GeoSeries([at, moved], crs=crs).to_crs(metric)
    return float(b.x - a.x), float(b.y - a.y)


def compare(old_dir: Path, new_dir: Path, settings: CompareSettings = CompareSettings()) -> Comparison:
    old, new = load_epoch(old_dir), load_epoch(new_dir)
    if old.cracks.crs is None or new.cracks.crs is None or not old.cracks.crs.equals(new.cracks.crs):
        if old.cracks.crs is not None and new.cracks.crs is not None:
            new.cracks = new.cracks.to_crs(old.cracks.crs)
            new.footprint = gpd.GeoSeries([new.footprint], crs=new.cracks.crs).to_crs(old.cracks.crs).iloc[0]
        else:
            raise InputError(new_dir, "the two epochs have no common coordinate reference system")
    site_crs, metric = old.cracks.crs, metric_crs(old)  # match in ground metres; write back in the site's CRS
    registration = register(old, new, metric)
    moved = new.cracks.copy()
    moved["geometry"] = moved.geometry.translate(*registration.shift_map)
    gsd = max(old.gsd_m, new.gsd_m)
    residual = float(np.hypot(*registration.shift_m)) * 0.1  # sub-pixel registration: a tenth of the shift as error
    tolerance = settings.tolerance_px * gsd + residual
    rows = _changes(old.cracks.to_crs(metric), moved.to_crs(metric), tolerance, gsd, settings)
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=metric,
                             columns=["change", "old_id", "new_id", "old_length_m", "new_length_m", "growth_m",
                                      "old_width_mm", "new_width_mm", "width_growth_mm", "part", "geometry"]).to_crs(site_crs)
    return Comparison(str(old_dir), str(new_dir), old.summary.processing["date"], new.summary.processing["date"],
                      registration, tolerance, settings, frame, inspection_differences(old.summary, new.summary))


# What of the inspection itself can make cracks appear or vanish between epochs of an unchanged
# site. Tiling is not among them: seams are blended away (the same orthophoto retiled is unchanged).
INSPECTION_SETTINGS: dict[str, Callable[[SiteSummary], object]] = {
    "model": lambda s: s.model.get("trained"),
    "threshold": lambda s: s.model.get("threshold"),
    "inference": lambda s: s.processing.get("inference"),  # backend, precision, mirror averaging
}


def inspection_differences(old: SiteSummary, new: SiteSummary) -> list[str]:
    """The inspection settings in which two epochs differ: a change report must say that part of
    what changed may be the inspection's, not the structure's."""
    return [name for name, value in INSPECTION_SETTINGS.items() if value(old) != value(new)]


def _near_fraction(line, others_buffer) -> float:
    if line.length == 0:
        return 0.0
    return float(line.intersection(others_buffer).length / line.length)


def _changes(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, tolerance: float, gsd: float,
             settings: CompareSettings) -> list[dict]:
    old_union = shapely.union_all(old.geometry.values).buffer(tolerance) if len(old) else shapely.Polygon()
    new_union = shapely.union_all(new.geometry.values).buffer(tolerance) if len(new) else shapely.Polygon()
    rows = []
    old_index = old.sindex
    for _, crack in new.iterrows():
        line = crack.geometry
        base = {"new_id": int(crack["crack_id"]), "new_length_m": float(crack["length_m"]),
                "new_width_mm": float(crack["width_mean_mm"])}
        around = line.buffer(tolerance)
        candidates = old.iloc[old_index.query(around, predicate="intersects")]
        # the same crack: the new one lies mostly on old cracks, or an old one lies mostly on it (it grew)
        grown_from = [o for o in candidates.itertuples() if _near_fraction(o.geometry, around) >= MATCH_FRACTION]
        if _near_fraction(line, old_union) < MATCH_FRACTION and not grown_from:
            rows.append({**base, "change": "new", "geometry": line})
            continue
        partner = max(candidates.itertuples(), key=lambda o: o.geometry.buffer(tolerance).intersection(line).length)
        match = {**base, "old_id": int(partner.crack_id), "old_length_m": float(partner.length_m),
                 "old_width_mm": float(partner.width_mean_mm)}
        added = line.difference(old_union)
        added_length = float(added.length)
        match["growth_m"] = added_length
        match["width_growth_mm"] = match["new_width_mm"] - match["old_width_mm"]
        if added_length > settings.length_noise_px * gsd:
            rows.append({**match, "change": "extended", "geometry": line})
            rows.append({**match, "change": "extended", "part": "added", "geometry": added})
        elif match["width_growth_mm"] > settings.width_noise_px * gsd * 1000:
            rows.append({**match, "change": "widened", "geometry": line})
        else:
            rows.append({**match, "change": "unchanged", "geometry": line})
    for _, crack in old.iterrows():
        if _near_fraction(crack.geometry, new_union) < MATCH_FRACTION:
            rows.append({"change": "gone", "old_id": int(crack["crack_id"]), "old_length_m": float(crack["length_m"]),
                         "old_width_mm": float(crack["width_mean_mm"]), "geometry": crack.geometry})
    return rows


def write_comparison(result: Comparison, out: Path) -> dict[str, Path]:
    """``changes.gpkg`` (layer ``changes``), ``changes.geojson``, ``changes.json``, ``change-report.pdf``."""
    from reports.change_report import write_change_report
    from reports.vector import write_geojson, write_geopackage

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frame = result.changes.copy()
    frame["part"] = frame["part"].fillna("crack")
    outputs = {
        "gpkg": write_geopackage({"changes": frame}, out / "changes.gpkg"),
        "geojson": write_geojson(frame, out / "changes.geojson", True, name="changes"),
        "json": write_json(out / "changes.json", result.to_dict()),
    }
    outputs["report"] = write_change_report(result, out / "change-report.pdf")
    return outputs
