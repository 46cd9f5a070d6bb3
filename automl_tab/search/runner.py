"""The one search loop: ask, score, store, tell, until the trial count or the clock says stop."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from optuna.trial import TrialState

from ..exceptions import AutomlTabError
from ..exceptions import TrialFailed
from .store import TrialStore
from .store import to_record
from .trial import TrialRecord

MAX_CONSECUTIVE_FAILURES = 5
# No single trial may take more than this share of the search budget: one huge network with a
# tiny learning rate would otherwise eat the whole run (seen on titanic: 104 s of 120).
TRIAL_SHARE = 0.2
MIN_TRIAL_SECONDS = 5.0
FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


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
    """Run trials until the study holds `n_trials` finished ones or time runs short.

    A trial is started only if the median duration of this session's trials fits before
    `deadline` (time.monotonic). Each trial gets at most TRIAL_SHARE of the search budget;
    a network still training when its time is up keeps its best epoch so far.
    A failing trial is recorded and the search goes on; KeyboardInterrupt marks
    the running trial failed and propagates. Returns the number of trials run here.
    """
    durations: list[float] = []
    failures = 0
    study = optimizer.study
    max_trial_seconds = max(MIN_TRIAL_SECONDS, TRIAL_SHARE * (deadline - time.monotonic()))
    while True:
        finished = len(study.get_trials(deepcopy=False, states=FINISHED))
        if n_trials is not None and finished >= n_trials:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0 or (durations and statistics.median(durations) > remaining):
            break
        number, params = optimizer.ask()
        started = time.monotonic()
        try:
            trial_deadline = min(deadline, time.monotonic() + max_trial_seconds)
            result = objective(params, number=number, deadline=trial_deadline)
        except KeyboardInterrupt:
            optimizer.fail(number, "interrupted")
            raise
        except TrialFailed as exc:
            optimizer.fail(number, str(exc))
            failures += 1
        except Exception as exc:  # one broken trial must not lose the others
            optimizer.fail(number, f"{type(exc).__name__}: {exc}")
            failures += 1
        else:
            store.save_predictions(number, result.oof, result.test)
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
            failures = 0
        durations.append(time.monotonic() - started)
        if on_trial is not None:
            on_trial(to_record(_find(study, number), store.study_name))
        if failures >= MAX_CONSECUTIVE_FAILURES:
            reason = _find(study, number).user_attrs.get("fail_reason")
            raise AutomlTabError(
                f"{failures} trials in a row failed (last: {reason}); "
                "check the data or try another --seed"
            )
    return len(durations)


def _find(study, number: int):
    return next(t for t in study.get_trials(deepcopy=False) if t.number == number)
