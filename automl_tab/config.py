"""Frozen run configuration: user choices only (data facts live in DatasetSchema)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from .exceptions import ConfigError
from .models import MODEL_REGISTRY
from .search.optimizers import BACKENDS as BACKEND_REGISTRY

BACKENDS = tuple(BACKEND_REGISTRY)
MODELS = tuple(MODEL_REGISTRY)


def _check(name: str, value, ok: bool, rule: str, fix: str):
    if not ok:
        raise ConfigError(f"{name}={value!r} is invalid: {rule}; {fix}")


@dataclass(frozen=True)
class RunConfig:
    """What the user asked for. Validated on construction; every default lives here.

    Args:
        time_limit: wall-clock seconds for the whole run, refits and writing included.
        n_trials: total trials of the study (None: until the time limit).
        backend: "optuna" (TPE) or "bayes_opt" (Gaussian process, as in the course).
        seed: one seed, expanded into split, sampler and per-trial seeds.
        top_k: how many of the best trials of each model family are ensemble candidates.
        n_splits: folds every trial is scored on (the same, seeded list for all); None lets
            the run plan choose per family from the data, the budget and measured costs.
        test_size: share of training rows held out in each fold (K = round(1 / test_size)).
        init_points: random trials before bayes_opt starts guiding (like the course).
        workdir: where the trial store, predictions and submissions go.
        output: submission path (None: a new time-stamped CSV in the workdir).
        models: families to search: "nn" (pyramid network), "lgbm" (LightGBM), "xt" (ExtraTrees).
        memory_limit: GiB for the whole process tree (see memory.py); at most 60 % of the
            memory available is used whatever the limit.
    """

    time_limit: float = 600.0
    n_trials: int | None = None
    backend: str = "optuna"
    seed: int = 0
    top_k: int = 5
    n_splits: int | None = None
    test_size: float = 0.2
    init_points: int = 5
    # Epochs without improvement before a network stops, at least: the network's patience
    # also grows by half its best epoch (PyramidNNModel.patience_rate, AutoGluon's rule is
    # 20 + 0.5 x best). bench-recipe on six competitions: 10 + 0.5 x best against a fixed 5
    # lowered the networks' loss by 5.4 % on average, on 6 of 6 (README, "The network recipe").
    patience: int = 10
    max_epochs: int = 500
    workdir: Path | None = None
    output: Path | None = None
    models: tuple[str, ...] = field(default=MODELS)
    # GiB the run's process tree should stay under: the memory guard narrows one-hot columns,
    # then samples rows, to keep the preprocessed folds within it (memory.py).
    memory_limit: float = 8.0

    def __post_init__(self):
        _check(
            "time_limit",
            self.time_limit,
            self.time_limit > 0,
            "must be > 0 seconds",
            "pass e.g. --time-limit 300",
        )
        if self.n_trials is not None:
            _check(
                "n_trials",
                self.n_trials,
                self.n_trials >= 1,
                "must be >= 1",
                "pass e.g. --n-trials 30",
            )
        _check(
            "backend",
            self.backend,
            self.backend in BACKENDS,
            f"must be one of {BACKENDS}",
            "pass --backend optuna or --backend bayes_opt",
        )
        _check("top_k", self.top_k, self.top_k >= 1, "must be >= 1", "pass e.g. --top-k 5")
        if self.n_splits is not None:
            _check(
                "n_splits",
                self.n_splits,
                self.n_splits >= 1,
                "must be >= 1",
                "pass e.g. --n-splits 5, or leave it out to let the run plan choose",
            )
        _check(
            "test_size",
            self.test_size,
            0.05 <= self.test_size <= 0.5,
            "must be between 0.05 and 0.5",
            "use e.g. 0.2 (the Python API only; the CLI keeps 0.2)",
        )
        _check(
            "init_points",
            self.init_points,
            self.init_points >= 1,
            "must be >= 1",
            "pass e.g. --init-points 5",
        )
        limit = self.memory_limit
        _check("memory_limit", limit, limit > 0, "must be > 0 GiB", "pass e.g. --memory-limit 8")
        _check("patience", self.patience, self.patience >= 1, "must be >= 1", "use e.g. 10")
        bad = [m for m in self.models if m not in MODELS]
        _check(
            "models",
            self.models,
            bool(self.models) and not bad,
            f"must be a non-empty subset of {MODELS}",
            "pass e.g. --models nn,lgbm",
        )
