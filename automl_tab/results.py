"""What a finished run yields: its trials, the leaderboard, and the ensemble submission.

Everything here reads the workdir (run.json, the trial store, saved predictions) and never
trains, so `submit` and `leaderboard` rebuild results in seconds without TensorFlow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .ensemble import blend
from .ensemble import candidates
from .ensemble import covered_rows
from .ensemble import ensemble_weights
from .ensemble import hedged
from .ensemble import oof_score
from .ensemble import score_on
from .ensemble import top_trials
from .ensemble import without_weaker_partials
from .exceptions import AutomlTabError
from .metrics import get_metric
from .metrics import selection_metric
from .schema import DatasetSchema
from .search.trial import TrialRecord
from .submission import submission_frame
from .submission import write_submission
from .workdir import TARGET_FILE
from .workdir import TEMPLATE_FILE
from .workdir import json_default
from .workdir import load_trials
from .workdir import open_stores
from .workdir import read_run
from .workdir import write_json


def leaderboard(records: list[TrialRecord]) -> list[TrialRecord]:
    """Completed trials best first, then the rest by number."""
    done = top_trials(records, len(records))
    rest = sorted((r for r in records if r not in done), key=lambda r: r.number)
    return done + rest


@dataclass(frozen=True)
class FinalResult:
    submission: Path
    members: list[tuple[TrialRecord, float]]  # (trial, blend weight)
    cv_score: float
    cv_rows: int
    metric: str
    oof_scores: dict = None  # (model, number) -> the candidate's own out-of-fold score


def finalize(
    workdir: Path, *, top_k: int, output: Path | None = None, storage: str | None = None
) -> FinalResult:
    """Blend the test predictions of the best trials and write the submission.

    Candidates are the `top_k` best trials of each family, each with its widest predictions
    (every training row when it was completed on all folds, else the search folds' rows); a
    trial not completed stays only if it beats every completed trial of its family.
    Caruana's greedy selection on the out-of-fold predictions sets the weights, on the rows
    every candidate covers, so a weak candidate gets weight 0 instead of diluting the best.
    When the members it picks were all completed, the selection is redone among the completed
    candidates on every row (more rows, steadier weights and score); a better trial that was
    not completed is never dropped for a weaker completed one. For log loss every candidate
    is hedged first (ensemble.hedged), so the members' scores, the selection, the blend and
    its score all see what is submitted. Each candidate's test prediction
    is the mean of its fold models, so no refit is needed: this costs seconds and `submit` can
    redo it.
    """
    workdir = Path(workdir)
    run = read_run(workdir)
    schema = DatasetSchema.from_dict(run["schema"])
    records = load_trials(workdir, storage)
    stores = open_stores(workdir, storage, run)
    pool = [r for r in candidates(records, top_k) if stores[r.model].has_predictions(r.number)]
    if not pool:
        raise AutomlTabError(
            f"no completed trial in {workdir}; give the run more --time-limit or --n-trials"
        )
    full = [stores[r.model].has_predictions(r.number, full=True) for r in pool]
    pool, full = without_weaker_partials(pool, full)
    preds = [stores[r.model].load_predictions(r.number, full=f) for r, f in zip(pool, full)]
    metric = get_metric(schema.metric)
    y = np.load(workdir / TARGET_FILE)
    # Each candidate hedged before anything is chosen or scored: its own out-of-fold score,
    # the selection and the blend then all see what is submitted.
    oofs = [hedged(metric, oof, len(y)) for oof, _ in preds]
    tests = [hedged(metric, test, len(y)) for _, test in preds]
    weights = ensemble_weights(selection_metric(metric), y, oofs, full)
    picked = [i for i, w in enumerate(weights) if w > 0]
    oof_blend = blend([oofs[i] for i in picked], weights[picked])
    cv, n_rows = oof_score(metric, y, oof_blend)
    members = [(pool[i], float(weights[i])) for i in picked]
    template = pd.read_csv(workdir / TEMPLATE_FILE, dtype=str)
    test_blend = blend([tests[i] for i in picked], weights[picked])
    frame = submission_frame(template, pd.Series(run["test_ids"]), test_blend, schema)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(output) if output else workdir / f"submission-{stamp}.csv"
    write_submission(frame, path, template, schema)
    rows = covered_rows(oof_blend)
    singles = {(r.model, r.number): score_on(metric, y, oof, rows) for r, oof in zip(pool, oofs)}
    write_leaderboard(workdir, records, members, cv, metric.name, singles)
    return FinalResult(path, members, cv, n_rows, metric.name, singles)


def write_leaderboard(
    workdir: Path, records, members, cv: float | None, metric: str, oof_scores=None
) -> None:
    """leaderboard.json and .csv: every trial best first, with its out-of-fold score (where
    it was an ensemble candidate) and its ensemble weight."""
    ordered = leaderboard(records)
    weight = {(m.model, m.number): w for m, w in members}
    oof_scores = oof_scores or {}
    rows = []
    for rank, r in enumerate(ordered, 1):
        key = (r.model, r.number)
        row = {
            "rank": rank,
            **r.to_dict(),
            "oof_score": oof_scores.get(key),
            "weight": weight.get(key, 0.0),
        }
        rows.append(row)
    write_json(workdir / "leaderboard.json", {"metric": metric, "ensemble_cv": cv, "trials": rows})
    flat = pd.DataFrame(
        [
            {
                **{k: v for k, v in row.items() if k != "params"},
                "params": json.dumps(row["params"], default=json_default),
            }
            for row in rows
        ]
    )
    flat.to_csv(workdir / "leaderboard.csv", index=False)
