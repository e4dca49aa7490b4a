"""The errors a user can fix, as a small hierarchy, so the CLI can print one clear line.

Everything else (a ``KeyError`` deep in the measuring code, say) is a bug and keeps its traceback.

* :class:`CracksError`: the base; its message names the path (or setting) and the problem, e.g.
  ``/data/ortho.tif: not a raster (GDAL could not open it)``.
* :class:`InputError`: an input file or folder (raster, dataset, mask, output folder) that cannot
  be used as it is.
* :class:`ModelError`: a model artifact that is missing, corrupt, or not the network asked for.
* :class:`SettingError`: a setting whose value cannot be right; names the setting, the value and
  the fix, and reads as the command-line option the user typed.
"""

from __future__ import annotations

from pathlib import Path


class CracksError(Exception):
    """A problem with a user-supplied file or setting: ``"<path>: <problem>"``."""

    def __init__(self, path: str | Path | None, problem: str):
        self.path = Path(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path is not None else problem)


class InputError(CracksError):
    """An input file or folder that cannot be used as it is (nothing was changed)."""


class ModelError(CracksError):
    """A model artifact that is missing, corrupt or does not match what was asked."""


class SettingError(CracksError, ValueError):
    """A job setting with a value that cannot be right; names the setting, its value and the fix."""

    def __init__(self, name: str, value: object, hint: str):
        super().__init__(None, f"{name} {value}: {hint}")
        self.name, self.value, self.hint = name, value, hint

    def as_option(self) -> str:
        """The same message as a command-line user typed it (``--gsd-mm -1: ...``)."""
        return f"--{self.name.replace('_', '-')} {self.value}: {self.hint}"
