"""Change between surveys of one unchanged site, flown differently: what `cracks compare` reports.

    .venv/bin/python scripts/compare_scenarios.py [sample/road_section.tif] [--code DIR]

Makes second "flights" of the orthophoto in which nothing on the ground changed, inspects each
and compares it with the first, through the command line as a user would (``--standard
astm-d6433``), and prints the change counts, the shift found, the correlation and any doubt:

* ``4 cm off, same path``: the same road georeferenced 36 mm west and 20 mm north, written over
  the first flight's file (as ``cracks survey`` sees a site re-flown: the old epoch's summary names
  the new file), compared by ``cracks survey``;
* ``at 2 mm per pixel``: averaged to twice the pixel size;
* ``4 cm off at 2 mm, same path``: both, by ``cracks survey``;
* ``left half``: the left 1400 px only (a partial re-survey), and the other way round;
* ``turned half round``: another scene at the same coordinates (should be doubted).

``--code DIR`` runs the CLI of another checkout (e.g. a ``git worktree`` of an older commit) with
this one's environment: the before/after figures of the README came from it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling


def write(src_path: Path, out: Path, data: np.ndarray, transform: Affine) -> Path:
    with rasterio.open(src_path) as src:
        profile = {**src.profile, "height": data.shape[1], "width": data.shape[2], "transform": transform}
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(data)
    return out


def flights(raster: Path, folder: Path) -> dict[str, Path]:
    """The second flights, each an orthophoto of the same ground."""
    with rasterio.open(raster) as src:
        data, t = src.read(), src.transform
        coarse = src.read(out_shape=(src.count, src.height // 2, src.width // 2), resampling=Resampling.average)
    off = data[:, 20:, 36:]  # the content moved 36 px west and 20 px north, the georeference kept
    off_coarse = coarse[:, 10:, 18:].copy()
    return {
        "off": write(raster, folder / "off.tif", off, t),
        "coarse": write(raster, folder / "coarse.tif", coarse, t * Affine.scale(2)),
        "off_coarse": write(raster, folder / "off_coarse.tif", off_coarse, t * Affine.scale(2)),
        "left": write(raster, folder / "left.tif", data[:, :, :1400], t),
        "turned": write(raster, folder / "turned.tif", data[:, ::-1, ::-1].copy(), t),
    }


class Cli:
    def __init__(self, code: Path | None):
        self.env = {**os.environ, **({"PYTHONPATH": str(code.resolve())} if code else {})}
        self.cwd = code.resolve() if code else None  # `python -m` puts the working folder first on the path

    def __call__(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "cracks.cli", *args], capture_output=True, text=True, env=self.env,
                              cwd=self.cwd)
        if done.returncode:
            raise SystemExit(f"cracks {' '.join(args)} failed:\n{done.stderr[-2000:]}")
        return done.stdout + done.stderr

    def inspect(self, raster: Path, out: Path) -> Path:
        self("inspect", str(raster), "--standard", "astm-d6433", "--out", str(out))
        return out / raster.stem

    def compare(self, old: Path, new: Path, out: Path) -> dict:
        self("compare", str(old), str(new), "--out", str(out))
        return json.loads((out / "changes.json").read_text())

    def survey_twice(self, first: Path, second: Path, folder: Path) -> dict:
        """``cracks survey`` of a folder holding ``site.tif``, then again after ``second`` replaced it."""
        (folder / "in").mkdir(parents=True)
        shutil.copy(first, folder / "in" / "site.tif")
        self("survey", str(folder / "in"), "--out", str(folder / "out"), "--standard", "astm-d6433")
        shutil.copy(second, folder / "in" / "site.tif")
        self("survey", str(folder / "in"), "--out", str(folder / "out"), "--standard", "astm-d6433")
        (changes,) = (folder / "out").rglob("changes.json")
        return json.loads(changes.read_text())


def line(name: str, figures: dict) -> str:
    counts = ", ".join(f"{k} {v}" for k, v in figures["counts"].items())
    reg = figures["registration"]
    shift = f"shift {reg['shift_m'][0] * 1000:+.1f} / {reg['shift_m'][1] * 1000:+.1f} mm ({reg['source']})"
    quality = (f"; correlation {reg['correlation']:.2f} (unshifted {reg['correlation_unshifted']:.2f})"
               if "correlation" in reg else "")
    extra = "".join(f"; {key}: {figures[key]}" for key in ("inspection_differs", "registration_doubt") if figures.get(key))
    return f"{name}: {counts}; {shift}{quality}{extra}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raster", nargs="?", type=Path, default=Path("sample/road_section.tif"))
    parser.add_argument("--code", type=Path, default=None, help="run the CLI of this checkout instead")
    args = parser.parse_args()
    cli = Cli(args.code)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        made = flights(args.raster.resolve(), tmp)
        first = cli.inspect(args.raster.resolve(), tmp / "first")
        print(line("4 cm off, same path", cli.survey_twice(args.raster.resolve(), made["off"], tmp / "survey-off")),
              flush=True)
        print(line("at 2 mm per pixel", cli.compare(first, cli.inspect(made["coarse"], tmp / "e"), tmp / "c1")), flush=True)
        print(line("4 cm off at 2 mm, same path",
                   cli.survey_twice(args.raster.resolve(), made["off_coarse"], tmp / "survey-both")), flush=True)
        left = cli.inspect(made["left"], tmp / "e")
        print(line("left half only", cli.compare(first, left, tmp / "c2")), flush=True)
        print(line("left half first, then the whole", cli.compare(left, first, tmp / "c3")), flush=True)
        print(line("turned half round", cli.compare(first, cli.inspect(made["turned"], tmp / "e"), tmp / "c4")), flush=True)


if __name__ == "__main__":
    main()
