"""Change between two inspections of one site: which cracks are new, gone, longer or wider.

Inputs are two inspection output folders (``summary.json`` + ``cracks.gpkg``), made with any
model. Steps:

1. **Registration.** Georeferenced surveys of one site are off by centimetres. The residual shift
   is estimated by phase correlation (scikit-image, sub-pixel) of the two orthophotos over their
   overlap (the probability masks when an orthophoto is gone or is no longer the file inspected),
   reported, and applied to the newer epoch's geometry before matching.
2. **Matching**, only where both epochs have data (:func:`compared_area`; a crack mostly outside
   it is ``outside``), within a tolerance of ``tolerance_px`` pixels plus the registration error: a new
   crack lying mostly (``MATCH_FRACTION``) away from every old crack is ``new``; an old crack
   lying mostly away from every new one is ``gone`` (repaired, or missed); a matched crack whose
   centerline runs beyond the old one by more than the length noise is ``extended`` (the added
   parts are their own features), one whose mean width grew by more than the width noise, on the
   ground and in its epoch's own pixels alike, is ``widened``, the rest ``unchanged``.

The noise thresholds come from measuring one site twice: ``scripts/compare_noise.py`` inspects
the sample site with 1024 px and 512 px tiles and prints the length and width differences of the
matched cracks (``--rotated``: the same pixels turned a quarter); the defaults (``length_noise_px``
30 px, ``width_noise_px`` 2.5 px) sit above the largest width differences it measured with the
shipped model (1.68 px retiled, 2.23 px turned) and above the length differences but for one
record linked to a neighbour in one run only (README). ``tests/test_compare.py`` checks that re-tiling gives nothing but
``unchanged``. The thresholds and the tolerance are stated in ``changes.json``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
import shapely.affinity
from affine import Affine

from cracks.atomic import write_json
from cracks.errors import InputError
from cracks.hashing import cached_file_sha256
from cracks.inspect.summary import SiteSummary
from cracks.sharpness import SOFT_RISE_PX
from tiling.ground import coordinates_are_ground_metres

MATCH_FRACTION = 0.5
CHANGES = ("new", "gone", "extended", "widened", "unchanged", "outside")
MAX_REGISTRATION_PX = 2048  # cells a side of a registration window
# An overlap wider than that is registered first at this many times the pixel size (a window
# COARSE_FACTOR * 2048 pixels wide: shifts up to about 4 m at 1 mm per pixel), then at the pixel
# size: the whole of a 400 MP orthophoto took 10.8 s to read decimated (every block decoded), its
# centre at 4x 3.2 s (the generated benchmark orthophoto, no overviews; the sha256 check 0.4 s).
COARSE_FACTOR = 4
# Below this correlation after the shift, the registration is said to be uncertain: flights of one
# site gave 0.49 (synthetic test scenes) to 0.73-0.98 (the sample, scripts/compare_scenarios.py),
# two different synthetic scenes at the same coordinates -0.04.
LOW_CORRELATION = 0.2
MAX_SHIFT_FRACTION = 0.25  # of the compared area's width or height: a real georeferencing error is far less


@dataclass(frozen=True)
class CompareSettings:
    tolerance_px: float = 3.0
    length_noise_px: float = 30.0  # above the 27 px max measured re-tiling the sample site
    width_noise_px: float = 2.5  # above the 1.68 px (retiled) and 2.23 px (turned) maxima of the shipped model


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
    shift_px: tuple[float, float]  # (row, col) that moves the new epoch onto the old one, in the coarser epoch's pixels
    shift_map: tuple[float, float]  # (east, north) in the site CRS's units (feet, degrees, metres)
    shift_m: tuple[float, float]  # (east, north) in ground metres
    # Pearson correlation of the two epochs over the compared area on the registration grid, with
    # the shift applied and without: 0.73-0.98 aligned against 0.10-0.11 unshifted on the sample
    # re-flown 4 cm off (scripts/compare_scenarios.py); a low aligned figure says the registration
    # did not find the site.
    correlation: float
    correlation_unshifted: float
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
    inspection_differs: list[str] = field(default_factory=list)  # INSPECTION_SETTINGS' names, "pixel size"
    pixel_size_mm: tuple[float, float] = (0.0, 0.0)  # old, new
    compared_area: shapely.Geometry | None = field(default=None, repr=False)  # both footprints' overlap, site CRS
    compared_area_m2: float = 0.0
    registration_doubt: str | None = None  # why the registration should not be trusted (registration_doubt)

    @property
    def models_differ(self) -> bool:
        return "model" in self.inspection_differs

    def to_dict(self) -> dict:
        frame = self.changes[self.changes["part"].ne("added")]  # one row per crack
        counts = {c: int((frame["change"] == c).sum()) for c in CHANGES}
        lengths = {c: float(frame.loc[frame["change"] == c, "new_length_m"].fillna(0).sum()) for c in CHANGES}
        lengths["gone"] = float(frame.loc[frame["change"] == "gone", "old_length_m"].fillna(0).sum())
        outside = frame[frame["change"] == "outside"]
        lengths["outside"] = float(outside["new_length_m"].fillna(outside["old_length_m"]).fillna(0).sum())
        return {
            "old": self.old, "new": self.new, "old_date": self.old_date, "new_date": self.new_date,
            "models_differ": self.models_differ, "inspection_differs": self.inspection_differs, "counts": counts, "length_m": lengths,
            "new_length_m": lengths["new"], "extended_length_m": float(frame["growth_m"].fillna(0).clip(lower=0)
                                                                     .loc[frame["change"] == "extended"].sum()),
            "registration": asdict(self.registration), "registration_doubt": self.registration_doubt,
            "tolerance_m": self.tolerance_m,
            "pixel_size_mm": {"old": self.pixel_size_mm[0], "new": self.pixel_size_mm[1]},
            "compared_area_m2": self.compared_area_m2,
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


@dataclass(frozen=True)
class Grid:
    """A north-up pixel grid in the site's CRS: both epochs are resampled onto it to be registered,
    whatever their own pixel sizes, rotations or CRSs."""

    crs: Any
    transform: Affine
    width: int
    height: int

    @classmethod
    def centred(cls, bounds: tuple[float, float, float, float], pixel: float, crs: Any, max_px: int) -> Grid:
        """Cells of ``pixel`` map units over the centre of ``bounds``, at most ``max_px`` a side."""
        left, bottom, right, top = bounds
        width = int(np.clip((right - left) // pixel, 1, max_px))
        height = int(np.clip((top - bottom) // pixel, 1, max_px))
        x0, y0 = (left + right - width * pixel) / 2, (bottom + top + height * pixel) / 2
        return cls(crs, Affine(pixel, 0.0, x0, 0.0, -pixel, y0), width, height)

    def inside(self, area: shapely.Geometry) -> np.ndarray:
        """True for the cells whose centre lies in ``area``."""
        from rasterio.features import geometry_mask

        return geometry_mask([area], out_shape=(self.height, self.width), transform=self.transform, invert=True)


def _read_on_grid(path: Path, grid: Grid, band_mask: bool, offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The raster averaged onto ``grid`` moved by ``offset`` (map units): grey, or the mask's band."""
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    with rasterio.open(path) as src, WarpedVRT(src, crs=grid.crs, transform=Affine.translation(*offset) * grid.transform,
                                               width=grid.width, height=grid.height,
                                               resampling=Resampling.average) as vrt:
        data = vrt.read([1] if band_mask else list(range(1, min(src.count, 3) + 1))).astype(np.float32)
    return data.mean(axis=0)


