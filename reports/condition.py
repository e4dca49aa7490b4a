"""The site condition rating and the rule that produced it.

Widths follow the severity classes used for concrete and pavement inspection (hairline < 0.1 mm,
fine 0.1-0.3 mm, medium 0.3-1.0 mm, wide > 1.0 mm: see the README for sources). The rating:

* poor: any wide crack, or crack density >= 2.0 m/m2;
* fair: any medium crack, or crack density >= 0.5 m/m2;
* good: otherwise.

Without a ground sample distance there are no real widths or densities: the site is unrated.
"""

from __future__ import annotations

POOR_DENSITY = 2.0
FAIR_DENSITY = 0.5


def rate_condition(by_severity: dict[str, dict[str, float]], density_m_per_m2: float | None) -> dict[str, str]:
    if density_m_per_m2 is None:
        return {"rating": "unrated", "rule": "no ground sample distance: widths and density are in pixels"}
    wide = by_severity.get("wide", {}).get("count", 0)
    medium = by_severity.get("medium", {}).get("count", 0)
    if wide or density_m_per_m2 >= POOR_DENSITY:
        why = f"{wide} wide crack(s) > 1.0 mm" if wide else f"density {density_m_per_m2:.2f} m/m2 >= {POOR_DENSITY}"
        return {"rating": "poor", "rule": f"poor: {why} (poor if any wide crack or density >= {POOR_DENSITY} m/m2)"}
    if medium or density_m_per_m2 >= FAIR_DENSITY:
        why = f"{medium} medium crack(s) 0.3-1.0 mm" if medium else f"density {density_m_per_m2:.2f} m/m2 >= {FAIR_DENSITY}"
        return {"rating": "fair", "rule": f"fair: {why} (fair if any medium crack or density >= {FAIR_DENSITY} m/m2)"}
    return {"rating": "good", "rule": f"good: only hairline/fine cracks and density {density_m_per_m2:.2f} m/m2 < {FAIR_DENSITY}"}
