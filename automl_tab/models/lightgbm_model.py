"""Gradient-boosted trees (LightGBM), scored on the same splits and features as the network.

It trains on the shared per-split preprocessing (one-hot categories, at most 64 levels per
column, text as word counts) rather than LightGBM's native categoricals: one cached transform
per split serves both model families, so their out-of-fold predictions line up row for row,
and the one-hot cap keeps high-cardinality columns from overfitting. LightGBM is imported
lazily, when a model is fitted.
"""

from __future__ import annotations

import time

import numpy as np

from .._compat import available_cores
from ..exceptions import NotFittedError
from ..space import Float
from ..space import Int
from ..space import SearchSpace

SMALL_DATA_CELLS = 1_000_000  # rows x features below which LightGBM runs on one thread


class _StopRule:
    """Early stopping on the validation metric, plus a deadline: past it, training ends and
    the best iteration so far is kept (like the network's time cap)."""

    order = 30  # after LightGBM's own evaluation callbacks

    def __init__(self, patience: int, deadline: float | None, history: dict):
        self.patience = patience
        self.deadline = deadline
        self.history = history
        self.best, self.best_iter, self.best_result = np.inf, 0, None

    def __call__(self, env):
        import lightgbm as lgb

        result = env.evaluation_result_list[0]  # (valid name, metric name, value, higher better)
        value = result[2]
        self.history["val_loss"].append(float(value))
        if not np.isfinite(value):
            raise lgb.callback.EarlyStopException(self.best_iter, [self.best_result or result])
        # A relative tolerance: near-perfect folds would otherwise creep on for thousands of
        # rounds of negligible gains.
        if value < self.best - 1e-6 - 1e-4 * abs(self.best if np.isfinite(self.best) else 0):
            self.best, self.best_iter, self.best_result = value, env.iteration, result
        elif env.iteration - self.best_iter >= self.patience:
            raise lgb.callback.EarlyStopException(self.best_iter, [self.best_result])
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.history["time_capped"] = True
            raise lgb.callback.EarlyStopException(self.best_iter, [self.best_result])


