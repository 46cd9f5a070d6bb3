"""The search loop: ask, score, store, tell, until the trial counts or the clock say stop.

Several model families (stages) share one clock, owned by a Budget (budget.py): the next
trial goes to the family furthest behind its share, each trial gets the deadline the budget
gives it, and after each trial the budget hears how long completing the family's best trial
would take and, when the family's best trials changed, how much weight each family has in
an ensemble of the best trials so far (shares follow that evidence).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

import numpy as np

from .. import interrupt
from ..budget import COMPLETION_MARGIN
from ..budget import Budget
from ..ensemble import candidates
from ..ensemble import covered_rows
from ..ensemble import greedy_weights
from ..exceptions import AutomlTabError
from ..exceptions import TrialFailed
from ..metrics import selection_metric
from .store import TrialStore
from .trial import TrialRecord
from .trial import TrialState

MAX_CONSECUTIVE_FAILURES = 5
WAIT_SECONDS = 1.0
EVIDENCE_TOP = 3  # best trials of each family in the ensemble that re-shares the time
EVIDENCE_ROUNDS = 10
# Rows the families' best trials must all have validated before their ensemble re-shares the
# time. penguins at 60 s: the forests drew one fold (52 rows, a fit measured at 0.8 s rather
# than 0.66), the networks lost their weight on those rows and got one trial in the run.
MIN_EVIDENCE_ROWS = 100


@dataclass
class Stage:
    """One model family's search: its objective, optimizer and store."""

    name: str
    objective: object
    optimizer: object
    store: TrialStore
    durations: list = field(default_factory=list)
    failures: int = 0
    done: bool = False
    # (loss, number, out-of-fold predictions) of its best trials, best first, and whether
    # the last trial entered them: the evidence the shares follow.
    best: list = field(default_factory=list)
    improved: bool = False

    @property
    def base_share(self) -> float:
        """The family's initial share of the search relative to the others (1 by default)."""
        return float(getattr(self.objective.model_cls, "base_share", 1.0))

    def counts(self) -> tuple[int, int]:
        """(completed, running) trials of the study, all workers included."""
        states = [r.state for r in self.store.records(self.optimizer.study)]
        return states.count(TrialState.COMPLETE), states.count(TrialState.RUNNING)

    def completed(self) -> list[TrialRecord]:
        done = [
            r for r in self.store.records(self.optimizer.study) if r.state == TrialState.COMPLETE
        ]
        return sorted(done, key=lambda r: (r.loss, r.number))

    def completion_seconds(self, record: TrialRecord) -> float:
        """Expected time to fit `record`'s trial on the folds the search left out: its mean
        fold time per round of folds fitted at once, with COMPLETION_MARGIN."""
        objective = self.objective
        rounds = objective.rounds(len(objective.splits) - objective.n_splits)
        fold_seconds = record.split_seconds or (0.0,)
        return COMPLETION_MARGIN * rounds * float(np.mean(fold_seconds))

    def best_completion_seconds(self) -> float:
        done = self.completed()
        return self.completion_seconds(done[0]) if done else 0.0