def register(old: Epoch, new: Epoch, metric, overlap: shapely.Geometry) -> Registration:
    """Shift of the new epoch onto the old one, by phase correlation over the overlap, in the
    site CRS's units (to move the new layers) and in ground metres (``metric``: :func:`metric_crs`);
    ``overlap``: :func:`compared_area`.

    Both epochs are resampled onto one grid in the old epoch's CRS at the coarser epoch's pixel
    size: surveys of one site are often flown at different ground sample distances, and pixels of
    two sizes do not correlate (the sample site against itself at 2 mm per pixel gave a 0.39 m
    "shift": 9 of its 20 cracks new, 11 gone, 5 extended). An overlap wider than ``MAX_REGISTRATION_PX`` cells is first
    registered at ``COARSE_FACTOR`` times the pixel size (the shift of an un-RTK'd drone survey may
    be metres), then refined at the common pixel size, each on the overlap's centre."""
    from skimage.registration import phase_cross_correlation

    sources = [(_inspected_input(old), _inspected_input(new), "orthophoto", False),
               (old.folder / "mask.tif", new.folder / "mask.tif", "mask", True)]
    for old_path, new_path, source, is_mask in sources:
        if old_path is not None and new_path is not None and old_path.is_file() and new_path.is_file():
            break
    else:
        raise InputError(new.folder, "neither the orthophotos nor the masks of both epochs can be read for registration")
    with rasterio.open(old_path) as src:
        old_pixel = float(np.hypot(src.transform.a, src.transform.d))  # a column step, in the site CRS's units
    pixel = old_pixel * max(1.0, new.gsd_m / old.gsd_m)
    left, bottom, right, top = overlap.bounds
    wide = max(right - left, top - bottom) > MAX_REGISTRATION_PX * pixel
    east = north = 0.0
    for step in ([COARSE_FACTOR * pixel, pixel] if wide else [pixel]):
        grid = Grid.centred(overlap.bounds, step, old.cracks.crs, MAX_REGISTRATION_PX)
        reference = _read_on_grid(old_path, grid, is_mask)
        moving = _read_on_grid(new_path, grid, is_mask, offset=(-east, -north))
        (dy, dx), _, _ = phase_cross_correlation(reference, moving, upsample_factor=10)
        east, north = east + step * float(dx), north - step * float(dy)
    inside = grid.inside(overlap)
    aligned = _correlation(reference, _read_on_grid(new_path, grid, is_mask, offset=(-east, -north)), inside)
    unshifted = _correlation(reference, _read_on_grid(new_path, grid, is_mask), inside)
    crs = old.cracks.crs
    shift_m = (east, north) if metric == crs else _in_metres((east, north), old.footprint.centroid, crs, metric)
    return Registration((-north / pixel, east / pixel), (east, north), shift_m, aligned, unshifted, source)


