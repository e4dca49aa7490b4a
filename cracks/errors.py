"""One exception type for problems the user can fix, so the CLI can print one clear line."""

from __future__ import annotations

from pathlib import Path


class CracksError(Exception):
    """A problem with a user-supplied file or setting.

    The message always names the path and the problem, e.g.
    ``/data/ortho.tif: not a raster (GDAL could not open it)``.
    """

    def __init__(self, path: str | Path | None, problem: str):
        self.path = Path(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path is not None else problem)
