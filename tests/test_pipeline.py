"""Real runs on small shipped competitions with tiny budgets (marked slow)."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import ROOT
from helpers import SHARED

pytestmark = pytest.mark.slow


def cli(*args, timeout=300):
    proc = subprocess.run(
        [sys.executable, "-m", "automl_tab", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def holdout_score(comp: str, submission: Path) -> float | None:
    scorer = SHARED / "bench" / "score.py"
    if not (SHARED / "competitions" / comp / "solution.csv").is_file():
        return None
    out = subprocess.run(
        [sys.executable, str(scorer), str(SHARED / "competitions" / comp), str(submission)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def test_run_penguins_end_to_end(tmp_path):
    out = tmp_path / "penguins.csv"
    log = cli(
        "run",
        ROOT / "competitions" / "penguins",
        "--top-k",
        "2",
        "--n-trials",
        "2",
        "--time-limit",
        "120",
        "--workdir",
        tmp_path / "w",
        "--output",
        out,
    )
    assert "submission written" in log
    assert all(f"{family} trial   1" in log for family in ("nn", "lgbm", "xt"))
    assert "cross-validated log_loss of the ensemble" in log
    sample = pd.read_csv(ROOT / "competitions" / "penguins" / "sample_submission.csv")
    sub = pd.read_csv(out)
    assert list(sub.columns) == list(sample.columns)
    assert sub["id"].tolist() == sample["id"].tolist()
    leaderboard = pd.read_csv(tmp_path / "w" / "leaderboard.csv")
    assert len(leaderboard) == 6 and set(leaderboard["model"]) == {"nn", "lgbm", "xt"}
    assert leaderboard["weight"].sum() == pytest.approx(1)
    # every ensemble member has an out-of-fold score over all rows; the blend is no worse
    members = leaderboard[leaderboard["weight"] > 0]
    summary = json.loads((tmp_path / "w" / "leaderboard.json").read_text())
    assert members["oof_score"].notna().all()
    assert summary["ensemble_cv"] <= members["oof_score"].min() + 1e-12
    score = holdout_score("penguins", out)
    if score is None:
        pytest.skip("no answer key in ../shared: the hold-out score was not checked")
    assert score < 0.3  # the uniform guess scores 1.10


def test_tune_nn_then_submit_with_bayes_opt(binary_comp, tmp_path):
    comp = binary_comp
    work = tmp_path / "w"

    def tune(n_trials):
        return cli(
            "tune-nn", comp, "--top-k", "1", "--backend", "bayes_opt", "--n-trials", n_trials,
            "--init-points", "2", "--time-limit", "120", "--workdir", work, "--n-splits", 2,
        )  # fmt: skip

    log = tune(3)
    assert "best parameters" in log
    first = cli("submit", work, "--output", tmp_path / "a.csv", "--top-k", "2")
    cli("submit", work, "--output", tmp_path / "b.csv", "--top-k", "2")
    assert "submission written" in first
    a, b = (tmp_path / "a.csv").read_bytes(), (tmp_path / "b.csv").read_bytes()
    assert a == b  # regenerating from the store is deterministic
    sub = pd.read_csv(tmp_path / "a.csv")
    assert set(sub["label"]) <= {"yes", "no"} and len(sub) == 60
    # rerunning the same command resumes the study: 3 trials kept, 1 more run
    log = tune(4)
    assert "trial   3" in log and "trial   2 |" not in log
