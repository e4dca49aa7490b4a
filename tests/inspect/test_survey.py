"""The survey as a library function and a CLI command (the Prefect flow calls the same)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from cracks.config import SurveyConfig
from cracks.inspect.survey import run_survey
from cracks.synthetic import straight
from tests.inspect.test_pipeline import FakeModel
from tests.rasters import dark_pixel_predictor, scene, write_geotiff

REPO = Path(__file__).resolve().parents[2]


def _oracle(path, config):
    from cracks.inspect.pipeline import inspect_site

    return inspect_site(path, config, FakeModel(), dark_pixel_predictor, progress=False).out_dir / "summary.json"


def test_survey_without_prefect_names_namesakes_apart_and_skips_unchanged(tmp_path):
    folder = tmp_path / "imagery"
    for sub, n in (("north", 1), ("south", 2)):
        (folder / sub).mkdir(parents=True)
        image, _ = scene(200, 300, [straight(20, 40.25 + 60 * i, 280, 40.25 + 60 * i, 4) for i in range(n)])
        write_geotiff(folder / sub / "ortho.tif", image)
    (folder / "broken.tif").write_text("not a raster")
    config = SurveyConfig(folder, tmp_path / "survey", inspect={"tile": 128, "overlap": 32})
    first = run_survey(config, _oracle, log=lambda m: None)
    assert first.inspected == 3 and first.failed == [str(folder / "broken.tif")]
    rows = {r["site"]: r for r in csv.DictReader(first.csv.open())}
    assert rows["north/ortho"]["n_cracks"] == "1" and rows["south/ortho"]["n_cracks"] == "2"
    assert "not a raster" in rows["broken"]["error"]
    second = run_survey(config, _oracle, log=lambda m: None)
    assert second.inspected == 1 and second.unchanged == 2  # only the failed one is retried


def test_orthophotos_are_found_in_any_case_and_by_pattern(tmp_path):
    from cracks.inspect.survey import find_orthophotos

    for name in ("north/ORTHO.TIF", "south/ortho.tif", "deck.Tiff", "photos/IMG_0001.JPG", ".hidden.tif", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in find_orthophotos(tmp_path)] == [
        "deck.Tiff", "north/ORTHO.TIF", "south/ortho.tif"]
    assert [p.name for p in find_orthophotos(tmp_path, ("*.jpg",))] == ["IMG_0001.JPG"]


def test_survey_command(tmp_path):
    folder = tmp_path / "imagery"
    folder.mkdir()
    (folder / "broken.tif").write_text("not a raster")
    bad = subprocess.run([sys.executable, "-m", "cracks.cli", "survey", str(folder), "--out", str(tmp_path / "s"),
                          "--gsd-mm", "-3"], capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == ["error: --gsd-mm -3.0: give a finite number above 0"]
    result = subprocess.run([sys.executable, "-m", "cracks.cli", "survey", str(folder), "--out", str(tmp_path / "s")],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1 and "1 failed" in result.stdout
    assert (tmp_path / "s" / "survey-index.geojson").is_file()


def test_survey_command_with_mirror_averaging(tmp_path):
    folder = tmp_path / "imagery"
    folder.mkdir()
    image, _ = scene(200, 400, [straight(20, 60.25, 380, 60.25, 4)], seed=3)
    write_geotiff(folder / "deck.TIF", image)
    result = subprocess.run([sys.executable, "-m", "cracks.cli", "survey", str(folder), "--out", str(tmp_path / "s"), "--tta",
                             "--no-half-scale", "--pattern", "*.tif"], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    summary = json.loads(next((tmp_path / "s" / "sites" / "deck").glob("*/summary.json")).read_text())
    assert summary["processing"]["inference"].endswith("+ tta from 0.392")  # the mirror alone, as asked


def test_a_changed_orthophoto_keeps_the_old_epoch_and_is_compared(tmp_path):
    folder = tmp_path / "imagery"
    folder.mkdir()
    first, _ = scene(200, 400, [straight(20, 60.25, 380, 60.25, 4)], seed=3)
    second, _ = scene(200, 400, [straight(20, 60.25, 380, 60.25, 4), straight(60, 150.25, 300, 150.25, 3)], seed=3)
    write_geotiff(folder / "deck.tif", first)
    config = SurveyConfig(folder, tmp_path / "survey", inspect={"tile": 128, "overlap": 32})
    run_survey(config, _oracle, log=lambda m: None)
    write_geotiff(folder / "deck.tif", second)  # the next flight of the same deck: one new crack
    result = run_survey(config, _oracle, log=lambda m: None)
    assert result.inspected == 1
    epochs = sorted(p.parent for p in (tmp_path / "survey" / "sites" / "deck").glob("*/summary.json"))
    assert len(epochs) == 2  # the first epoch is kept, not overwritten
    row = next(csv.DictReader(result.csv.open()))
    assert row["epochs"] == "2" and row["new_cracks"] == "1" and row["gone_cracks"] == "0"
    assert row["outside_cracks"] == "0"  # the same footprint both times
    assert row["registration_doubt"] == ""  # registered with confidence
    assert Path(row["changes"], "changes.gpkg").is_file()
    assert row["inspection_differs"] == ""  # both epochs inspected alike
    assert "reported as wide" in row["condition_caveat"]  # 1 mm per pixel under the default concrete classes
    assert 1.0 < float(row["edge_rise_px"]) < 2.3  # the generated flights are sharp
    third, _ = scene(200, 400, [straight(20, 60.25, 380, 60.25, 4), straight(60, 150.25, 340, 150.25, 3)], seed=3)
    write_geotiff(folder / "deck.tif", third)  # a third flight, inspected at another threshold
    stricter = SurveyConfig(folder, tmp_path / "survey", inspect={"tile": 128, "overlap": 32, "threshold": 0.6})
    row = next(csv.DictReader(run_survey(stricter, _oracle, log=lambda m: None).csv.open()))
    assert row["epochs"] == "3" and row["inspection_differs"] == "threshold"
