"""Prefect flows in-process, on a Dask LocalCluster, and as deployments served against a real server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import rasterio

from cracks.synthetic import straight
from tests.conftest import make_kaggle
from tests.rasters import scene, write_geotiff
from tests.test_compare import epochs  # noqa: F401  (fixture: two epochs of one site)

pytest.importorskip("prefect")
REPO = Path(__file__).resolve().parent.parent
MODEL = REPO / "models" / "default"


@pytest.fixture(scope="module", autouse=True)
def prefect_home(tmp_path_factory):
    """Each test module gets its own Prefect home (SQLite) and no telemetry."""
    home = tmp_path_factory.mktemp("prefect")
    old = dict(os.environ)
    os.environ.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
                      PREFECT_API_URL="", PREFECT_LOGGING_LEVEL="WARNING",
                      # the ephemeral server's 20 s default is too short on a busy 2-core machine
                      PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180")
    os.environ.pop("PREFECT_API_URL")
    yield home
    os.environ.clear()
    os.environ.update(old)


@pytest.fixture
def small_site(tmp_path) -> Path:
    image, _ = scene(300, 700, [straight(30, 150.25, 670, 150.25, 5), straight(350, 20, 360, 280, 3)])
    return write_geotiff(tmp_path / "bridge_deck.tif", image, gsd_m=0.0005)


def test_fix_flow_uses_the_library(tmp_path):
    from flows.fix import fix

    root = make_kaggle(tmp_path / "ds")
    report = fix(path=str(root))
    assert report["counts"]["rename_folder"] == 1 and report["counts"]["quarantine"] > 0
    assert (root / "manifest.csv").is_file()


def test_compare_flow_calls_the_library(epochs, tmp_path):  # noqa: F811
    from flows.compare import compare

    old_dir, new_dir, _, _ = epochs
    figures = compare(old=str(old_dir), new=str(new_dir), out=str(tmp_path / "c"))
    assert figures["counts"]["new"] == 1 and (tmp_path / "c" / "change-report.pdf").is_file()


def test_inspect_flow_on_dask_matches_default_runner(small_site, tmp_path):
    from prefect_dask import DaskTaskRunner

    from flows.inspect import inspect

    default = inspect(inputs=[str(small_site)], out=str(tmp_path / "default"), model=str(MODEL), tile=256, overlap=32)
    dask_flow = inspect.with_options(task_runner=DaskTaskRunner(
        cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": True}))
    on_dask = dask_flow(inputs=[str(small_site)], out=str(tmp_path / "dask"), model=str(MODEL), tile=256, overlap=32)
    assert default[0]["status"] == on_dask[0]["status"] == "ok"
    threshold = round(json.loads((MODEL / "model.json").read_text())["threshold"] * 255)
    with rasterio.open(tmp_path / "default/bridge_deck/mask.tif") as a, rasterio.open(tmp_path / "dask/bridge_deck/mask.tif") as b:
        here, there = a.read(1).astype(int), b.read(1).astype(int)
    # Dask workers run torch on one thread each: float sums may round one 1/255 step apart
    assert np.abs(here - there).max() <= 1
    assert np.array_equal(here >= threshold, there >= threshold)
    for name in ("cracks.geojson", "cracks.gpkg", "summary.json", "report.pdf"):
        assert (tmp_path / "dask/bridge_deck" / name).is_file()


def _comparable(summary: dict) -> dict:
    """A summary without what must differ between two runs: paths, dates, timings."""
    summary = json.loads(json.dumps(summary))
    summary["processing"] = {k: v for k, v in summary["processing"].items() if k not in ("seconds", "date", "stages_s")}
    summary.pop("outputs", None)
    summary["model"].pop("path", None)
    return {k: v for k, v in summary.items() if k not in ("input", "report", "output_dir")}


def test_cli_and_flow_give_the_same_results(tmp_path):
    """One orchestration (inspection.inspect_site): the command and the flow differ only in paths
    and timestamps: same summary figures, same mask pixels, same GeoJSON features."""
    from rasterio.windows import Window

    from flows.inspect import inspect

    small_site = tmp_path / "bridge_deck.tif"  # a real piece of the sample site, with real cracks
    with rasterio.open(REPO / "sample" / "road_section.tif") as src:
        window = Window(0, 0, 640, 512)
        profile = src.profile | {"width": 640, "height": 512, "transform": src.window_transform(window)}
        with rasterio.open(small_site, "w", **profile) as dst:
            dst.write(src.read(window=window))
    args = [str(small_site), "--out", str(tmp_path / "cli"), "--model", str(MODEL), "--tile", "256", "--overlap", "32"]
    cli = subprocess.run([sys.executable, "-m", "cracks.cli", "inspect", *args], capture_output=True, text=True, cwd=REPO)
    assert cli.returncode == 0, cli.stderr[-2000:]
    flow = inspect(inputs=[str(small_site)], out=str(tmp_path / "flow"), model=str(MODEL), tile=256, overlap=32)
    assert flow[0]["status"] == "ok"
    a, b = tmp_path / "cli" / "bridge_deck", tmp_path / "flow" / "bridge_deck"
    summary_a, summary_b = (json.loads((d / "summary.json").read_text()) for d in (a, b))
    assert summary_a["processing"]["seconds"] > 0 and summary_b["processing"]["seconds"] > 0
    assert _comparable(summary_a) == _comparable(summary_b)
    with rasterio.open(a / "mask.tif") as ma, rasterio.open(b / "mask.tif") as mb:
        assert np.array_equal(ma.read(1), mb.read(1))
    features_a, features_b = (json.loads((d / "cracks.geojson").read_text())["features"] for d in (a, b))
    assert features_a == features_b and len(features_a) >= 1


def test_survey_skips_unchanged_and_isolates_failures(small_site, tmp_path):
    from flows.inspect import survey

    folder = tmp_path / "imagery"
    folder.mkdir()
    (folder / "deck_a.tif").write_bytes(small_site.read_bytes())
    (folder / "broken.tif").write_bytes(b"II*\x00garbage")
    first = survey(folder=str(folder), out=str(tmp_path / "survey"), model=str(MODEL), tile=256, overlap=32,
                   standard="astm-d6433", tta=True)
    assert first["inspected"] == 2 and first["failed"] == [str(folder / "broken.tif")]
    index = json.loads((tmp_path / "survey/survey-index.geojson").read_text())
    by_site = {f["properties"]["site"]: f for f in index["features"]}
    site_summary = json.loads(Path(by_site["deck_a"]["properties"]["summary"]).read_text())
    assert site_summary["standard"]["key"] == "astm-d6433" and site_summary["processing"]["inference"].endswith(
        "+ tta from 0.392 + half-scale check from 0.692")
    assert by_site["deck_a"]["properties"]["status"] == "ok" and by_site["deck_a"]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert by_site["deck_a"]["properties"]["report"].endswith("report.pdf")
    assert by_site["broken"]["properties"]["status"] == "failed" and by_site["broken"]["properties"]["error"]
    assert (tmp_path / "survey/survey-index.csv").read_text().count("\n") == 3
    second = survey(folder=str(folder), out=str(tmp_path / "survey"), model=str(MODEL), tile=256, overlap=32)
    assert second["unchanged"] == 1 and second["inspected"] == 1  # only the broken one is retried
    image, _ = scene(300, 700, [straight(30, 100.25, 670, 100.25, 5)], seed=5)
    write_geotiff(folder / "deck_a.tif", image, gsd_m=0.0005)
    third = survey(folder=str(folder), out=str(tmp_path / "survey"), model=str(MODEL), tile=256, overlap=32)
    assert third["inspected"] == 2  # the changed one and the broken one


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited early:\n{proc.stdout.read() if proc.stdout else ''}")
        try:
            if predicate():
                return
        except Exception:
            pass
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_deployments_run_against_a_real_server(small_site, tmp_path, prefect_home):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(prefect_home), "PYTHONUNBUFFERED": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false"}
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    served = None
    try:
        wait_for(lambda: urllib.request.urlopen(f"{api}/health", timeout=2).status == 200, 120, "prefect server", server)
        served = subprocess.Popen([sys.executable, "-m", "flows.serve"], env=env, cwd=REPO,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

        def deployments_listed() -> bool:
            out = subprocess.run([sys.executable, "-m", "prefect", "deployment", "ls"], env=env, capture_output=True, text=True)
            return all(name in out.stdout for name in ("fix/fix", "train/train", "evaluate/evaluate", "export/export", "inspect/inspect", "compare/compare",
                                                            "survey/survey"))

        wait_for(deployments_listed, 120, "deployments", served)
        dataset = make_kaggle(tmp_path / "ds")
        for name, params in (
            ("fix/fix", {"path": str(dataset)}),
            ("inspect/inspect", {"inputs": [str(small_site)], "out": str(tmp_path / "out"), "model": str(MODEL), "tile": 256}),
        ):
            run = subprocess.run([sys.executable, "-m", "prefect", "deployment", "run", name, "--params", json.dumps(params),
                                  "--watch", "--watch-timeout", "300"], env=env, capture_output=True, text=True, timeout=360)
            assert run.returncode == 0 and "Completed" in run.stdout, run.stdout + run.stderr
        assert (dataset / "manifest.csv").is_file()
        assert (tmp_path / "out/bridge_deck/report.pdf").is_file() and (tmp_path / "out/bridge_deck/cracks.gpkg").is_file()
        schedule = subprocess.run([sys.executable, "-m", "prefect", "deployment", "inspect", "survey/survey"], env=env,
                                  capture_output=True, text=True)
        assert "0 2 * * *" in schedule.stdout
    finally:
        for proc in (served, server):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
