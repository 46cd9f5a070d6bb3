"""Optimizer backends behind one ask/tell interface. None of them imports a model library."""

from __future__ import annotations

from ...exceptions import ConfigError
from .base import AskTell
from .base import StudyOptimizer


def get_optimizer(backend: str, study, space, *, seed: int, init_points: int) -> AskTell:
    if backend == "optuna":
        from .optuna_backend import OptunaOptimizer

        return OptunaOptimizer(study, space, seed=seed, init_points=init_points)
    if backend == "bayes_opt":
        from .bayesopt_backend import BayesOptOptimizer

        return BayesOptOptimizer(study, space, seed=seed, init_points=init_points)
    raise ConfigError(f"--backend {backend!r} is unknown; use 'optuna' or 'bayes_opt'")


__all__ = ["AskTell", "StudyOptimizer", "get_optimizer"]
