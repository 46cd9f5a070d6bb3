import subprocess
import sys

import pytest
from click.testing import CliRunner

from automl_tab.cli import main


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result, f"exit {result.exit_code}\n{result.output}"


def test_info_prints_the_schema(binary_comp):
    result, log = invoke("info", binary_comp)
    assert result.exit_code == 0, log
    assert "task: binary" in result.output and "target: label" in result.output
    assert "categorical: 1: color" in result.output


def test_info_with_override(binary_comp):
    result, log = invoke("info", binary_comp, "--metric", "log_loss")
    assert result.exit_code == 0, log
    assert "metric: log_loss" in result.output


@pytest.mark.parametrize("command", ["info", "run", "tune-nn"])
def test_missing_test_csv_is_one_line_without_traceback(binary_comp, command):
    (binary_comp / "test.csv").unlink()
    proc = subprocess.run(
        [sys.executable, "-m", "automl_tab", command, str(binary_comp)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert "test.csv" in lines[-1] and "not found" in lines[-1]
    assert "Traceback" not in proc.stderr
    assert len([line for line in lines if line.startswith("Error")]) == 1


def test_unknown_backend_is_refused(binary_comp):
    result, log = invoke("run", binary_comp, "--backend", "grid")
    assert result.exit_code == 2 and "grid" in result.output, log


def test_submit_needs_a_finished_run(tmp_path):
    result, log = invoke("submit", tmp_path)
    assert result.exit_code == 1 and "no finished run" in result.output, log


def test_unwritable_workdir(binary_comp, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result, log = invoke("run", binary_comp, "--workdir", blocker / "sub", "--n-trials", "1")
    assert result.exit_code == 1 and "cannot be written" in result.output, log


def test_help_is_fast_and_light():
    code = (
        "import sys; from automl_tab.cli import main; "
        "sys.argv=['automl-tab','--help']\n"
        "try:\n main()\nexcept SystemExit:\n pass\n"
        "assert 'tensorflow' not in sys.modules and 'optuna' not in sys.modules"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
