"""TPE from Optuna, asked through the study."""

from __future__ import annotations

import warnings

import optuna

from .base import StudyOptimizer


def tpe_sampler(seed: int, init_points: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=init_points, multivariate=True
        )


class OptunaOptimizer(StudyOptimizer):
    def __init__(self, study, space, *, seed=0, init_points=5, heartbeat=None):
        super().__init__(study, space, seed=seed, init_points=init_points, heartbeat=heartbeat)
        # The sampler belongs to the study object; give it ours (seeded) whatever opened it.
        self.study.sampler = tpe_sampler(seed, init_points)

    def _propose(self):
        return self.study.ask(self.distributions)
