"""One fold's fit, the unit a fold worker runs: the model's settings apart from the searched
params (data facts, seed, deadline), and what the fit gives back."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TaskFacts:
    """What every model is told about the data beside its searched params (as SciKeras
    passes `meta`): the task, the number of classes, and whether the target is fitted on a
    log scale (the objective transforms it; the model never sees that flag)."""

    task: str
    n_classes: int
    log_target: bool = False


@dataclass(frozen=True)
class FoldSetup:
    """One fold's model settings apart from the searched params: the family's fixed options
    (which win over a searched param of the same name), the data facts, the fold's seed and
    its deadline."""

    options: dict
    facts: TaskFacts
    random_state: int
    deadline: float | None

    def model_kwargs(self, params: dict) -> dict:
        """The constructor's keyword arguments: params and options, then the facts."""
        facts = {"task": self.facts.task, "n_classes": self.facts.n_classes}
        context = {"random_state": self.random_state, "deadline": self.deadline}
        return {**params, **self.options, **facts, **context}


@dataclass(frozen=True)
class FoldFit:
    """One fold's fitted model, as predictions: on the fold's validation rows and on the test
    rows, its best epoch (or boosting round), learning curve and seconds."""

    valid_pred: np.ndarray
    test_pred: np.ndarray
    best_epoch: int
    history: dict
    seconds: float


def fit_and_predict(model_cls, params: dict, setup: FoldSetup, X_tr, y_tr, X_va, y_va, X_te):
    """Fit one fold's model; returns its FoldFit.

    A module-level function of plain arguments, so a fold worker process can run it.
    """
    started = time.monotonic()
    model = model_cls(**setup.model_kwargs(params)).fit(X_tr, y_tr, X_va, y_va)
    valid_pred, test_pred = model.predict(X_va), model.predict(X_te)
    epoch = int(getattr(model, "best_epoch_", 0))
    history = getattr(model, "history_", {})
    return FoldFit(valid_pred, test_pred, epoch, history, time.monotonic() - started)


def split_seed(seed: int, number: int, split: int) -> int:
    """One master seed expanded into a distinct, repeatable seed per trial and split."""
    return int(np.random.SeedSequence([seed, number, split]).generate_state(1)[0] % (2**31))
