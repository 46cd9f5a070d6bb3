"""Ask/tell over a shared Optuna study, which is also the trial store.

Subclasses only decide *what to try next* (`_propose`); recording trials, replaying queued
ones and failing them is common to every backend.
"""

from __future__ import annotations

import math
import warnings
from typing import Protocol
from typing import runtime_checkable

from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
from optuna.trial import TrialState

from ...space import Categorical
from ...space import Float
from ...space import SearchSpace

# The store beats the heartbeat around ask/tell (see `ask`), which Optuna cannot see.
warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")


def to_distributions(space: SearchSpace) -> dict:
    out = {}
    for d in space.dimensions:
        if isinstance(d, Float):
            out[d.name] = FloatDistribution(d.low, d.high, log=d.log)
        elif isinstance(d, Categorical):
            out[d.name] = CategoricalDistribution(d.choices)
        else:
            out[d.name] = IntDistribution(d.low, d.high, log=d.log)
    return out


@runtime_checkable
class AskTell(Protocol):
    """What the runner asks of an optimizer backend: `ask` starts a trial (a queued
    configuration first), `tell` records its loss and attributes, `fail` its reason; the
    study is where the trials live (the store reads it)."""

    study: object

    def enqueue(self, *points: dict) -> None: ...

    def ask(self) -> tuple[int, dict]: ...

    def tell(self, number: int, loss: float, attrs: dict | None = None) -> None: ...

    def fail(self, number: int, reason: str, attrs: dict | None = None) -> None: ...

    def running(self) -> list[int]: ...


class StudyOptimizer:
    """AskTell over an Optuna study: `ask() -> (number, params)`, then `tell(number, loss,
    attrs)` or `fail(number, reason)`; subclasses only `_propose`. `heartbeat(number)`, the
    store's, starts a running trial's heartbeat and returns something to `stop()`."""

    def __init__(
        self,
        study,
        space: SearchSpace,
        *,
        seed: int = 0,
        init_points: int = 5,
        heartbeat=None,
    ):
        self.study = study
        self.heartbeat = heartbeat
        self.space = space
        self.seed = seed
        self.init_points = init_points
        self.distributions = to_distributions(space)
        self._running: dict = {}
        self._starting: list[dict] = []

    def enqueue(self, *points: dict) -> None:
        """Known configurations, tried in this order before any proposal. Each is queued only
        when the next trial starts and only if the study holds no trial of it yet (a resumed
        study or another worker may have run it), so the store never lists trials that no
        one started."""
        self._starting = [dict(p) for p in points]

    def _queue_starting_point(self) -> bool:
        if not self._starting:  # all tried: no need to read the study at every ask
            return False
        tried = [t.params for t in self.study.get_trials(deepcopy=False)]
        while self._starting and self._starting[0] in tried:
            self._starting.pop(0)  # a trial of it exists and stays in the study
        if not self._starting:
            return False
        self.study.enqueue_trial(self._starting[0])
        return True

    def fail_stale(self) -> None:
        """Fail trials whose worker stopped beating (a dead process) and queue them again."""
        from optuna.storages import fail_stale_trials

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fail_stale_trials(self.study)

    def ask(self) -> tuple[int, dict]:
        """Start a trial: a queued one (retried or enqueued) first, else a proposal. The trial
        beats a heartbeat into the store until `tell` or `fail`."""
        self.fail_stale()
        waiting = self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        queued = bool(waiting) or self._queue_starting_point()
        trial = self.study.ask(self.distributions) if queued else self._propose()
        beat = self.heartbeat(trial.number) if self.heartbeat is not None else None
        self._running[trial.number] = (trial, beat)
        return trial.number, dict(trial.params)

    def running(self) -> list[int]:
        return list(self._running)

    def _finish(self, number: int):
        trial, beat = self._running.pop(number)
        if beat is not None:
            beat.stop()
        return trial

    def _propose(self):
        raise NotImplementedError

    def tell(self, number: int, loss: float, attrs: dict | None = None) -> None:
        trial = self._finish(number)
        for key, value in (attrs or {}).items():
            trial.set_user_attr(key, value)
        if not math.isfinite(loss):
            trial.set_user_attr("fail_reason", f"the score is not a number ({loss})")
            self.study.tell(trial, state=TrialState.FAIL)
            return
        self.study.tell(trial, loss)

    def fail(self, number: int, reason: str, attrs: dict | None = None) -> None:
        trial = self._finish(number)
        for key, value in {**(attrs or {}), "fail_reason": reason}.items():
            trial.set_user_attr(key, value)
        self.study.tell(trial, state=TrialState.FAIL)
