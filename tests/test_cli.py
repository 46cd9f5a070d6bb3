import json
import subprocess
import sys

import pandas as pd
import pytest
from helpers import invoke


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
        "heavy = {'tensorflow', 'optuna', 'pandas', 'sklearn', 'lightgbm'} & set(sys.modules)\n"
        "assert not heavy, heavy"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_lightgbm_run_then_leaderboard_and_submit(multiclass_comp, tmp_path):
    work = tmp_path / "w"
    result, log = invoke(
        "run", multiclass_comp, "--models", "lgbm", "--n-trials", "4", "--time-limit", "60",
        "--workdir", work, "--output", tmp_path / "sub.csv",
    )  # fmt: skip
    assert result.exit_code == 0, log
    assert "cross-validated log_loss of the ensemble" in log and "submission written" in log
    page = (work / "report.html").read_text()
    # The plots are embedded in the page (a classification gets its confusion matrix).
    assert page.count("<img") >= 4 and "Confusion matrix and calibration" in page
    (work / "report.html").unlink()
    result, log = invoke("report", work)
    assert result.exit_code == 0 and "plots" in log
    assert (work / "report.html").read_text().count("data:image/png;base64") >= 4
    assert (work / "report.md").is_file() and list((work / "report_files").glob("*.png"))
    result, log = invoke("leaderboard", work, "--json")
    assert result.exit_code == 0, log
    trials = json.loads(result.output)
    assert len(trials) == 4 and {t["state"] for t in trials} == {"COMPLETE"}
    assert {"number", "state", "score", "params"} <= set(trials[0])
    scores = [t["score"] for t in trials]
    assert scores == sorted(scores)  # log loss: best (lowest) first
    result, log = invoke("leaderboard", work)
    assert result.exit_code == 0 and "4 trials (log_loss" in log
    result, log = invoke("submit", work, "--output", tmp_path / "again.csv", "--top-k", "2")
    assert result.exit_code == 0, log
    sample = pd.read_csv(multiclass_comp / "sample_submission.csv")
    again = pd.read_csv(tmp_path / "again.csv")
    assert list(again.columns) == list(sample.columns) and len(again) == len(sample)


def test_quiet_run_prints_results_only(binary_comp, tmp_path):
    result, log = invoke(
        "run", binary_comp, "--models", "lgbm", "--n-trials", "2", "--time-limit", "60",
        "--workdir", tmp_path / "w", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, log
    assert "trial " not in log.split("ensemble")[0] and "submission written" in log
