"""Optimizer backends behind one ask/tell interface (`base.AskTell`). None of them imports a
model library; each is imported only when a run asks for it."""

from __future__ import annotations

from importlib import import_module

from ...exceptions import ConfigError

# The registry: --backend's choices, each with the module and class that implement it.
BACKENDS = {
    "optuna": ("optuna_backend", "OptunaOptimizer"),
    "bayes_opt": ("bayesopt_backend", "BayesOptOptimizer"),
}


def get_optimizer(backend: str, study, space, *, seed: int, init_points: int, heartbeat=None):
    """The AskTell backend named `backend` over `study`; `heartbeat(number)` (the store's)
    keeps a running trial alive in the store until it is told or failed."""
    if backend not in BACKENDS:
        raise ConfigError(f"--backend {backend!r} is unknown; use one of {sorted(BACKENDS)}")
    module, name = BACKENDS[backend]
    cls = getattr(import_module(f".{module}", __name__), name)
    return cls(study, space, seed=seed, init_points=init_points, heartbeat=heartbeat)


__all__ = ["BACKENDS", "get_optimizer"]
