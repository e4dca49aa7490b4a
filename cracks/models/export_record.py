"""Which exports of a model artifact are current and intact, read from its ``model.json``.

An export (the int8 OpenVINO IR) is used only when ``model.json`` records it as made from the
present weights and every export file still has its recorded sha256; otherwise the float model
runs and a warning says why. Kept apart from :mod:`cracks.models.export` (which makes exports and
needs the training data) so that choosing a backend never imports the exporter.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from cracks.hashing import cached_file_sha256
from cracks.models import artifact

log = logging.getLogger(__name__)
INT8_FILE = "model.int8.xml"


def weights_sha256(model_dir: Path) -> str:
    return cached_file_sha256(Path(model_dir) / artifact.WEIGHTS)


def current_export(model_dir: Path, kind: str) -> Path | None:
    """The export file of ``kind`` if model.json records one made from the present weights."""
    try:
        record = json.loads((Path(model_dir) / artifact.METADATA).read_text()).get("exports", {}).get(kind)
    except (OSError, json.JSONDecodeError):
        return None
    if not record:
        return None
    path = Path(model_dir) / record["file"]
    if not path.is_file() or not path.with_suffix(".bin").is_file():
        return None
    if record.get("weights_sha256") != weights_sha256(model_dir):
        log.warning("%s: int8 export was made from other weights; ignored (run `cracks export` again)", path)
        return None
    recorded = record.get("files_sha256", {})
    for part in (path, path.with_suffix(".bin")):
        if recorded.get(part.name) != cached_file_sha256(part):
            problem = "has no recorded sha256" if part.name not in recorded else "does not match its recorded sha256 (corrupt or replaced)"
            log.warning("%s %s; the float model is used instead (run `cracks export` again)", part, problem)
            return None
    return path
