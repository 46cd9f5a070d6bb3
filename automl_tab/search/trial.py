"""The record that travels between the store, the runner, the ensemble and the leaderboard."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np


class TrialState(str, Enum):
    """A trial's state as the store keeps it (equal to its name as a string, for JSON)."""

    RUNNING = "RUNNING"
    WAITING = "WAITING"
    COMPLETE = "COMPLETE"
    FAIL = "FAIL"
    PRUNED = "PRUNED"

    def __str__(self) -> str:
        return self.value

    @property
    def finished(self) -> bool:
        return self in (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


@dataclass(frozen=True)
class TrialRecord:
    """One trial as stored. `score` is in the competition metric's own direction; `loss` is
    what the optimizers minimise (the score negated when greater is better)."""

    number: int
    state: TrialState
    params: dict
    model: str = "nn"
    score: float | None = None
    score_std: float | None = None
    loss: float | None = None
    split_scores: tuple[float, ...] = ()
    best_epochs: tuple[int, ...] = ()
    split_seconds: tuple[float, ...] = ()  # each search fold's fit, for completion estimates
    duration: float | None = None
    fail_reason: str | None = None

    def to_dict(self) -> dict:
        return {
            "number": self.number,
            "state": str(self.state),
            "model": self.model,
            "score": self.score,
            "score_std": self.score_std,
            "loss": self.loss,
            "split_scores": list(self.split_scores),
            "best_epochs": list(self.best_epochs),
            "duration": self.duration,
            "fail_reason": self.fail_reason,
            "params": self.params,
        }


@dataclass
class TrialResult:
    """What the objective returns for one set of params (before it is stored)."""

    split_scores: list[float]
    best_epochs: list[int]
    split_seconds: list[float]
    oof: np.ndarray  # out-of-sample predictions per training row, NaN where never validated
    test: np.ndarray  # test predictions averaged over the split models
    histories: list[dict]
    covers_all: bool = False  # the search folds already give every row a prediction

    @property
    def score(self) -> float:
        return float(np.mean(self.split_scores))

    @property
    def score_std(self) -> float:
        return float(np.std(self.split_scores))