def _correlation(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    """Pearson correlation of two grids over ``where`` (0 where either is flat there)."""
    a, b = a[where], b[where]
    if a.size < 2 or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def registration_doubt(registration: Registration, area: shapely.Geometry) -> str | None:
    """Why a registration should not be trusted, or None. Phase correlation always returns a
    shift: after it, the epochs should correlate (``LOW_CORRELATION``), and the shift should be a
    small part of the ground both cover (``MAX_SHIFT_FRACTION`` of its width and height; the
    sample turned half round "registered" at 0.84 m east and 0.55 m south on a 2.9 x 0.96 m site,
    correlating 0.31)."""
    if registration.correlation < LOW_CORRELATION:
        return f"the epochs correlate {registration.correlation:.2f} after the shift"
    left, bottom, right, top = area.bounds
    east, north = registration.shift_map
    share = max(abs(east) / (right - left), abs(north) / (top - bottom))
    if share > MAX_SHIFT_FRACTION:
        return f"the shift found ({east:+.3g}, {north:+.3g} map units) is {share:.0%} of the compared area's extent"
    return None


def _inspected_input(epoch: Epoch) -> Path | None:
    """The epoch's orthophoto if it is still the file that was inspected (same sha256), else None:
    surveys overwrite ``site.tif`` with every flight, and the old epoch's orthophoto, correlated
    as the new one with itself, gave no shift at all."""
    path = Path(epoch.summary.input)
    if path.is_file() and cached_file_sha256(path) == epoch.summary.input_sha256:
        return path
    return None


def compared_area(old: Epoch, new: Epoch) -> shapely.Geometry:
    """Where both epochs have data (their valid-data footprints' overlap, the old epoch's CRS):
    the only ground on which a crack can be called new, gone or longer."""
    overlap = old.footprint.intersection(new.footprint)
    if overlap.is_empty or overlap.area <= 0:
        raise InputError(new.folder, f"does not overlap {old.folder}: not the same site")
    return overlap


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
            new.footprint = gpd.GeoSeries([new.footprint], crs=new.cracks.crs).to_crs(old.cracks.crs).iloc[0]
            new.cracks = new.cracks.to_crs(old.cracks.crs)  # after the footprint: its CRS is read from here
        else:
            raise InputError(new_dir, "the two epochs have no common coordinate reference system")
    site_crs, metric = old.cracks.crs, metric_crs(old)  # match in ground metres; write back in the site's CRS
    area = compared_area(old, new)
    registration = register(old, new, metric, area)
    doubt = registration_doubt(registration, area)
    if doubt:
        warnings.warn(f"{new_dir}: registration uncertain: {doubt}; check that both show this site and how far "
                      f"apart their georeferencing is", stacklevel=2)
    moved = new.cracks.copy()
    moved["geometry"] = moved.geometry.translate(*registration.shift_map)
    gsd = max(old.gsd_m, new.gsd_m)
    residual = float(np.hypot(*registration.shift_m)) * 0.1  # sub-pixel registration: a tenth of the shift as error
    tolerance = settings.tolerance_px * gsd + residual
    area_metric = gpd.GeoSeries([area], crs=site_crs).to_crs(metric).iloc[0]
    rows = _changes(old.cracks.to_crs(metric), moved.to_crs(metric), tolerance, gsd, settings,
                    gsd / min(old.gsd_m, new.gsd_m), area_metric)
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=metric,
                             columns=["change", "old_id", "new_id", "old_length_m", "new_length_m", "growth_m",
                                      "old_width_mm", "new_width_mm", "width_growth_mm", "width_growth_px", "part",
                                      "old_confidence", "new_confidence", "geometry"]).to_crs(site_crs)
    return Comparison(str(old_dir), str(new_dir), old.summary.processing["date"], new.summary.processing["date"],
                      registration, tolerance, settings, frame, inspection_differences(old.summary, new.summary),
                      (old.gsd_m * 1000, new.gsd_m * 1000), area, float(area_metric.area), doubt)


