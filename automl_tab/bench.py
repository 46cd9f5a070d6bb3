"""`automl-tab bench`: the full pipeline on several competition folders, one table of figures.

Each competition runs in its own process (as a user would run it), so time and peak memory are
those of a real run. The holdout score needs the folder's `solution.csv`: only this benchmark
reads it, never the pipeline.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics as skm

GREATER_IS_BETTER = {"accuracy", "roc_auc"}


def holdout_score(comp_dir: Path, submission: Path, meta: dict) -> float | None:
    """Score a submission against `solution.csv` (Kaggle's rules: clipped, renormalised
    probabilities; RMSLE on log1p unless the folder's metric_detail says plain log)."""
    solution_path = Path(comp_dir) / "solution.csv"
    if not solution_path.is_file():
        return None
    idc, target, metric = meta["id_column"], meta["target"], meta["metric"]
    sol = pd.read_csv(solution_path, dtype=str, keep_default_na=False)
    sub = pd.read_csv(submission, dtype=str, keep_default_na=False)
    merged = sol.merge(sub, on=idc, suffixes=("_true", ""), validate="one_to_one")
    if len(merged) != len(sol):
        raise ValueError(f"{submission}: ids do not match {solution_path}")
    truth = merged[target + "_true"] if target + "_true" in merged else merged[target]
    if metric == "log_loss" and meta.get("task") == "multiclass":
        classes = [str(c) for c in meta["classes"]]
        proba = np.clip(merged[classes].to_numpy(float), 1e-15, 1 - 1e-15)
        proba /= proba.sum(axis=1, keepdims=True)
        return float(skm.log_loss(truth, proba, labels=classes))
    pred = merged[target]
    if metric == "accuracy":
        return float(skm.accuracy_score(truth, pred))
    if metric == "roc_auc":
        return float(skm.roc_auc_score(truth.astype(int), pred.astype(float)))
    if metric == "log_loss":
        proba = np.clip(pred.astype(float), 1e-15, 1 - 1e-15)
        return float(skm.log_loss(truth.astype(int), proba, labels=[0, 1]))
    yt, yp = truth.astype(float).to_numpy(), pred.astype(float).to_numpy()
    if metric == "rmsle":
        if "log1p" in meta.get("metric_detail", "log1p"):
            yt, yp = np.log1p(yt), np.log1p(np.clip(yp, 0, None))
        else:
            yt, yp = np.log(yt), np.log(np.clip(yp, 1e-9, None))
    if metric == "mae":
        return float(np.mean(np.abs(yt - yp)))
    return float(np.sqrt(np.mean((yt - yp) ** 2)))


def run_one(comp: Path, time_limit: float, seed: int, workroot: Path, extra=()) -> dict:
    """Run `automl-tab run` on one folder in a child process; returns its figures."""
    workdir = workroot / comp.name
    output = workdir / "bench-submission.csv"
    cmd = [sys.executable, "-m", "automl_tab", "run", str(comp), "--time-limit", str(time_limit)]
    cmd += ["--seed", str(seed), "--workdir", str(workdir), "--output", str(output), "--fresh"]
    cmd += list(extra)
    log = workroot / f"{comp.name}.log"
    started = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        peak_tree, peak_process = peak_tree_memory(proc.pid)
        _, status, _ = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    row = {
        "competition": comp.name,
        "seconds": round(time.monotonic() - started, 1),
        "time_limit": time_limit,
        # Sampled, not the child's ru_maxrss: that starts from the launching process's
        # resident memory at fork (a run launched from a 900 MiB process reported 898 MiB).
        "peak_rss_mib": round(peak_process / 2**20, 1),  # the largest single process
        "peak_tree_mib": round(peak_tree / 2**20, 1),
        "exit_code": proc.returncode,
        "log": str(log),
    }
    if proc.returncode != 0:
        row["error"] = log.read_text().strip().splitlines()[-1:]
        return row
    board = json.loads((workdir / "leaderboard.json").read_text())
    schema = json.loads((workdir / "run.json").read_text())["schema"]
    meta = {**schema, **_competition_json(comp)}
    row.update(
        metric=board["metric"],
        cv_score=board["ensemble_cv"],
        holdout_score=holdout_score(comp, output, meta),
        best_by_model=family_holdouts(comp, workdir, board, meta),
        trials=sum(t["state"] == "COMPLETE" for t in board["trials"]),
        trials_by_model=_count_by_model(board["trials"]),
    )
    return row


def family_holdouts(comp: Path, workdir: Path, board: dict, meta: dict) -> dict:
    """The holdout score of each family's best trial (by its search score), alone, as its
    submission would be: which family a change helped, apart from which trials the ensemble
    happened to pick (on small data that choice moves a holdout more than most changes)."""
    from .ensemble import hedged
    from .metrics import get_metric
    from .schema import DatasetSchema
    from .submission import submission_frame
    from .submission import write_submission
    from .workdir import TARGET_FILE
    from .workdir import TEMPLATE_FILE
    from .workdir import open_stores
    from .workdir import read_run

    if not (Path(comp) / "solution.csv").is_file():
        return {}
    run = read_run(workdir)
    schema, stores = DatasetSchema.from_dict(run["schema"]), open_stores(workdir, None, run)
    template = pd.read_csv(workdir / TEMPLATE_FILE, dtype=str)
    rows, metric = len(np.load(workdir / TARGET_FILE)), get_metric(schema.metric)
    scores: dict = {}
    for trial in board["trials"]:  # best first
        family, number = trial["model"], trial["number"]
        if family in scores or trial["state"] != "COMPLETE":
            continue
        if not stores[family].has_predictions(number):
            continue
        full = stores[family].has_predictions(number, full=True)
        _, test = stores[family].load_predictions(number, full=full)
        test = hedged(metric, test, rows)  # as finalize submits it
        frame = submission_frame(template, pd.Series(run["test_ids"]), test, schema)
        path = write_submission(frame, workdir / f"bench-best-{family}.csv", template, schema)
        scores[family] = holdout_score(comp, path, meta)
    return scores


def peak_tree_memory(pid: int, interval: float = 0.1) -> tuple[int, int]:
    """Wait until process `pid` ends (without reaping it) and return the peaks, in bytes, of
    the resident memory of it and all its descendants together (fold workers included) and
    of the largest single process, sampled every `interval` seconds. Pages shared between
    processes count once per process, so the first errs high."""
    import psutil

    root, peak, largest = psutil.Process(pid), 0, 0
    while root.is_running() and root.status() != psutil.STATUS_ZOMBIE:
        try:
            members = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        total = 0
        for member in members:
            # A worker may end between the listing and the reading.
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                rss = member.memory_info().rss
                total, largest = total + rss, max(largest, rss)
        peak = max(peak, total)
        time.sleep(interval)
    return peak, largest


def _competition_json(comp: Path) -> dict:
    path = comp / "competition.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _count_by_model(trials) -> dict:
    counts: dict = {}
    for t in trials:
        if t["state"] == "COMPLETE":
            counts[t["model"]] = counts.get(t["model"], 0) + 1
    return counts


def to_markdown(rows: list[dict]) -> str:
    columns = ["competition", "metric", "CV score", "holdout score", "time (s) / limit"]
    columns += ["peak memory, process tree (MiB)", "trials", "holdout of each family's best"]
    lines = ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    for r in rows:
        if r.get("exit_code"):
            lines.append(f"| {r['competition']} | failed: {' '.join(r.get('error', []))} |||||||")
            continue
        arrow = "↑" if r["metric"] in GREATER_IS_BETTER else "↓"
        holdout = "-" if r["holdout_score"] is None else f"{r['holdout_score']:.5g}"
        per_model = ", ".join(f"{k} {v}" for k, v in sorted(r["trials_by_model"].items()))
        best = r.get("best_by_model") or {}
        bests = ", ".join(f"{k} {v:.5g}" for k, v in sorted(best.items()) if v is not None)
        lines.append(
            f"| {r['competition']} | {r['metric']} {arrow} | {r['cv_score']:.5g} | {holdout} | "
            f"{r['seconds']:.0f} / {r['time_limit']:.0f} | {r['peak_tree_mib']:.0f} | "
            f"{r['trials']} ({per_model}) | {bests or '-'} |"
        )
    return "\n".join(lines) + "\n"


def run_bench(comps, *, time_limit: float, seed: int, out: Path | None, extra=(), echo=print):
    workroot = Path(tempfile.mkdtemp(prefix="automl-tab-bench-"))
    echo(f"bench: workdirs and logs in {workroot}")
    rows = []
    for comp in comps:
        echo(f"bench: {comp.name} (--time-limit {time_limit:g}) ...")
        rows.append(run_one(Path(comp), time_limit, seed, workroot, extra))
    table = to_markdown(rows)
    if out is not None:
        out = Path(out)
        out.write_text(table)
        out.with_suffix(".json").write_text(json.dumps(rows, indent=2))
    return rows, table
