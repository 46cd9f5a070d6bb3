"""Hostile folders refused in one line; odd but valid ones handled; faults; determinism.
All data is generated here."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from click.testing import CliRunner
from helpers import ROOT
from helpers import write_competition

from automl_tab.cli import main
from automl_tab.search import TrialStore


def cli(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "automl_tab", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def _rewrite(path: Path, transform):
    path.write_text(transform(path.read_text()))


BAD_FOLDERS = {
    "empty test": lambda d: (d / "test.csv").write_text(""),
    "header-only train": lambda d: _rewrite(d / "train.csv", lambda t: t.splitlines()[0] + "\n"),
    "test without rows": lambda d: _rewrite(d / "test.csv", lambda t: t.splitlines()[0] + "\n"),
    "binary sample": lambda d: (d / "sample_submission.csv").write_bytes(bytes(range(256)) * 8),
    "not a CSV": lambda d: (d / "train.csv").write_text('{"json": [1, 2, 3]}\n'),
    "no target column": lambda d: _rewrite(d / "train.csv", lambda t: (d / "test.csv").read_text()),
    "ids not matching": lambda d: _rewrite(
        d / "sample_submission.csv", lambda t: t.replace("\n161,", "\n99999,", 1)
    ),
    "duplicated test ids": lambda d: _rewrite(
        d / "test.csv", lambda t: t + t.splitlines()[1] + "\n"
    ),
    "single class": lambda d: _rewrite(d / "train.csv", lambda t: t.replace(",yes\n", ",no\n")),
    "missing sample": lambda d: (d / "sample_submission.csv").unlink(),
    "every feature constant": lambda d: _only_columns(d, lambda n: {"k": 1, "s": "same"}),
    "text of unrepeated words": lambda d: _only_columns(
        d, lambda n: {"note": [f"w{i}a w{i}b" for i in range(n)]}
    ),
}


def _only_columns(d: Path, columns) -> None:
    """Replace the features of train.csv and test.csv by `columns(rows)`."""
    for name in ("train.csv", "test.csv"):
        frame = pd.read_csv(d / name, dtype=str)
        keep = [c for c in ("id", "label") if c in frame]
        frame = frame[keep].assign(**columns(len(frame)))
        frame.to_csv(d / name, index=False)


@pytest.mark.parametrize("case", sorted(BAD_FOLDERS))
def test_bad_folder_is_one_clear_line_and_no_file(case, tmp_path):
    comp = write_competition(tmp_path / "comp", "binary")
    BAD_FOLDERS[case](comp)
    out = tmp_path / "sub.csv"
    args = ["run", comp, "--models", "lgbm", "--workdir", tmp_path / "w", "--output", out]
    result = CliRunner().invoke(main, [str(a) for a in args])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # no exception escaped: no traceback
    assert len(lines) <= 3 and lines[-1].startswith("Error: ")
    assert not out.exists()


def test_a_bad_folder_from_the_shell_has_no_traceback(binary_comp, tmp_path):
    (binary_comp / "test.csv").write_text("")
    proc = cli("run", binary_comp, "--workdir", tmp_path / "w", "--output", tmp_path / "s.csv")
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert proc.returncode == 1 and len(lines) <= 3 and "test.csv is empty" in lines[-1]
    assert "Traceback" not in proc.stderr and not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize(
    "args, word",
    [(["--metric", "f1"], "metric"), (["--task", "ranking"], "--task"),
     (["--backend", "hyperopt"], "--backend"), (["--models", "nn,xgb"], "models")],
)  # fmt: skip
def test_unknown_option_values_are_one_line(args, word, binary_comp, tmp_path):
    argv = ["run", str(binary_comp), "--workdir", str(tmp_path / "w"), *args]
    result = CliRunner().invoke(main, argv)
    lines = result.output.strip().splitlines()
    assert result.exit_code in (1, 2) and len(lines) <= 3 and word in lines[-1], result.output


@pytest.mark.slow  # runs a dozen folders end to end (16 s)
def test_odd_but_valid_folder_is_handled(tmp_path):
    rng = np.random.default_rng(3)
    n, n_test = 300, 80
    frame = pd.DataFrame({"id": np.arange(n + n_test)})
    frame["città"] = rng.choice(["Zürich", "São Paulo", "Kraków", "東京"], size=len(frame))
    frame["constant"] = "same"
    frame["empty"] = ""
    frame["amount"] = [f"{v:,.2f}" for v in rng.uniform(0, 1e6, len(frame))]  # "123,456.78"
    wide = pd.DataFrame(rng.normal(size=(len(frame), 250)).round(3))
    frame = pd.concat([frame, wide.add_prefix("w")], axis=1)  # hundreds of columns
    frame.loc[rng.random(len(frame)) < 0.2, "w0"] = np.nan
    frame["label"] = np.where(frame["w1"] + (frame["città"] == "東京") > 0.3, "ja", "nein")
    train, test = frame.iloc[:n].copy(), frame.iloc[n:].drop(columns="label").copy()
    test.loc[test.index[:5], "città"] = "Reykjavík"  # never seen in train
    train.loc[train.index[:7], "label"] = ""  # some rows without a target
    train["leak"] = 1  # only in train
    comp = tmp_path / "odd"
    comp.mkdir()
    train.to_csv(comp / "train.csv", index=False, encoding="utf-8-sig")  # with a BOM
    test.to_csv(comp / "test.csv", index=False)
    pd.DataFrame({"id": test["id"], "label": "nein"}).to_csv(
        comp / "sample_submission.csv", index=False
    )
    info = cli("info", comp)
    assert info.returncode == 0, info.stderr
    assert "leak" in info.stdout and "constant" in info.stdout and "dropped 7" in info.stdout
    out = tmp_path / "sub.csv"
    proc = cli(
        "run", comp, "--models", "lgbm", "--n-trials", "2", "--time-limit", "120",
        "--workdir", tmp_path / "w", "--output", out,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sub = pd.read_csv(out)
    assert sub["id"].tolist() == test["id"].tolist() and set(sub["label"]) <= {"ja", "nein"}


def test_non_finite_cells_and_targets_run_with_notices(tmp_path):
    comp = write_competition(tmp_path / "comp", "regression")
    for name, cells in (("train.csv", ["inf", "-inf", "1e999"]), ("test.csv", ["inf"])):
        frame = pd.read_csv(comp / name, dtype=str)
        frame.loc[: len(cells) - 1, "x1"] = cells
        if name == "train.csv":
            frame.loc[5, "label"] = "inf"
        frame.to_csv(comp / name, index=False)
    out = tmp_path / "sub.csv"
    proc = cli(
        "run", comp, "--models", "lgbm", "--n-trials", "2", "--workdir", tmp_path / "w",
        "--output", out,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "note: column 'x1': 4 cells (1 in test.csv) are not finite numbers" in proc.stdout
    assert "1 train rows whose 'label' is not a finite number" in proc.stdout
    assert np.isfinite(pd.read_csv(out)["label"]).all()


def run_twice(comp, tmp_path, models, seeds, n_trials):
    subs = []
    for i, seed in enumerate(seeds):
        out = tmp_path / f"sub{i}.csv"
        proc = cli(
            "run", comp, "--models", models, "--n-trials", n_trials, "--time-limit", "600",
            "--seed", seed, "--workdir", tmp_path / f"w{i}", "--output", out,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        subs.append(out.read_bytes())
    return subs


@pytest.mark.slow  # two full runs in real processes (15 s)
def test_same_seed_same_file_lightgbm(multiclass_comp, tmp_path):
    a, b, c = run_twice(multiclass_comp, tmp_path, "lgbm", [1, 1, 2], 2)
    assert a == b and a != c


# Networks: test_objective.test_same_seed_same_result checks bitwise-equal predictions for a
# seed (TensorFlow op determinism); a full network run twice would cost CI a minute and a half.


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_keeps_finished_trials(binary_comp, tmp_path):
    work, out = tmp_path / "w", tmp_path / "sub.csv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "automl_tab", "run", str(binary_comp), "--models", "nn",
         "--time-limit", "300", "--workdir", str(work), "--output", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        # As at a terminal: a shell running CI in the background starts children with SIGINT
        # ignored, and Python then never raises KeyboardInterrupt.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    store = TrialStore(work, "nn", namespace=binary_comp.name)
    started = time.monotonic()
    while time.monotonic() - started < 200:
        if (work / "study.db").is_file() and any(r.state == "COMPLETE" for r in store.records()):
            break
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        pytest.fail(f"no exit 60 s after SIGINT:\n{stdout[-2000:]}\n{stderr[-3000:]}")
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert not out.exists() and not list(work.rglob("*.tmp*"))
    states = [r.state for r in store.records()]
    assert "COMPLETE" in states and "RUNNING" not in states
    assert os.path.getsize(work / "study.db") > 0


SWALLOWING_PROGRAM = """
import signal, sys, time, weakref
from pathlib import Path
from automl_tab import interrupt