# What of the inspection itself can make cracks appear or vanish between epochs of an unchanged
# site. Tiling is not among them: seams are blended away (the same orthophoto retiled is unchanged).
INSPECTION_SETTINGS: dict[str, Callable[[SiteSummary], object]] = {
    "threshold": lambda s: s.model.get("threshold"),
    "inference": lambda s: s.processing.get("inference"),  # backend, precision, mirror averaging
    # what joins fragments into one crack and what is too short or round to be one
    "record rules": lambda s: tuple(s.processing.get(k) for k in ("link_gap_mm", "min_crack_mm", "min_elongation")),
}


# Pixel sizes further apart than this ratio count as a difference: a fine crack seen at 1 mm per
# pixel can be missed at 3 mm (reported gone) and lengths of crack networks differ.
PIXEL_SIZE_RATIO = 1.1


# Edge rises (cracks.sharpness) further apart than this ratio, the softer one soft, count as
# a difference: the soft epoch's cracks come out wider (a blur of sigma 1 px: rise 1.6 -> 2.4 px,
# widths up 4-37 %; scripts/sharpness_check.py), so "widened" may be the camera. Two sharp epochs
# are not compared: a few thin lines can make up all of a generated scene's edges, and their rise
# then depends on where the pixel grid falls.
SHARPNESS_RATIO = 1.25


def same_model(old: SiteSummary, new: SiteSummary) -> bool:
    """Whether two epochs were inspected with the same model: the same weights (their SHA-256)
    where both summaries record it, else the same training date (summaries from before the hash
    was recorded)."""
    hashes = old.model.get("weights_sha256"), new.model.get("weights_sha256")
    if None not in hashes:
        return hashes[0] == hashes[1]
    return old.model.get("trained") == new.model.get("trained")


def inspection_differences(old: SiteSummary, new: SiteSummary) -> list[str]:
    """The inspection settings in which two epochs differ: a change report must say that part of
    what changed may be the inspection's, not the structure's. The imagery's pixel size and
    sharpness count too."""
    found = [] if same_model(old, new) else ["model"]
    found += [name for name, value in INSPECTION_SETTINGS.items() if value(old) != value(new)]
    if max(old.gsd_m, new.gsd_m) > PIXEL_SIZE_RATIO * min(old.gsd_m, new.gsd_m):
        found.append("pixel size")
    rises = (old.edge_rise_px, new.edge_rise_px)
    if None not in rises and max(rises) > max(SOFT_RISE_PX, SHARPNESS_RATIO * min(rises)):
        found.append("sharpness")
    return found


def _near_fraction(line, others_buffer) -> float:
    if line.length == 0:
        return 0.0
    return float(line.intersection(others_buffer).length / line.length)


