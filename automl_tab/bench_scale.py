"""`automl-tab bench-scale`: how the pipeline copes with data far larger than the public folders.

It writes a synthetic binary competition of N rows x M columns in Kaggle layout (numeric
columns, a third of them skewed, 5 % missing cells; categorical columns with 3 up to 100,000
levels of skewed frequency; a target that depends on both, so there is something to learn),
times reading it and one preprocessing pass over all training rows, and then runs it as
`automl-tab bench` does: one `run` in a child process, scored on the hidden answer key, with
the peak memory of the whole process tree (fold workers included).
"""

from __future__ import annotations

import json
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

NUMERIC_SHARE = 0.7  # of the M columns; the rest are categorical
SKEWED_EVERY = 3  # every third numeric column is log-normal
MISSING_SHARE = 0.05
MAX_LEVELS = 100_000
TEST_SHARE = 0.2  # test rows, as a share of the N training rows
TARGET = "target"


def make_competition(root: Path, rows: int, cols: int, seed: int = 0) -> Path:
    """Write train.csv, test.csv, sample_submission.csv, solution.csv and competition.json
    of a synthetic binary competition (roc_auc) into `root`; returns `root`."""
    rng = np.random.default_rng(seed)
    n = rows + max(1, int(rows * TEST_SHARE))
    n_numeric = max(1, round(cols * NUMERIC_SHARE))
    columns: dict[str, np.ndarray] = {"id": np.arange(1, n + 1)}
    logit = np.zeros(n)
    for j in range(n_numeric):
        x = rng.normal(size=n)
        logit += rng.normal() * x / np.sqrt(n_numeric)
        if j % SKEWED_EVERY == 0:
            x = np.exp(x)
        x[rng.random(n) < MISSING_SHARE] = np.nan
        columns[f"num{j}"] = x.round(5)
    n_categorical = cols - n_numeric
    levels = np.geomspace(3, max(3, min(MAX_LEVELS, n // 2)), max(n_categorical, 1)).astype(int)
    for j in range(n_categorical):
        # Zipf-like frequencies: a few common levels, a long tail of rare ones.
        codes = np.minimum(rng.pareto(1.2, size=n).astype(np.int64), levels[j] - 1)
        logit += rng.normal(scale=0.7, size=levels[j])[codes] / np.sqrt(n_categorical)
        text = pd.Series(codes).map("L{}".format)
        text[rng.random(n) < MISSING_SHARE] = None
        columns[f"cat{j}"] = text.to_numpy(dtype=object)
    frame = pd.DataFrame(columns)
    frame[TARGET] = (rng.random(n) < 1 / (1 + np.exp(-2 * logit))).astype(int)
    _write(Path(root), frame, rows)
    return Path(root)


def _write(root: Path, frame: pd.DataFrame, rows: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    train, test = frame.iloc[:rows], frame.iloc[rows:]
    train.to_csv(root / "train.csv", index=False)
    test.drop(columns=TARGET).to_csv(root / "test.csv", index=False)
    pd.DataFrame({"id": test["id"], TARGET: 0.5}).to_csv(
        root / "sample_submission.csv", index=False
    )
    test[["id", TARGET]].to_csv(root / "solution.csv", index=False)
    meta = {"target": TARGET, "id_column": "id", "task": "binary", "metric": "roc_auc"}
    (root / "competition.json").write_text(json.dumps(meta))


def time_reading(folder: Path) -> dict:
    """Seconds to load the folder and to preprocess all its training rows once (what one
    fold's preprocessing costs, a little more), and the width that gives."""
    from .competition import load_competition
    from .pipeline import training_data
    from .preprocessing import build_preprocessor
    from .schema import infer_schema

    started = time.monotonic()
    comp = load_competition(folder)
    loaded = time.monotonic()
    schema = infer_schema(comp)
    X, y, _ = training_data(comp, schema)
    width = build_preprocessor(schema).fit(X).transform(X).shape[1]
    return {
        "load_seconds": round(loaded - started, 1),
        "preprocess_seconds": round(time.monotonic() - loaded, 1),
        "features_after_preprocessing": int(width),
    }


def run_bench_scale(
    rows: int,
    cols: int,
    *,
    time_limit: float,
    seed: int,
    models: str,
    folder: Path | None = None,
    echo=print,
) -> dict:
    """Generate (unless `folder` already holds it), time reading, run, and return the figures."""
    from .bench import run_one

    workroot = Path(tempfile.mkdtemp(prefix="automl-tab-scale-"))
    folder = Path(folder) if folder is not None else workroot / f"synthetic-{rows}x{cols}"
    figures: dict = {"rows": rows, "cols": cols}
    if not (folder / "train.csv").is_file():
        echo(f"bench-scale: writing {rows} x {cols} into {folder} ...")
        started = time.monotonic()
        make_competition(folder, rows, cols, seed)
        figures["generate_seconds"] = round(time.monotonic() - started, 1)
    figures["train_csv_mib"] = round((folder / "train.csv").stat().st_size / 2**20, 1)
    echo("bench-scale: timing load and one preprocessing pass ...")
    # In a process of its own, so that none of its memory stays in this one during the run.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        figures.update(pool.submit(time_reading, folder).result())
    echo(f"bench-scale: run --time-limit {time_limit:g} (logs in {workroot}) ...")
    figures.update(run_one(folder, time_limit, seed, workroot, ("--models", models)))
    return figures


def scale_line(f: dict) -> str:
    """One line of figures for the terminal and the issue notes."""
    head = (
        f"{f['rows']} x {f['cols']} ({f['train_csv_mib']} MiB train.csv): load "
        f"{f['load_seconds']} s, preprocess {f['preprocess_seconds']} s "
        f"({f['features_after_preprocessing']} features)"
    )
    if f.get("exit_code"):
        return f"{head}; run failed: {' '.join(f.get('error', []))}"
    trials = ", ".join(f"{k} {v}" for k, v in sorted(f["trials_by_model"].items()))
    return (
        f"{head}; run {f['seconds']} s of {f['time_limit']:g}, peak memory "
        f"{f['peak_tree_mib']:.0f} MiB (process tree), trials {trials}, "
        f"{f['metric']} CV {f['cv_score']:.5f} holdout {f['holdout_score']:.5f}"
    )
