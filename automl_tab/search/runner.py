"""The search loop: ask, score, store, tell, until the trial counts or the clock say stop.

Several model families (stages) share one clock. Each gets a share of the search time; the
next trial goes to the family furthest behind its share, so a slow family cannot starve a
fast one and every family has candidates for the ensemble when time runs out.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from optuna.trial import TrialState

from .. import interrupt
from ..exceptions import AutomlTabError
from ..exceptions import TrialFailed
from .store import TrialStore
from .store import to_record
from .trial import TrialRecord

MAX_CONSECUTIVE_FAILURES = 5
# No single trial may take more than this share of a family's search time: one huge network
# with a tiny learning rate would otherwise eat the whole run (seen on titanic: 104 s of 120).
TRIAL_SHARE = 0.25
# A family's first trial in a session (on a new study: its known-good default, the baseline the
# ensemble can always fall back on) may use half of the family's time: cut at 25 % it was left
# half-trained on large data (otto: every LightGBM trial capped after 51-106 rounds).
FIRST_TRIAL_SHARE = 0.5
MIN_TRIAL_SECONDS = 10.0
WAIT_SECONDS = 1.0


@dataclass
class Stage:
    """One model family's search: its objective, optimizer and store, and its time share."""

    name: str
    objective: object
    optimizer: object
    store: TrialStore
    share: float = 1.0
    used: float = 0.0
    durations: list = field(default_factory=list)
    failures: int = 0
    done: bool = False

    def counts(self) -> tuple[int, int]:
        """(completed, running) trials of the study, all workers included."""
        states = [t.state for t in self.optimizer.study.get_trials(deepcopy=False)]
        return states.count(TrialState.COMPLETE), states.count(TrialState.RUNNING)


def run_search(
    objective,
    optimizer,
    store: TrialStore,
    *,
    metric,
    n_trials: int | None,
    deadline: float,
    on_trial: Callable[[TrialRecord], None] | None = None,
) -> int:
    """One family's search; see `run_stages`."""
    stage = Stage(store.model, objective, optimizer, store)
    return run_stages(
        [stage], metric=metric, n_trials=n_trials, deadline=deadline, on_trial=on_trial
    )


def run_stages(
    stages: list[Stage],
    *,
    metric,
    n_trials: int | None,
    deadline: float,
    on_trial: Callable[[TrialRecord], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    reserve: Callable[[], float] | None = None,
) -> int:
    """Run trials until each study holds `n_trials` completed ones or time runs short.

    Other workers may share a study: when completed plus running trials reach `n_trials`,
    this worker waits for the running ones (a dead worker's trial is failed after its
    heartbeat stops and then run again here), so the study completes exactly `n_trials`.

    A family's next trial starts only if the median duration of its trials in this session
    fits before `deadline` (time.monotonic). A trial gets at most TRIAL_SHARE of its family's
    search time; a model still training when its time is up keeps its best epoch so far.
    A failing trial is recorded and the search goes on; after MAX_CONSECUTIVE_FAILURES in a
    row a family stops (and the run stops if no family is left with a completed trial).
    KeyboardInterrupt marks the running trial failed and propagates. Returns the number of
    trials run here.

    `reserve()`, asked before each trial, is time kept free before `deadline` for what follows
    the search (completing the best trials): the search itself ends `reserve()` seconds early.
    """
    end = deadline  # the search's own deadline is `end` less the reserve of the moment
    budget = max(0.0, end - time.monotonic() - (reserve() if reserve else 0.0))
    total_share = sum(s.share for s in stages) or 1.0
    ran = 0
    while True:
        interrupt.check()
        deadline = end - (reserve() if reserve else 0.0)
        status = {id(s): _status(s, n_trials, deadline) for s in stages if not s.done}
        active = [s for s in stages if status.get(id(s)) == "go"]
        if not active:
            waiting = [s for s in stages if status.get(id(s)) == "wait"]
            if not waiting:
                break
            time.sleep(WAIT_SECONDS)
            for s in waiting:
                s.optimizer.fail_stale()
            continue
        stage = min(active, key=lambda s: (s.used / s.share, stages.index(s)))
        if on_stage is not None:
            on_stage(f"searching {stage.name}")
        share = FIRST_TRIAL_SHARE if not stage.durations else TRIAL_SHARE
        cap = max(MIN_TRIAL_SECONDS, share * budget * stage.share / total_share)
        record = _run_trial(stage, metric, min(deadline, time.monotonic() + cap))
        ran += 1
        if on_trial is not None:
            on_trial(record)
        if stage.failures >= MAX_CONSECUTIVE_FAILURES:
            message = (
                f"{stage.failures} {stage.name} trials in a row failed (last: {record.fail_reason})"
            )
            others = [s for s in stages if s is not stage and not s.done]
            if not others:
                raise AutomlTabError(f"{message}; check the data or try another --seed")
            stage.done = True
            if on_notice is not None:
                on_notice(f"{message}; the {stage.name} search stops, the others go on")
    return ran


def _status(stage: Stage, n_trials: int | None, deadline: float) -> str:
    """ "go" (start a trial), "wait" (others' running trials may complete the study) or "stop"."""
    remaining = deadline - time.monotonic()
    if remaining <= 0 or (stage.durations and statistics.median(stage.durations) > remaining):
        return "stop"
    if n_trials is None:
        return "go"
    completed, running = stage.counts()
    if completed >= n_trials:
        return "stop"
    return "wait" if completed + running >= n_trials else "go"


def _run_trial(stage: Stage, metric, trial_deadline: float) -> TrialRecord:
    def mark_failed() -> None:
        for number in stage.optimizer.running():
            stage.optimizer.fail(number, "interrupted")

    try:
        with interrupt.cleanup(mark_failed):
            return _score_and_record(stage, metric, trial_deadline)
    except KeyboardInterrupt:  # wherever Ctrl-C lands, the running trial is marked failed
        mark_failed()
        raise


def _score_and_record(stage: Stage, metric, trial_deadline: float) -> TrialRecord:
    optimizer, store = stage.optimizer, stage.store
    number, params = optimizer.ask()
    started = time.monotonic()
    try:
        result = stage.objective(params, number=number, deadline=trial_deadline)
    except TrialFailed as exc:
        optimizer.fail(number, str(exc))
        stage.failures += 1
    except Exception as exc:  # one broken trial must not lose the others
        optimizer.fail(number, f"{type(exc).__name__}: {exc}")
        stage.failures += 1
    else:
        store.save_predictions(number, result.oof, result.test)
        store.save_history(number, result.histories)
        optimizer.tell(
            number,
            metric.to_loss(result.score),
            {
                "score": result.score,
                "score_std": result.score_std,
                "split_scores": result.split_scores,
                "best_epochs": result.best_epochs,
                "split_seconds": result.split_seconds,
                "time_capped": sum(bool(h.get("time_capped")) for h in result.histories),
            },
        )
        stage.failures = 0
    elapsed = time.monotonic() - started
    stage.durations.append(elapsed)
    stage.used += elapsed
    trial = next(t for t in optimizer.study.get_trials(deepcopy=False) if t.number == number)
    return to_record(trial, store.model)