def _changes(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, tolerance: float, gsd: float,
             settings: CompareSettings, pixel_ratio: float = 1.0, area: shapely.Geometry | None = None) -> list[dict]:
    """The change rows; ``gsd``: the coarser epoch's pixel size (m), ``pixel_ratio``: coarser / finer,
    ``area``: where both epochs have data (None: everywhere).

    A crack lying mostly outside ``area`` is ``outside``: the other survey did not see its ground,
    so it is neither new nor gone (a re-survey of half a site "lost" the other half's cracks).
    Length added to a crack counts only inside ``area`` less the tolerance (near its edge the old
    survey's crack may stop where its data does)."""
    old_union = shapely.union_all(old.geometry.values).buffer(tolerance) if len(old) else shapely.Polygon()
    new_union = shapely.union_all(new.geometry.values).buffer(tolerance) if len(new) else shapely.Polygon()
    seen = area.buffer(-tolerance) if area is not None else None
    rows = []
    old_index = old.sindex
    for _, crack in new.iterrows():
        line = crack.geometry
        base = {"new_id": int(crack["crack_id"]), "new_length_m": float(crack["length_m"]),
                "new_width_mm": float(crack["width_mean_mm"]), "new_confidence": _confidence(crack.get("confidence"))}
        if area is not None and _near_fraction(line, area) < MATCH_FRACTION:
            rows.append({**base, "change": "outside", "geometry": line})
            continue
        around = line.buffer(tolerance)
        candidates = old.iloc[old_index.query(around, predicate="intersects")]
        # the same crack: the new one lies mostly on old cracks, or an old one lies mostly on it (it grew)
        grown_from = [o for o in candidates.itertuples() if _near_fraction(o.geometry, around) >= MATCH_FRACTION]
        if _near_fraction(line, old_union) < MATCH_FRACTION and not grown_from:
            rows.append({**base, "change": "new", "geometry": line})
            continue
        partner = max(candidates.itertuples(), key=lambda o: o.geometry.buffer(tolerance).intersection(line).length)
        match = {**base, "old_id": int(partner.crack_id), "old_length_m": float(partner.length_m),
                 "old_width_mm": float(partner.width_mean_mm), "old_confidence": _confidence(getattr(partner, "confidence", None))}
        added = line.difference(old_union)
        if seen is not None:
            added = added.intersection(seen)
        added_length = float(added.length)
        match["growth_m"] = added_length
        match["width_growth_mm"] = match["new_width_mm"] - match["old_width_mm"]
        match["width_growth_px"] = float(crack["width_mean_px"]) - float(partner.width_mean_px)
        if added_length > settings.length_noise_px * gsd:
            rows.append({**match, "change": "extended", "geometry": line})
            rows.append({**match, "change": "extended", "part": "added", "geometry": added})
        elif (match["width_growth_mm"] > settings.width_noise_px * gsd * 1000
              and match["width_growth_px"] > settings.width_noise_px * pixel_ratio):
            # Wider on the ground *and* in the epochs' own pixels: a crack a few pixels wide comes out
            # of the model a few pixels wide at any pixel size, so on coarser imagery alone it reads
            # wider in mm (the sample at 2 mm per pixel: 14 of 19 cracks "widened" by mm alone). Between
            # pixel sizes r times apart the own-pixel noise grew to 2.1 px at r = 1.5 and 1.6 at r = 2
            # (scripts/compare_noise.py --coarser): the limit is the noise times r.
            rows.append({**match, "change": "widened", "geometry": line})
        else:
            rows.append({**match, "change": "unchanged", "geometry": line})
    for _, crack in old.iterrows():
        if _near_fraction(crack.geometry, new_union) < MATCH_FRACTION:
            outside = area is not None and _near_fraction(crack.geometry, area) < MATCH_FRACTION
            rows.append({"change": "outside" if outside else "gone", "old_id": int(crack["crack_id"]),
                         "old_length_m": float(crack["length_m"]), "old_width_mm": float(crack["width_mean_mm"]),
                         "old_confidence": _confidence(crack.get("confidence")), "geometry": crack.geometry})
    return rows


def _confidence(value: object) -> float | None:
    """A record's ``confidence`` from its layer; None for epochs inspected before records had one."""
    return None if value is None or pd.isna(value) else float(value)


def write_comparison(result: Comparison, out: Path) -> dict[str, Path]:
    """``changes.gpkg`` (layer ``changes``), ``changes.geojson``, ``changes.json``, ``change-report.pdf``."""
    from reports.change_report import write_change_report
    from reports.vector import write_geojson, write_geopackage

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frame = result.changes.copy()
    frame["part"] = frame["part"].astype(object).fillna("crack")  # all-NaN (float) where nothing was extended
    outputs = {
        "gpkg": write_geopackage({"changes": frame}, out / "changes.gpkg"),
        "geojson": write_geojson(frame, out / "changes.geojson", True, name="changes"),
        "json": write_json(out / "changes.json", result.to_dict()),
    }
    outputs["report"] = write_change_report(result, out / "change-report.pdf")
    return outputs
