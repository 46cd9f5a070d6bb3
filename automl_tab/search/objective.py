"""How a trial is scored: the same seeded shuffle splits for every trial, preprocessing
fitted on each split's training rows only, early stopping on the split's validation rows."""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import clone

from ..exceptions import TrialFailed
from ..metrics import Metric
from .trial import TrialResult


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
        splits: (train_idx, valid_idx) pairs shared by all trials.
        metric: the competition metric.
        task, n_classes, log_target: from the schema.
        model_options: fixed model settings (max_epochs, patience).
        seed: the run's master seed.
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
    ):
        self.model_cls = model_cls
        self.X, self.y, self.X_test = X, np.asarray(y), X_test
        self.preprocessor = preprocessor
        self.splits = splits
        self.metric = metric
        self.task = task
        self.n_classes = n_classes
        self.log_target = log_target
        self.model_options = dict(model_options or {})
        self.seed = seed
        self._cache: dict[int, tuple] = {}

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

    def __call__(self, params: dict, *, number: int = 0, deadline: float | None = None):
        width = self.n_classes if self.task != "regression" else 1
        shape = (len(self.y), width) if self.task != "regression" else (len(self.y),)
        oof_sum, oof_count = np.zeros(shape), np.zeros(len(self.y))
        test_sum = 0.0
        scores, epochs, seconds, histories = [], [], [], []
        trial_started = time.monotonic()
        for i, (train_idx, valid_idx) in enumerate(self.splits):
            started = time.monotonic()
            # Split i may use its share of the trial's time plus whatever earlier splits left.
            split_deadline = None
            if deadline is not None:
                share = (deadline - trial_started) * (i + 1) / len(self.splits)
                split_deadline = trial_started + share
            X_tr, X_va, X_te = self.split_data(i)
            model = self.model_cls(
                **params,
                **self.model_options,
                task=self.task,
                n_classes=self.n_classes,
                deadline=split_deadline,
                random_state=split_seed(self.seed, number, i),
            )
            y_tr, y_va = self.y[train_idx], self.y[valid_idx]
            model.fit(X_tr, self._fit_target(y_tr), X_va, self._fit_target(y_va))
            valid_pred = self._from_model(model.predict(X_va))
            test_pred = self._from_model(model.predict(X_te))
            if not (np.all(np.isfinite(valid_pred)) and np.all(np.isfinite(test_pred))):
                raise TrialFailed("the network predicted NaN or inf")
            scores.append(self.metric.score(y_va, valid_pred))
            epochs.append(int(getattr(model, "best_epoch_", 0)))
            histories.append(getattr(model, "history_", {}))
            oof_sum[valid_idx] += valid_pred
            oof_count[valid_idx] += 1
            test_sum = test_sum + test_pred
            seconds.append(time.monotonic() - started)
        with np.errstate(invalid="ignore"):
            count = oof_count.reshape((-1,) + (1,) * (oof_sum.ndim - 1))
            oof = np.where(count > 0, oof_sum / np.maximum(count, 1), np.nan)
        return TrialResult(scores, epochs, seconds, oof, test_sum / len(self.splits), histories)
