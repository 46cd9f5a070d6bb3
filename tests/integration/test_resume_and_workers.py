"""Resume after SIGKILL, and two workers sharing one study in PostgreSQL (real processes)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import ROOT

from automl_tab.search import TrialStore

POSTGRES = os.environ.get("AUTOML_TAB_TEST_POSTGRES")
pytestmark = pytest.mark.slow


def automl_tab(*args):
    return [sys.executable, "-m", "automl_tab", *map(str, args)]


def finished(workdir, comp_name):
    store = TrialStore(workdir, "nn", namespace=comp_name)
    if not (workdir / "study.db").is_file():
        return []
    return [r for r in store.records() if r.state == "COMPLETE"]


def test_sigkill_then_rerun_keeps_finished_trials(binary_comp, tmp_path):
    work = tmp_path / "w"
    command = automl_tab(
        "tune-nn", binary_comp, "--n-trials", "5", "--time-limit", "240", "--workdir", work,
        "--top-k", "1", "--n-splits", "2",  # the plan would score 10 folds: 3x CI's time
    )  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    started = time.monotonic()
    while len(finished(work, binary_comp.name)) < 2 and time.monotonic() - started < 180:
        time.sleep(0.5)
    time.sleep(1.0)  # most likely in the middle of the next trial
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {r.number: r.params for r in finished(work, binary_comp.name)}
    assert len(before) >= 2
    assert not list(work.glob("*.tmp")) and not list(work.glob("submission*"))

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    after = {r.number: r.params for r in finished(work, binary_comp.name)}
    assert len(after) == 5
    assert all(after[n] == params for n, params in before.items())  # same numbers, same params
    board = subprocess.run(
        automl_tab("leaderboard", work, "--json"), capture_output=True, text=True, cwd=ROOT
    )
    states = [t["state"] for t in json.loads(board.stdout)]
    assert states.count("COMPLETE") == 5 and "RUNNING" not in states


@pytest.mark.skipif(
    not POSTGRES and not os.environ.get("CI"), reason="set AUTOML_TAB_TEST_POSTGRES (.ci/postgres)"
)
def test_two_workers_share_one_postgres_study(binary_comp, tmp_path):
    assert POSTGRES, "CI must start PostgreSQL: export AUTOML_TAB_TEST_POSTGRES=$(.ci/postgres)"
    url = POSTGRES
    name = f"shared-{os.getpid()}-{time.time_ns()}"  # a fresh study per test run
    comp = binary_comp.rename(binary_comp.parent / name)
    workers = [
        subprocess.Popen(
            automl_tab(
                "tune-nn",
                comp,
                "--n-trials",
                "10",
                "--n-splits",  # the plan would score 10 folds a trial: 3x CI's time
                "2",
                "--time-limit",
                "300",
                "--storage",
                url,
                "--workdir",
                tmp_path / f"worker{i}",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )  # fmt: skip
        for i in range(2)
    ]
    logs = [w.communicate(timeout=400)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], logs
    assert all(" nn trial " in log for log in logs)  # both workers ran trials
    board = subprocess.run(
        automl_tab("leaderboard", tmp_path / "worker0", "--storage", url, "--json"),
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    trials = json.loads(board.stdout)
    numbers = [t["number"] for t in trials]
    assert len(numbers) == len(set(numbers))
    assert sum(t["state"] == "COMPLETE" for t in trials) == 10


def test_workers_on_one_study_follow_its_earliest_plan(tmp_path):
    """Each worker stores its plan under its own time-ordered key; everyone follows the
    earliest (Optuna has no "set if absent", so two workers starting together still agree)."""
    store = TrialStore(tmp_path, "lgbm")
    study = store.open_study()
    assert store.shared_plan(study) is None
    first = {"folds": {"lgbm": 10}}
    assert store.shared_plan(study, first) == first
    assert store.shared_plan(study, {"folds": {"lgbm": 1}}) == first  # not stored: one exists
    study.set_user_attr("plan:00000000000000000001:1", {"folds": {"lgbm": 2}})  # a racer
    assert store.shared_plan(store.open_study()) == {"folds": {"lgbm": 2}}
