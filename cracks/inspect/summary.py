"""The figures of one inspected site: what ``summary.json`` holds, as a typed record.

The PDF, the CLI, the flows, the survey index and ``cracks compare`` read these fields by name;
the JSON file is the same object written out (:meth:`SiteSummary.write`) and read back
(:meth:`SiteSummary.read`), so a site inspected by an earlier version still reads as long as it
has the fields. Grouped facts that are reported as they are (the standard, the model, the
processing settings, ground-truth scores) stay dictionaries inside it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cracks.atomic import write_json
from cracks.errors import InputError


@dataclass
class SiteSummary:
    site: str
    input: str
    input_sha256: str
    crs: str | None  # "EPSG:code" or WKT; None without georeferencing
    georeferenced: bool
    units: str  # "m" or "px"
    gsd_m: float | None  # ground sample distance; None: pixel units only
    width_px: int
    height_px: int
    analysed_area_m2: float | None  # valid (not nodata) pixels only
    analysed_area_px: int
    n_cracks: int
    total_length_m: float | None
    total_length_px: float
    density_m_per_m2: float | None
    max_width_mm: float | None
    max_width_px: float
    by_severity: dict[str, dict[str, float]]  # class -> {"count", "length_m"}
    n_spots: int
    n_fragments_linked: int
    condition: dict[str, str]  # rating, rule (the one that fired), standard; caveat where the GSD or soft imagery limits the widths
    standard: dict[str, Any]  # key, title, source, classes, limits_mm, width_statistic, spacing_limits_m, note, description
    truth: dict[str, Any] | None  # pixel and crack-level scores against a truth mask
    model: dict[str, Any]  # path, arch, encoder, threshold, trained, valid_metrics, width_floor_px (+ _measured)
    processing: dict[str, Any]  # tiling, inference, seconds, stages_s, date, version, record rules
    outputs: dict[str, str] = field(default_factory=dict)  # kind -> file name in the site folder
    imagery: dict[str, Any] | None = None  # what the imagery itself limits: {"sharpness": {edge_rise_px, soft, ...}}

    @property
    def edge_rise_px(self) -> float | None:
        """The imagery's sharpness (:mod:`cracks.sharpness`); None where it was not measured
        (a summary of an earlier version) or could not be (too few strong edges)."""
        return ((self.imagery or {}).get("sharpness") or {}).get("edge_rise_px")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str | Path = "summary") -> SiteSummary:
        names = [f.name for f in dataclasses.fields(cls)]
        required = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING]
        missing = [n for n in required if n not in data]
        if missing:
            raise InputError(source, f"not a site summary of this version (lacks {', '.join(missing[:4])})")
        return cls(**{k: data[k] for k in names if k in data})

    @classmethod
    def read(cls, path: str | Path) -> SiteSummary:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise InputError(path, f"unreadable site summary ({exc})") from exc
        return cls.from_dict(data, path)

    def write(self, path: str | Path) -> Path:
        return write_json(path, self.to_dict())