class Thing:
    pass

marker = Path(sys.argv[1])
with interrupt.handling(), interrupt.cleanup(lambda: marker.write_text("cleaned")):
    thing = Thing()
    ref = weakref.ref(thing, lambda _: signal.raise_signal(signal.SIGINT))
    del thing  # Ctrl-C lands in a weakref callback: Python reports it and goes on
    time.sleep(60)  # the run would train on
"""


def test_ctrl_c_stops_even_when_a_library_swallows_it(tmp_path):
    marker = tmp_path / "cleaned"
    proc = subprocess.Popen(
        [sys.executable, "-c", SWALLOWING_PROGRAM, str(marker)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "interrupted" in stderr
    assert "Traceback" not in stderr and "ignored" not in stderr
    assert marker.read_text() == "cleaned"


WORKER_PROGRAM = """
import signal, subprocess, sys, time
from automl_tab import interrupt

# Like a fold worker: ignores Ctrl-C, holds our output pipes and trains on for two minutes.
worker = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(120)"])
print(worker.pid, flush=True)
time.sleep(1)
try:
    with interrupt.handling():
        signal.raise_signal(signal.SIGINT)
        time.sleep(60)
except KeyboardInterrupt:
    interrupt.exit_now()
"""


def test_ctrl_c_kills_the_workers_that_ignore_it(tmp_path):
    """The caller's pipes close with the run: no worker trains on after it has exited."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER_PROGRAM],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    stdout, stderr = proc.communicate(timeout=30)  # waits for every holder of the pipes
    assert proc.returncode == 130 and "interrupted" in stderr
    assert _dead_within(int(stdout.split()[0]), seconds=5.0)