class LightGBMModel:
    """LightGBM booster with early stopping on the split's validation rows.

    Loss follows the task: binary log loss, multiclass log loss, or L2 (on the log target
    when the metric is RMSLE, as the objective passes it).
    """

    name = "lgbm"
    # The run plan (plan.py) gives LightGBM as many folds as still afford this many trials
    # at its default's measured cost (tuned trials cost 2-3 defaults: lower learning rates).
    # At 40, jh-simple at 60 s got one hold-out fold of 300 rows, and its best of 81 trials
    # scored 0.637 there against 0.664 out of fold on every row.
    target_trials = 20
    rounds_follow_rate = True  # the run plan may then bound the slowdown (max_slowdown)
    # A fold cut by the time cap before this many rounds makes the trial fail: half-trained.
    min_epochs = 20
    # Always tuned with Optuna's TPE: --backend chooses the networks' optimizer only.
    optimizer_backend = "optuna"
    has_learning_curves = False  # boosting rounds: the report shows no curves for them

    @classmethod
    def fixed_options(cls, config) -> dict:
        """Options from the run's config for every trial (none: early stopping is LightGBM's)."""
        return {}

    def __init__(
        self,
        *,
        learning_rate=0.1,
        num_leaves=31,
        max_depth=16,
        min_child_samples=20,
        feature_fraction=1.0,
        bagging_fraction=1.0,
        lambda_l1=1e-8,
        lambda_l2=1e-8,
        task="binary",
        n_classes=2,
        random_state=0,
        max_rounds=5000,
        patience=50,
        deadline=None,
        max_slowdown=None,
    ):
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.lambda_l1 = lambda_l1
        self.lambda_l2 = lambda_l2
        self.task = task
        self.n_classes = n_classes
        self.random_state = random_state
        self.max_rounds = max_rounds
        self.patience = patience
        self.deadline = deadline
        self.max_slowdown = max_slowdown

    @classmethod
    def search_space(cls) -> SearchSpace:
        return SearchSpace(
            (
                Float("learning_rate", 0.005, 0.3, log=True),
                Int("num_leaves", 4, 256, log=True),
                Int("max_depth", 3, 16),
                Int("min_child_samples", 2, 200, log=True),
                Float("feature_fraction", 0.3, 1.0),
                Float("bagging_fraction", 0.5, 1.0),
                Float("lambda_l1", 1e-8, 10.0, log=True),
                Float("lambda_l2", 1e-8, 10.0, log=True),
            )
        )

    @classmethod
    def default_params(cls, rows: int | None = None) -> dict:
        """LightGBM's own defaults (early stopping picks the rounds): the quick, strong
        baseline trial that runs first. Its learning rate stays at 0.1: at 0.05 the baseline
        needed twice the rounds and was cut by the time cap on large data (otto)."""
        return {
            "learning_rate": 0.1,
            "num_leaves": 31,
            "max_depth": 16,
            "min_child_samples": 20,
            "feature_fraction": 1.0,
            "bagging_fraction": 1.0,
            "lambda_l1": 1e-8,
            "lambda_l2": 1e-8,
        }

    @classmethod
    def starting_points(cls, rows: int | None = None) -> list[dict]:
        """The default alone: a portfolio tried after it (learning rate 0.05, small and large
        trees) was measured and reverted (bench at 60 s: better CV on 6 of 10, worse holdout
        on 7 of 10; the slower rate doubled the rounds and TPE stayed near them)."""
        return [cls.default_params(rows)]

    def _params(self) -> dict:
        objective = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}
        params = {
            "objective": objective[self.task],
            "learning_rate": self._learning_rate(),
            "num_leaves": int(self.num_leaves),
            "max_depth": int(self.max_depth),
            "min_child_samples": int(self.min_child_samples),
            "feature_fraction": float(self.feature_fraction),
            "bagging_fraction": float(self.bagging_fraction),
            "bagging_freq": 1 if self.bagging_fraction < 1 else 0,
            "lambda_l1": float(self.lambda_l1),
            "lambda_l2": float(self.lambda_l2),
            "num_threads": self._threads,
            "seed": int(self.random_state),
            # Same seed, same trees: deterministic mode needs a fixed histogram layout.
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        if self.task == "multiclass":
            params["num_class"] = int(self.n_classes)
        return params

    def _learning_rate(self) -> float:
        """The searched rate, raised to the default's / max_slowdown when the run plan gave
        one: rounds grow about as 1 / the rate, and a rate whose rounds cannot fit a trial's
        time cap gives a model cut half-trained (see plan.slowdown_limit)."""
        rate = float(self.learning_rate)
        if self.max_slowdown is None:
            return rate
        default = float(self.default_params()["learning_rate"])
        return max(rate, min(default, default / max(float(self.max_slowdown), 1e-9)))

    def fit(self, X, y, X_val, y_val):
        """Boost until the validation loss stops improving; keeps the best iteration."""
        import lightgbm as lgb

        X = np.asarray(X, dtype=np.float32)
        # On small data OpenMP's thread hand-offs cost more than they save, and its spinning
        # threads slow to a crawl when another process (or TensorFlow's pool) holds the cores:
        # measured 0.1 s vs up to 15 s per fit on 200 rows.
        self._threads = available_cores() if X.size >= SMALL_DATA_CELLS else 1
        X_val = np.asarray(X_val, dtype=np.float32)
        train_set = lgb.Dataset(X, label=np.asarray(y, dtype=float), free_raw_data=True)
        valid_set = train_set.create_valid(X_val, label=np.asarray(y_val, dtype=float))
        self.history_ = {"val_loss": [], "time_capped": False}
        self.booster_ = lgb.train(
            self._params(),
            train_set,
            num_boost_round=int(self.max_rounds),
            valid_sets=[valid_set],
            valid_names=["valid"],
            callbacks=[_StopRule(int(self.patience), self.deadline, self.history_)],
        )
        self.best_epoch_ = max(
            1, int(self.booster_.best_iteration or self.booster_.current_iteration())
        )
        return self

    def predict(self, X) -> np.ndarray:
        if not hasattr(self, "booster_"):
            raise NotFittedError("LightGBMModel is not fitted; call fit(X, y, X_val, y_val)")
        out = self.booster_.predict(np.asarray(X, dtype=np.float32), num_iteration=self.best_epoch_)
        out = np.asarray(out, dtype=np.float64)
        if self.task == "binary":
            return np.column_stack([1 - out, out])
        return out
