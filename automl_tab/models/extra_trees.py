"""Extremely randomized trees (scikit-learn's ExtraTrees), a third view of the data for the
ensemble: averaged deep trees with random thresholds, the family FLAML and AutoGluon both
carry. On small data they are strong where boosting and networks overfit: at 60 s they
moved auto-mpg's holdout RMSE from 2.6404 to 2.4382 and jh-simple's log loss from 0.686 to
0.658 (FLAML, whose best model there is ExtraTrees: 0.6465).

The forest grows in chunks of trees (warm start) so that a deadline stops it between chunks
with the trees grown so far, as the other families keep their best epoch or round.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._compat import available_cores
from ..exceptions import NotFittedError
from ..space import Float
from ..space import Int
from ..space import SearchSpace

CHUNK_TREES = 16  # trees grown between two looks at the clock
BLOCK_ROWS = 20_000  # rows a thread predicts at least
# Leaves over the whole forest at most: a fully grown tree has about one leaf per training
# row, so on 37,000 rows 300 trees would hold ~20 M nodes (several GB for nine classes).
# Trees are capped to their share of this instead (small data is not affected).
MAX_FOREST_LEAVES = 1_000_000
# The default forest grows this many tree-rows at most (trees x training rows): 300 trees
# up to 3,300 rows, fewer (at least 32) on large data, where a tree costs more and matters
# less. At 5 M, otto's default (135 trees on 37,000 rows) took 11 s of a 60 s run.
DEFAULT_TREE_ROWS = 1_000_000


class ExtraTreesModel:
    """ExtraTreesClassifier/Regressor (no bootstrap, as Geurts et al. 2006), grown to
    `n_estimators` trees or until the deadline. Its "epochs" are chunks of CHUNK_TREES trees;
    the validation loss after each chunk is its learning curve."""

    name = "xt"
    # Forests need little tuning: the plan gives the family as many folds as still afford
    # this many trials at the default's measured cost.
    target_trials = 5
    # A forest cut by the time cap before this many chunks (32 trees) is not a candidate.
    min_epochs = 2
    # Its share of the search relative to the other families (1.0): forests rarely need
    # more than a handful of trials, the time is better spent on the networks and boosting.
    base_share = 0.5
    optimizer_backend = "optuna"
    has_learning_curves = False

    @classmethod
    def fixed_options(cls, config) -> dict:
        return {}

    def __init__(
        self,
        *,
        n_estimators=300,
        max_features=1.0,
        min_samples_leaf=1,
        task="binary",
        n_classes=2,
        random_state=0,
        deadline=None,
    ):
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.task = task
        self.n_classes = n_classes
        self.random_state = random_state
        self.deadline = deadline

    @classmethod
    def search_space(cls) -> SearchSpace:
        return SearchSpace(
            (
                Int("n_estimators", 32, 512, log=True),
                Float("max_features", 0.1, 1.0),
                Int("min_samples_leaf", 1, 32, log=True),
            )
        )

    @classmethod
    def default_params(cls, rows: int | None = None) -> dict:
        """Geurts et al.'s defaults: 300 trees drawing a threshold for every feature at each
        split, grown to single-row leaves (over five small competitions, every feature beat
        70 % or 50 % of them on three, out of fold); on large data fewer trees
        (DEFAULT_TREE_ROWS), so the default stays a quick baseline."""
        trees = 300 if rows is None else int(np.clip(DEFAULT_TREE_ROWS // max(rows, 1), 32, 300))
        return {"n_estimators": trees, "max_features": 1.0, "min_samples_leaf": 1}

    @classmethod
    def starting_points(cls, rows: int | None = None) -> list[dict]:
        """The default alone (a portfolio of fewer features and larger leaves after it was
        measured with LightGBM's and reverted with it)."""
        return [cls.default_params(rows)]

    def _forest(self, rows: int):
        from sklearn.ensemble import ExtraTreesClassifier
        from sklearn.ensemble import ExtraTreesRegressor

        trees = int(self.n_estimators)
        forest = ExtraTreesRegressor if self.task == "regression" else ExtraTreesClassifier
        return forest(
            n_estimators=min(CHUNK_TREES, trees),
            max_features=float(self.max_features),
            min_samples_leaf=int(self.min_samples_leaf),
            max_leaf_nodes=max(2, min(rows, MAX_FOREST_LEAVES // trees)),
            n_jobs=available_cores(),
            random_state=int(self.random_state),
            warm_start=True,
        )

    def fit(self, X, y, X_val, y_val):
        """Grow the forest chunk by chunk until `n_estimators` trees or the deadline."""
        X = np.asarray(X, dtype=np.float32)
        X_val = np.asarray(X_val, dtype=np.float32)
        y = np.asarray(y, dtype=float if self.task == "regression" else np.int64)
        self.forest_ = self._forest(len(X))
        self.history_ = {"val_loss": [], "time_capped": False}
        total = np.zeros(self._shape(len(X_val)))
        while True:
            grown = len(getattr(self.forest_, "estimators_", ()))
            self.forest_.fit(X, y)
            total += self._sum_trees(self.forest_.estimators_[grown:], X_val)  # the curve
            self.history_["val_loss"].append(self._loss(y_val, total / len(self.forest_)))
            if len(self.forest_.estimators_) >= int(self.n_estimators):
                break
            if self.deadline is not None and time.monotonic() > self.deadline:
                self.history_["time_capped"] = True
                break
            more = min(CHUNK_TREES, int(self.n_estimators) - len(self.forest_.estimators_))
            self.forest_.set_params(n_estimators=len(self.forest_.estimators_) + more)
        self.best_epoch_ = len(self.history_["val_loss"])
        return self

    def _shape(self, rows: int) -> tuple:
        return (rows,) if self.task == "regression" else (rows, int(self.n_classes))

    def _tree_predict(self, tree, X) -> np.ndarray:
        if self.task == "regression":
            return tree.predict(X)
        proba = np.zeros(self._shape(len(X)))
        # A fold's training rows may lack a class: place each tree's columns by its classes.
        proba[:, self.forest_.classes_.astype(int)] = tree.predict_proba(X)
        return proba

    def _loss(self, y_val, pred) -> float:
        """The curve's loss: RMSE or log loss (the project's metrics; a missing class's zero
        column is clipped there, not log(0)); imported here, as the forests are, so that
        importing the registry does not import scikit-learn."""
        from ..metrics import get_metric

        metric = get_metric("rmse" if self.task == "regression" else "log_loss")
        return float(metric.loss(np.asarray(y_val), pred))

    def predict(self, X) -> np.ndarray:
        if not hasattr(self, "forest_"):
            raise NotFittedError("ExtraTreesModel is not fitted; call fit(X, y, X_val, y_val)")
        trees = self.forest_.estimators_
        return self._sum_trees(trees, np.asarray(X, dtype=np.float32)) / len(trees)

    def _sum_trees(self, trees, X) -> np.ndarray:
        """The trees' predictions on X, summed in tree order: scikit-learn's threaded predict
        adds them in whatever order its threads finish, and the last bit then differs between
        two runs. Large X is cut into row blocks, one thread each (trees predict without the
        GIL), which keeps the order within every row."""
        blocks = min(available_cores(), len(X) // BLOCK_ROWS)
        if blocks < 2:
            return self._sum_in_order(trees, X)
        total = np.zeros(self._shape(len(X)))
        parts = np.array_split(np.arange(len(X)), blocks)
        with ThreadPoolExecutor(blocks) as pool:
            sums = pool.map(lambda rows: self._sum_in_order(trees, X[rows]), parts)
            for rows, part in zip(parts, sums):
                total[rows] = part
        return total

    def _sum_in_order(self, trees, X) -> np.ndarray:
        total = np.zeros(self._shape(len(X)))
        for tree in trees:
            total += self._tree_predict(tree, X)
        return total
