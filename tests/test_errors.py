"""The error hierarchy: what the user can fix is one line; a bug keeps its traceback."""

from __future__ import annotations

import pytest
import typer

from cracks import cli
from cracks.errors import CracksError, InputError, ModelError, SettingError
from cracks.models import artifact
from cracks.standards import get_standard
from tiling.windows import plan_windows


def test_each_kind_of_problem_has_its_own_class(tmp_path):
    with pytest.raises(ModelError, match="not a model artifact"):
        artifact.load(tmp_path)
    with pytest.raises(SettingError, match="unknown standard") as setting:
        get_standard("iso-nonsense")
    assert setting.value.as_option().startswith("--standard 'iso-nonsense'")
    with pytest.raises(SettingError, match="overlap"):
        plan_windows(1000, 1000, tile=256, overlap=300)
    assert issubclass(InputError, CracksError) and issubclass(ModelError, CracksError)
    assert issubclass(SettingError, ValueError)  # callers that caught ValueError keep working


def _exit_code(fn, *args) -> int:
    with pytest.raises(typer.Exit) as stop:
        cli.run_safely(fn, *args)
    return stop.value.exit_code


def test_cli_turns_user_errors_into_one_line(tmp_path, capsys):
    assert _exit_code(artifact.load, tmp_path) == 2
    assert _exit_code(get_standard, "iso-nonsense") == 2
    assert _exit_code(open, tmp_path / "missing.tif") == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 3 and all(line.startswith("error:") for line in lines)
    assert "--standard 'iso-nonsense'" in lines[1]


def test_error_lines_keep_brackets_in_file_names(tmp_path, capsys):
    """Brackets are rich markup: "site[old].tif" came out as "site.tif", naming a file that is not there."""
    from tiling.raster import open_raster

    assert _exit_code(open_raster, tmp_path / "site[old].tif") == 2
    assert "site[old].tif: no such file" in capsys.readouterr().err


def test_cli_lets_programming_errors_show_their_traceback():
    def buggy():
        raise ValueError("a bug, not a user's mistake")

    with pytest.raises(ValueError, match="a bug"):
        cli.run_safely(buggy)
    with pytest.raises(KeyError):
        cli.run_safely(dict().__getitem__, "width")


def test_console_script_keeps_exit_codes(tmp_path):
    """``cracks`` (cracks.cli.main) exits as the command says, after freezing the collector."""
    import subprocess
    import sys

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", "from cracks.cli import main; main()", *args],
                              capture_output=True, text=True, cwd=tmp_path)

    assert run("--help").returncode == 0
    failed = run("inspect", str(tmp_path / "missing.tif"), "--out", str(tmp_path / "out"))
    assert failed.returncode != 0 and "missing.tif" in failed.stderr


@pytest.mark.parametrize("chosen", [None, "2"])
def test_console_script_runs_openblas_on_one_thread_unless_told_otherwise(tmp_path, chosen):
    """numpy's and SciPy's OpenBLAS threads spin at start-up on cores the model needs: the
    console script starts them single-threaded, before numpy is imported; a user's choice stands."""
    import json
    import os
    import subprocess
    import sys

    pytest.importorskip("threadpoolctl")
    code = ("import json, sys; from cracks import cli; assert 'numpy' not in sys.modules; "
            "sys.argv = ['cracks', '--help']\ntry: cli.main()\nexcept SystemExit: pass\n"
            "import numpy, scipy.linalg; from threadpoolctl import threadpool_info; "
            "print(json.dumps([p['num_threads'] for p in threadpool_info() if p['internal_api'] == 'openblas']))")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if chosen:
        env["OPENBLAS_NUM_THREADS"] = chosen
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    threads = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(threads) >= 1 and set(threads) == {int(chosen or 1)}
