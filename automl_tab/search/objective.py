"""How a trial is scored: the same seeded shuffle splits for every trial, preprocessing
fitted on each split's training rows only, early stopping on the split's validation rows."""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import clone

from ..exceptions import TrialFailed
from ..metrics import Metric
from .fold_pool import fold_workers
from .fold_pool import run_folds
from .trial import TrialResult


def fit_and_predict(model_cls, options: dict, X_tr, y_tr, X_va, y_va, X_te) -> tuple:
    """Fit one fold's model; returns (valid_pred, test_pred, best_epoch, history, seconds).

    A module-level function of plain arguments, so a fold worker process can run it.
    """
    started = time.monotonic()
    model = model_cls(**options).fit(X_tr, y_tr, X_va, y_va)
    valid_pred, test_pred = model.predict(X_va), model.predict(X_te)
    epoch = int(getattr(model, "best_epoch_", 0))
    return valid_pred, test_pred, epoch, getattr(model, "history_", {}), time.monotonic() - started


def split_seed(seed: int, number: int, split: int) -> int:
    """One master seed expanded into a distinct, repeatable seed per trial and split."""
    return int(np.random.SeedSequence([seed, number, split]).generate_state(1)[0] % (2**31))


class Objective:
    """Callable `objective(params, number=..., deadline=...) -> TrialResult`.

    Args:
        model_cls: a TabularModel class; built with params plus the task context.
        X, y: prepared training features (DataFrame) and encoded target.
        X_test: prepared test features.
        preprocessor: unfitted transformer; cloned and fitted per split (cached, since it does
            not depend on trial params).
        splits: (train_idx, valid_idx) folds shared by all trials; a trial is scored on the
            first `n_splits`, and `complete` fits the rest (see splits.make_splits).
        n_splits: how many folds the search scores on (default: all).
        metric: the competition metric.
        task, n_classes, log_target: from the schema.
        model_options: fixed model settings (max_epochs, patience).
        seed: the run's master seed.
        cache: a dict shared with other objectives on the same folds and data.
    """

    def __init__(
        self,
        model_cls,
        *,
        X,
        y,
        X_test,
        preprocessor,
        splits,
        metric: Metric,
        task: str,
        n_classes: int,
        log_target: bool = False,
        model_options=None,
        seed: int = 0,
        n_splits: int | None = None,
        cache: dict | None = None,
    ):
        self.model_cls = model_cls
        self.X, self.y, self.X_test = X, np.asarray(y), X_test
        self.preprocessor = preprocessor
        self.splits = splits
        self.n_splits = len(splits) if n_splits is None else n_splits
        self.metric = metric
        self.task = task
        self.n_classes = n_classes
        self.log_target = log_target
        self.model_options = dict(model_options or {})
        self.seed = seed
        # Preprocessed folds do not depend on the model: families on the same folds share them.
        self._cache: dict[int, tuple] = {} if cache is None else cache

    def split_data(self, i: int):
        """(X_train, X_valid, X_test) arrays of split i, transformed by a preprocessor fitted
        on X_train only."""
        if i not in self._cache:
            train_idx, valid_idx = self.splits[i]
            prep = clone(self.preprocessor).fit(self.X.iloc[train_idx])
            self._cache[i] = tuple(
                np.asarray(prep.transform(frame), dtype=np.float32)
                for frame in (self.X.iloc[train_idx], self.X.iloc[valid_idx], self.X_test)
            )
        return self._cache[i]

    def _fit_target(self, y):
        return np.log1p(y) if self.log_target else y

    def _from_model(self, pred):
        return np.expm1(pred) if self.log_target else pred

    def _fold_task(self, i: int, params: dict, number: int, deadline: float | None) -> tuple:
        """The arguments of `fit_and_predict` for fold i."""
        train_idx, valid_idx = self.splits[i]
        X_tr, X_va, X_te = self.split_data(i)
        options = {
            **params,
            **self.model_options,
            "task": self.task,
            "n_classes": self.n_classes,
            "deadline": deadline,
            "random_state": split_seed(self.seed, number, i),
        }
        y_tr, y_va = self._fit_target(self.y[train_idx]), self._fit_target(self.y[valid_idx])
        return self.model_cls, options, X_tr, y_tr, X_va, y_va, X_te

    def workers(self, n_folds: int) -> int:
        """Folds fitted at once: one per worker process for a model that asks for it
        (`parallel_folds`), else 1 (one after another in this process)."""
        return fold_workers(n_folds) if getattr(self.model_cls, "parallel_folds", False) else 1

    def rounds(self, n_folds: int) -> int:
        """How many fold-times `n_folds` folds take, run `workers(n_folds)` at a time."""
        return -(-n_folds // self.workers(n_folds))

    def _fit_folds(self, folds, params, number, started, deadline) -> list[tuple]:
        """`fit_and_predict` on each fold, `workers` at a time."""
        folds = list(folds)
        workers, rounds = self.workers(len(folds)), self.rounds(len(folds))
        tasks = []
        for j, i in enumerate(folds):
            # Fold j may use its round's share of the time plus whatever earlier rounds left.
            fold_deadline = None
            if deadline is not None:
                fold_deadline = started + (deadline - started) * (j // workers + 1) / rounds
            tasks.append(self._fold_task(i, params, number, fold_deadline))
        if workers > 1:
            return run_folds(fit_and_predict, tasks, workers)
        return [fit_and_predict(*task) for task in tasks]

    def _run_folds(self, folds, params, number, deadline):
        width = self.n_classes if self.task != "regression" else 1
        shape = (len(self.y), width) if self.task != "regression" else (len(self.y),)
        oof_sum, oof_count = np.zeros(shape), np.zeros(len(self.y))
        test_sum = 0.0
        scores, epochs, seconds, histories = [], [], [], []
        fitted = self._fit_folds(folds, params, number, time.monotonic(), deadline)
        for i, (valid_pred, test_pred, epoch, history, fold_seconds) in zip(folds, fitted):
            valid_pred, test_pred = self._from_model(valid_pred), self._from_model(test_pred)
            if not (np.all(np.isfinite(valid_pred)) and np.all(np.isfinite(test_pred))):
                raise TrialFailed(f"the {self.model_cls.name} model predicted NaN or inf")
            valid_idx = self.splits[i][1]
            scores.append(self.metric.score(self.y[valid_idx], valid_pred))
            epochs.append(epoch)
            histories.append(history)
            oof_sum[valid_idx] += valid_pred
            oof_count[valid_idx] += 1
            test_sum = test_sum + test_pred
            seconds.append(fold_seconds)
        return oof_sum, oof_count, test_sum, scores, epochs, seconds, histories

    def __call__(self, params: dict, *, number: int = 0, deadline: float | None = None):
        """Score params on the search folds (the first `n_splits`)."""
        oof_sum, count, test_sum, *rest = self._run_folds(
            range(self.n_splits), params, number, deadline
        )
        return TrialResult(*rest[:3], _mean_oof(oof_sum, count), test_sum / self.n_splits, rest[3])

    def complete(self, params: dict, oof, test, *, number: int, deadline: float | None = None):
        """Fit the folds the search left out, so every row gets an out-of-fold prediction.

        `oof` and `test` are the trial's stored search predictions; returns the
        (oof, test, fold_scores, time_capped) over all folds, test being the mean of all fold
        models, time_capped whether the deadline cut a fold short.
        """
        extra = range(self.n_splits, len(self.splits))
        oof_sum, count, test_sum, scores, _, _, histories = self._run_folds(
            extra, params, number, deadline
        )
        capped = any(h.get("time_capped") for h in histories)
        searched = np.zeros(len(self.y))
        for i in range(self.n_splits):
            searched[self.splits[i][1]] += 1
        weights = searched.reshape((-1,) + (1,) * (oof_sum.ndim - 1))
        oof_sum = oof_sum + np.nan_to_num(np.asarray(oof, float)) * weights
        test_sum = test_sum + np.asarray(test, float) * self.n_splits
        return _mean_oof(oof_sum, count + searched), test_sum / len(self.splits), scores, capped


def _mean_oof(oof_sum, count):
    count = count.reshape((-1,) + (1,) * (oof_sum.ndim - 1))
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, oof_sum / np.maximum(count, 1), np.nan)
