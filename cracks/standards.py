"""Named rule sets for crack severity and site condition, each with its source.

A severity class is decided by one width statistic of the crack (which one is part of the
standard: ASTM D6433 grades pavement cracks by their mean width, the bridge and structure rules
by a robust maximum, the 95th percentile of the width along the centerline, so one wide pixel
at a spall does not decide it). The site's condition follows the worst class present and the
crack density, with the rule that fired written into the summary and the report.

These are faithful to the standards' width limits; the site-level rating is this project's
mapping onto them (ASTM D6433's PCI needs every distress type, not cracks alone; AASHTO rates
element quantities per condition state): the report says so. Where a standard also has spacing
limits (AASHTO 1130), a crack's class is the worse of its width class and its spacing class
(spacing: :mod:`cracks.measure.spacing`), and the record says which decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cracks.errors import SettingError

if TYPE_CHECKING:
    from cracks.measure.region import Crack

# The narrowest a crack comes out of a model's masks, in pixels, whatever its real width, for a
# model whose model.json carries no measured floor (``width_floor_px``, cracks.training.width_floor):
# mean widths of the shipped model's records at its threshold are at least 2.6-3.7 px in the 1st
# percentile of every domain, while the drawn cracks go down to 1.5-2.3 px (``scripts/width_floor.py``).
# A crack narrower than this many pixels is measured about this wide.
WIDTH_FLOOR_PX = 3.0


def width_floor_mm(pixel_size_m: float, floor_px: float = WIDTH_FLOOR_PX) -> float:
    """The narrowest width a crack is measured at on imagery of this ground sample distance."""
    return floor_px * pixel_size_m * 1000


@dataclass(frozen=True)
class Standard:
    key: str
    title: str
    source: str
    classes: tuple[str, ...]  # mildest first
    limits_mm: tuple[float, ...]  # len(classes) - 1 increasing upper bounds
    width_field: str  # the Crack attribute (mm) that decides the class
    fair_density: float = 0.5  # m of crack per m2
    poor_density: float = 2.0
    note: str = ""
    # Spacing limits, ascending: a crack closer than limits[0] to its neighbours is of the worst
    # class, closer than limits[1] of the second worst, and so on; () when width alone decides.
    spacing_limits_m: tuple[float, ...] = ()

    def severity(self, width_mm: float | None) -> str:
        """The class of a width (mm) alone."""
        if width_mm is None:
            return "unknown"
        return self.classes[int(np.searchsorted(self.limits_mm, width_mm, side="right"))]

    def width_class(self, crack: Crack) -> str:
        return self.severity(getattr(crack, self.width_field))

    def spacing_class(self, spacing_m: float | None) -> str | None:
        """The class a spacing gives, or None where spacing does not count (no limits, no neighbour near)."""
        if not self.spacing_limits_m or spacing_m is None:
            return None
        closer_than = int(np.searchsorted(self.spacing_limits_m, spacing_m, side="right"))
        return self.classes[len(self.classes) - 1 - closer_than]

    def grade(self, crack: Crack) -> tuple[str, str]:
        """(class, basis): the worse of the width class and the spacing class, and which decided."""
        by_width = self.width_class(crack)
        by_spacing = self.spacing_class(crack.spacing_m)
        if by_spacing is not None and by_width != "unknown" and self.classes.index(by_spacing) > self.classes.index(by_width):
            return by_spacing, "spacing"
        return by_width, "width"

    def _criterion(self, name: str) -> str:
        """``>= 1.27 mm or spaced < 0.3 m``: what puts a crack in class ``name``."""
        lower = dict(zip(self.classes[1:], self.limits_mm))
        text = f">= {lower[name]:g} mm"
        closer = dict(zip(reversed(self.classes), self.spacing_limits_m))
        return f"{text} or spaced < {closer[name]:g} m" if name in closer else text

    @property
    def worst(self) -> str:
        return self.classes[-1]

    @property
    def second_worst(self) -> str:
        return self.classes[-2]

    def describe(self) -> str:
        """``low < 10 mm ≤ medium < 75 mm ≤ high (by mean width along the centerline)``, plus the
        spacing rule where the standard has one: the classes as the report states them."""
        parts = [self.classes[0]]
        for limit, name in zip(self.limits_mm, self.classes[1:]):
            parts.append(f"< {limit:g} mm ≤ {name}")
        statistic = "mean width" if self.width_field == "width_mean_mm" else "95th percentile of the width"
        text = " ".join(parts) + f" (by {statistic} along the centerline)"
        if self.spacing_limits_m:  # closest first: the worst class
            limits = ", ".join(f"{name} if spaced < {limit:g} m"
                               for name, limit in zip(reversed(self.classes), self.spacing_limits_m))
            text += f"; or by spacing: {limits}, whichever is worse"
        return text

    def width_caveat(self, pixel_size_m: float | None, *, floor_px: float = WIDTH_FLOOR_PX) -> str | None:
        """What the ground sample distance hides from this standard's width classes, or None.

        Class limits below ``floor_px`` pixels (the model's width floor) cannot be resolved: a
        crack narrower than that is measured at about the floor, so every class up to the one the
        floor falls in is an upper bound. At 1 mm per pixel (a 3 mm floor) the concrete classes
        (0.1/0.3/1.0 mm) all read "wide"; ASTM D6433's (10/75 mm) are resolved."""
        if not pixel_size_m:
            return None
        floor_mm = width_floor_mm(pixel_size_m, floor_px)
        hidden = [limit for limit in self.limits_mm if limit < floor_mm]
        if not hidden:
            return None
        merged = self.classes[: len(hidden) + 1]
        which = (f"a {merged[0]} crack" if len(merged) == 2
                 else f"one narrower than that, whether {', '.join(merged[:-2])} or {merged[-2]},")
        return (f"at {pixel_size_m * 1000:.3g} mm per pixel a crack is never measured narrower than about "
                f"{floor_px:g} px ({floor_mm:.3g} mm), so {which} is "
                f"reported as {merged[-1]}: severities by width are upper bounds here; telling {merged[-2]} from "
                f"{merged[-1]} ({hidden[-1]:g} mm) takes about {hidden[-1] / floor_px:.2g} mm per pixel or finer")

    def rate(self, by_severity: dict[str, dict[str, float]], density_m_per_m2: float | None) -> dict[str, str]:
        """Poor if any crack of the worst class or density >= poor_density; fair if any of the
        second-worst class or density >= fair_density; good otherwise; unrated without a GSD."""
        if density_m_per_m2 is None:
            return {"rating": "unrated", "rule": "no ground sample distance: widths and density are in pixels",
                    "standard": self.key}
        worst = by_severity.get(self.worst, {}).get("count", 0)
        second = by_severity.get(self.second_worst, {}).get("count", 0)
        if worst or density_m_per_m2 >= self.poor_density:
            why = (f"{worst} {self.worst} crack(s) ({self._criterion(self.worst)})" if worst
                   else f"density {density_m_per_m2:.2f} m/m2 >= {self.poor_density}")
            rule = f"poor: {why} (poor if any {self.worst} crack or density >= {self.poor_density} m/m2)"
            return {"rating": "poor", "rule": f"{rule}; {self.title}", "standard": self.key}
        if second or density_m_per_m2 >= self.fair_density:
            why = (f"{second} {self.second_worst} crack(s) ({self._criterion(self.second_worst)})" if second
                   else f"density {density_m_per_m2:.2f} m/m2 >= {self.fair_density}")
            rule = f"fair: {why} (fair if any {self.second_worst} crack or density >= {self.fair_density} m/m2)"
            return {"rating": "fair", "rule": f"{rule}; {self.title}", "standard": self.key}
        milder = "/".join(self.classes[:-2])
        return {"rating": "good", "rule": f"good: only {milder} cracks and density {density_m_per_m2:.2f} m/m2 "
                f"< {self.fair_density}; {self.title}", "standard": self.key}


STANDARDS: dict[str, Standard] = {s.key: s for s in (
    Standard(
        key="concrete", title="concrete structures (project classes)",
        source="project defaults; context: ACI 224R-01 Table 4.1 tolerable widths 0.10 mm (water-retaining) "
               "to 0.41 mm (dry air); ACI 201.1R calls cracks over 1 mm medium to wide",
        classes=("hairline", "fine", "medium", "wide"), limits_mm=(0.1, 0.3, 1.0), width_field="width_p95_mm",
    ),
    Standard(
        key="astm-d6433", title="ASTM D6433 pavement cracking (longitudinal/transverse)",
        source="ASTM D6433, Standard Practice for Roads and Parking Lots Pavement Condition Index Surveys: "
               "L&T cracking severity by mean width, low < 10 mm, medium 10-75 mm, high > 75 mm",
        classes=("low", "medium", "high"), limits_mm=(10.0, 75.0), width_field="width_mean_mm",
        note="the site rating maps the severity levels and density onto poor/fair/good; it is not a PCI",
    ),
    Standard(
        key="aashto-1130", title="AASHTO bridge element inspection, reinforced concrete cracking (defect 1130)",
        source="AASHTO Manual for Bridge Element Inspection, defect 1130 (cracking, RC): CS1 width < 0.012 in "
               "(0.30 mm) or spacing > 3.0 ft (0.91 m), CS2 0.012-0.05 in (0.30-1.27 mm) or 1.0-3.0 ft, "
               "CS3 > 0.05 in (1.27 mm) or spacing < 1.0 ft (0.30 m)",
        classes=("CS1", "CS2", "CS3"), limits_mm=(0.30, 1.27), width_field="width_p95_mm",
        spacing_limits_m=(0.3048, 0.9144),
        note="a crack's state is the worse of its width and spacing states; spacing is the median distance "
             "along the crack to the nearest crack it does not touch (searched to 1 m)",
    ),
)}


def custom_standard(limits_mm: tuple[float, float, float]) -> Standard:
    """The concrete classes with the user's own limits (``--severity-mm``)."""
    base = STANDARDS["concrete"]
    return Standard(key="custom", title=f"custom limits {', '.join(f'{v:g}' for v in limits_mm)} mm",
                    source="limits given by the user (--severity-mm)", classes=base.classes,
                    limits_mm=tuple(limits_mm), width_field=base.width_field)


def get_standard(key: str, severity_mm: tuple[float, ...] | None = None) -> Standard:
    if severity_mm is not None:
        return custom_standard(tuple(severity_mm))
    if key not in STANDARDS:
        raise SettingError("standard", repr(key), f"unknown standard (choose {', '.join(STANDARDS)})")
    return STANDARDS[key]
