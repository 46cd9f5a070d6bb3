"""Ask/tell over a shared Optuna study, which is also the trial store.

Subclasses only decide *what to try next* (`_propose`); recording trials, replaying queued
ones and failing them is common to every backend.
"""

from __future__ import annotations

import math

from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
from optuna.trial import TrialState

from ...space import Categorical
from ...space import Float
from ...space import SearchSpace


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


class StudyOptimizer:
    """`ask() -> (number, params)`, then `tell(number, loss, attrs)` or `fail(number, reason)`."""

    def __init__(self, study, space: SearchSpace, *, seed: int = 0, init_points: int = 5):
        self.study = study
        self.space = space
        self.seed = seed
        self.init_points = init_points
        self.distributions = to_distributions(space)
        self._running: dict = {}

    def enqueue(self, params: dict) -> None:
        """Queue a known configuration to be tried before any proposal (first run only)."""
        if not self.study.get_trials(deepcopy=False):
            self.study.enqueue_trial(params)

    def ask(self) -> tuple[int, dict]:
        waiting = self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        trial = self.study.ask(self.distributions) if waiting else self._propose()
        self._running[trial.number] = trial
        return trial.number, dict(trial.params)

    def _propose(self):
        raise NotImplementedError

    def tell(self, number: int, loss: float, attrs: dict | None = None) -> None:
        trial = self._running.pop(number)
        for key, value in (attrs or {}).items():
            trial.set_user_attr(key, value)
        if not math.isfinite(loss):
            self.study.tell(trial, state=TrialState.FAIL)
            return
        self.study.tell(trial, loss)

    def fail(self, number: int, reason: str, attrs: dict | None = None) -> None:
        trial = self._running.pop(number)
        for key, value in {**(attrs or {}), "fail_reason": reason}.items():
            trial.set_user_attr(key, value)
        self.study.tell(trial, state=TrialState.FAIL)