def run_stages(
    stages: list[Stage],
    budget: Budget,
    *,
    metric,
    n_trials: int | None,
    on_trial: Callable[[TrialRecord], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> int:
    """Run trials until each study holds `n_trials` completed ones or time runs short.

    Other workers may share a study: when completed plus running trials reach `n_trials`,
    this worker waits for the running ones (a dead worker's trial is failed after its
    heartbeat stops and then run again here), so the study completes exactly `n_trials`.

    `budget` (opened with the stages' shares) picks the family of each trial and its
    deadline; a family's next trial starts only while half the median duration of its trials
    in this session is left before the search deadline (Budget.trial_fits). A failing trial
    is recorded and the search goes on; after MAX_CONSECUTIVE_FAILURES in a row a family
    stops (and the run stops if no family is left). KeyboardInterrupt marks the running
    trial failed and propagates. Returns the number of trials run here.
    """
    for stage in stages:  # earlier runs' best trials count as evidence too
        done = [t for t in stage.completed() if stage.store.has_predictions(t.number)]
        stage.best = [
            (t.loss, t.number, stage.store.load_predictions(t.number)[0])
            for t in done[:EVIDENCE_TOP]
        ]
    ran = 0
    while True:
        interrupt.check()
        status = {s.name: _status(s, n_trials, budget) for s in stages if not s.done}
        active = [s for s in stages if status.get(s.name) == "go"]
        if not active:
            waiting = [s for s in stages if status.get(s.name) == "wait"]
            if not waiting:
                break
            time.sleep(WAIT_SECONDS)
            for s in waiting:
                s.optimizer.fail_stale()
            continue
        name = budget.next_family([s.name for s in active], {s.name: _typical(s) for s in active})
        stage = next(s for s in active if s.name == name)
        if on_stage is not None:
            on_stage(f"searching {stage.name}")
        record = _run_trial(stage, metric, budget)
        _after_trial(stage, stages, record, budget, metric)
        ran += 1
        if on_trial is not None:
            on_trial(record)
        if stage.failures >= MAX_CONSECUTIVE_FAILURES:
            _stop_family(stage, stages, record, on_notice)
    return ran


def _after_trial(stage: Stage, stages: list[Stage], record, budget: Budget, metric) -> None:
    """Tell the budget what the trial cost, what completing the family's best trial would
    take now, and, when the trial entered its family's best, how the ensemble shares out."""
    budget.charge(stage.name, stage.durations[-1])
    if budget.completes:
        budget.expect_completion(stage.name, stage.best_completion_seconds())
    if stage.improved:
        budget.follow_evidence(family_weights(stages, metric))


def _stop_family(stage: Stage, stages: list[Stage], record, on_notice) -> None:
    message = f"{stage.failures} {stage.name} trials in a row failed (last: {record.fail_reason})"
    others = [s for s in stages if s is not stage and not s.done]
    if not others:
        raise AutomlTabError(f"{message}; check the data or try another --seed")
    stage.done = True
    if on_notice is not None:
        on_notice(f"{message}; the {stage.name} search stops, the others go on")


def _typical(stage: Stage) -> float:
    """The median seconds of the family's trials in this session (0 before the first)."""
    return statistics.median(stage.durations) if stage.durations else 0.0


def _status(stage: Stage, n_trials: int | None, budget: Budget) -> str:
    """ "go" (start a trial), "wait" (others' running trials may complete the study) or "stop"."""
    if not budget.trial_fits(_typical(stage)):
        return "stop"
    if n_trials is None:
        return "go"
    completed, running = stage.counts()
    if completed >= n_trials:
        return "stop"
    return "wait" if completed + running >= n_trials else "go"


def completion_order(records: list[TrialRecord], top_k: int, budget: Budget) -> list:
    """The ensemble's candidates in the order to complete them: best first, interleaved by
    family, the families the current ensemble of best trials uses before the others."""
    return sorted(candidates(records, top_k), key=lambda r: not budget.carries(r.model))


def family_weights(stages: list[Stage], metric) -> dict[str, float]:
    """Each family's weight in a greedy ensemble of the best trials of every family so far,
    on the search folds' rows they all cover (empty until every family still searching has a
    trial: one not yet tried would count as weightless and lose half its share before its
    first trial; empty too while they cover fewer than MIN_EVIDENCE_ROWS rows together)."""
    pool = [(s.name, oof) for s in stages for *_, oof in s.best]
    if any(not s.best and not s.done for s in stages) or len({n for n, _ in pool}) < 2:
        return {}
    if np.logical_and.reduce([covered_rows(oof) for _, oof in pool]).sum() < MIN_EVIDENCE_ROWS:
        return {}
    y = stages[0].objective.y
    oofs = [oof for _, oof in pool]
    weights = greedy_weights(selection_metric(metric), y, oofs, rounds=EVIDENCE_ROUNDS)
    out: dict[str, float] = {}
    for (name, _), w in zip(pool, weights):
        out[name] = out.get(name, 0.0) + float(w)
    return out


def _run_trial(stage: Stage, metric, budget: Budget) -> TrialRecord:
    def mark_failed() -> None:
        for number in stage.optimizer.running():
            stage.optimizer.fail(number, "interrupted")

    try:
        with interrupt.cleanup(mark_failed):
            return _score_and_record(stage, metric, budget)
    except KeyboardInterrupt:  # wherever Ctrl-C lands, the running trial is marked failed
        mark_failed()
        raise


def _score_and_record(stage: Stage, metric, budget: Budget) -> TrialRecord:
    optimizer, store = stage.optimizer, stage.store
    number, params = optimizer.ask()
    started, stage.improved = budget.clock(), False
    # A study's first trial is its known-good default, the baseline: never cut half-trained.
    deadline = budget.trial_deadline(stage.name, first=number == 0)
    cost = 0.0
    try:
        result = stage.objective(params, number=number, deadline=deadline)
    except TrialFailed as exc:
        optimizer.fail(number, str(exc))
        stage.failures += 1
    except AutomlTabError as exc:  # the data or the setup is unusable: no trial can do better
        optimizer.fail(number, str(exc))
        raise
    except Exception as exc:  # one broken trial must not lose the others
        optimizer.fail(number, f"{type(exc).__name__}: {exc}")
        stage.failures += 1
    else:
        store.save_predictions(number, result.oof, result.test)
        if result.covers_all:  # nothing to complete: these are its all-fold predictions
            store.save_full(number, result.oof, result.test)
        store.save_history(number, result.histories)
        loss = metric.to_loss(result.score)
        optimizer.tell(
            number,
            loss,
            {
                "score": result.score,
                "score_std": result.score_std,
                "split_scores": result.split_scores,
                "best_epochs": result.best_epochs,
                "split_seconds": result.split_seconds,
                "time_capped": sum(bool(h.get("time_capped")) for h in result.histories),
            },
        )
        # A score that is not a number is a failed trial (the optimizer records it so): it
        # counts towards the family's stop, or a run with a broken target never ends.
        stage.failures = 0 if math.isfinite(loss) else stage.failures + 1
        if math.isfinite(loss):
            top = sorted([*stage.best, (loss, number, result.oof)], key=lambda b: b[:2])
            stage.best = top[:EVIDENCE_TOP]
            stage.improved = any(b[1] == number for b in stage.best)
        # Folds the probe fitted count too: the trial cost them, only earlier.
        workers = getattr(stage.objective, "pool_size", lambda: 1)()
        cost = sum(result.split_seconds) / workers
    stage.durations.append(max(budget.clock() - started, cost))
    return store.record(optimizer.study, number)


def complete_best(stages: list[Stage], budget: Budget, records: list[TrialRecord]) -> None:
    """Fit `records` (completion_order's) on the folds the search left out, each while its
    expected time (its folds' mean time so far) fits the budget."""
    by_name = {s.name: s for s in stages}
    for record in records:
        stage = by_name.get(record.model)
        if stage is None or stage.store.has_predictions(record.number, full=True):
            continue
        if not stage.store.has_predictions(record.number):
            continue  # another worker's trial: its predictions are in its own workdir
        if stage.objective.covers_all:
            continue  # the search folds already cover every row
        # After the search, this time is for completion only: try it when its unpadded
        # estimate fits (one cut short by the clock is thrown away, nothing else is lost).
        if not budget.completion_fits(stage.completion_seconds(record) / COMPLETION_MARGIN):
            continue
        oof, test = stage.store.load_predictions(record.number)
        try:
            full = stage.objective.complete(
                record.params, oof, test, number=record.number, deadline=budget.end
            )
        except TrialFailed:
            continue
        if full.time_capped:  # folds cut short by the clock would drag the trial's OOF down
            continue
        stage.store.save_full(record.number, full.oof, full.test)


def search_on(stages: list[Stage], budget: Budget, **run_kwargs) -> int:
    """After completion, search on until the budget's end with the families whose search
    folds cover every row (their trials need no completion): the completion reserve is
    sized with a margin for the slowest fold, and what it left unused idled. At 60 s on
    house-prices the search stopped at 34 s to reserve for a 8.5 s network's three more
    folds, completion was over at 44 s and the run at 48 s; LightGBM on 5-fold CV can use
    that time. Returns the number of trials run."""
    covering = [s for s in stages if s.objective.covers_all and not s.done]
    budget.end_completion()
    if not covering:
        return 0
    return run_stages(covering, budget, **run_kwargs)