def _dead_within(pid: int, seconds: float) -> bool:
    """Whether `pid` is gone, or dead and not yet reaped, within `seconds`: a killed process
    closes its pipes (so communicate() returns) a moment before it becomes a zombie, and on
    a loaded machine its status read in between is still "running"."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def test_resuming_with_other_folds_is_refused_in_one_line(binary_comp, tmp_path):
    """Trials scored on one seed's folds cannot join a study of another seed's folds: the
    ensemble would pair out-of-fold predictions of different rows."""
    work = tmp_path / "w"
    base = ["run", binary_comp, "--models", "lgbm", "--n-trials", "1", "--workdir", work]
    first = CliRunner().invoke(main, [str(a) for a in base])
    assert first.exit_code == 0, first.output
    store = TrialStore(work, "lgbm", namespace=binary_comp.name)
    assert len(store.records()) == 1

    other_seed = CliRunner().invoke(main, [str(a) for a in [*base, "--seed", "1"]])
    assert other_seed.exit_code == 1 and isinstance(other_seed.exception, SystemExit)
    last = other_seed.output.strip().splitlines()[-1]
    assert "--seed is 1" in last and "--seed 0" in last and "--fresh" in last
    assert len(store.records()) == 1  # nothing of the refused run was stored

    train = binary_comp / "train.csv"
    train.write_text("".join(train.read_text().splitlines(keepends=True)[:-5]))
    fewer_rows = CliRunner().invoke(main, [str(a) for a in base])
    assert fewer_rows.exit_code == 1 and "training data differs" in fewer_rows.output

    fresh = CliRunner().invoke(main, [str(a) for a in [*base, "--seed", "1", "--fresh"]])
    assert fresh.exit_code == 0, fresh.output


def test_a_resumed_run_keeps_its_plans_folds_and_refuses_others(binary_comp, tmp_path):
    """The plan is stored with the run: resuming without --n-splits scores new trials on the
    same folds (even more than one repetition of the K-fold); another --n-splits is refused."""
    work = tmp_path / "w"
    base = ["run", binary_comp, "--models", "lgbm", "--workdir", work]
    first = CliRunner().invoke(main, [str(a) for a in [*base, "--n-trials", "1", "--n-splits", 12]])
    assert first.exit_code == 0, first.output
    assert "lgbm on 12 folds of a repeated 5-fold" in first.output
    again = CliRunner().invoke(main, [str(a) for a in [*base, "--n-trials", "2"]])
    assert again.exit_code == 0, again.output
    assert "plan (resumed): lgbm on 12 folds" in again.output
    records = TrialStore(work, "lgbm", namespace=binary_comp.name).records()
    assert [len(r.split_scores) for r in records] == [12, 12]
    other = CliRunner().invoke(main, [str(a) for a in [*base, "--n-trials", "3", "--n-splits", 3]])
    assert other.exit_code == 1
    assert "--n-splits is 3" in other.output and "12 folds" in other.output
