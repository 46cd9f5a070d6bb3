"""Competition metrics on arrays. Classification scores take integer class codes and an
(n, k) probability matrix; regression scores take values on the original target scale.

Everything downstream minimises `Metric.loss`, so direction is handled here once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

from .exceptions import ConfigError

EPS = 1e-15


def _log_loss(y, proba):
    proba = np.clip(proba, EPS, 1 - EPS)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return skm.log_loss(y, proba, labels=np.arange(proba.shape[1]))


def _accuracy(y, proba):
    return skm.accuracy_score(y, np.argmax(proba, axis=1))


def _roc_auc(y, proba):
    if len(np.unique(y)) < 2:
        return 0.5  # undefined on one class; neutral rather than a crash
    if proba.shape[1] == 2:
        return skm.roc_auc_score(y, proba[:, 1])
    return skm.roc_auc_score(y, proba, multi_class="ovr", labels=np.arange(proba.shape[1]))


def _brier(y, proba):
    """The multi-class Brier score, summed over classes (0 is perfect, 2 the worst)."""
    # A blend's average can pass 1 by a rounding error, which scikit-learn refuses.
    proba = np.clip(np.asarray(proba, dtype=float), 0.0, 1.0)
    proba = proba / np.maximum(proba.sum(axis=1, keepdims=True), EPS)
    labels = np.arange(proba.shape[1])
    return skm.brier_score_loss(y, proba, labels=labels, scale_by_half=False)


def _rmse(y, pred):
    return float(np.sqrt(np.mean((np.asarray(y, float) - np.asarray(pred, float)) ** 2)))


def _rmsle(y, pred):
    return _rmse(np.log1p(np.asarray(y, float)), np.log1p(np.clip(pred, 0, None)))


def _mae(y, pred):
    return float(np.mean(np.abs(np.asarray(y, float) - np.asarray(pred, float))))


@dataclass(frozen=True)
class Metric:
    name: str
    func: Callable
    greater_is_better: bool
    task_kind: str  # "classification" or "regression"
    needs_proba: bool = False
    # What ensemble weights are chosen on, when not this metric itself: accuracy is a step
    # function of the probabilities, and greedy selection on it chased noise on small data
    # (breast-cancer's holdout: 0.965 selected on accuracy, 0.972 on log loss). The Brier
    # score rather than log loss: bounded like accuracy, so a few confidently wrong rows do
    # not decide the weights (stored runs re-weighted: titanic and breast-cancer better in
    # 6, worse in 3 of 15).
    selection: str | None = None

    def score(self, y, pred) -> float:
        return float(self.func(y, pred))

    def loss(self, y, pred) -> float:
        """The score turned into something to minimise."""
        return self.to_loss(self.score(y, pred))

    def to_loss(self, score: float) -> float:
        return -score if self.greater_is_better else score


METRICS = {
    m.name: m
    for m in (
        Metric("log_loss", _log_loss, False, "classification", needs_proba=True),
        Metric("accuracy", _accuracy, True, "classification", selection="brier"),
        Metric("roc_auc", _roc_auc, True, "classification", needs_proba=True),
        Metric("rmse", _rmse, False, "regression"),
        Metric("rmsle", _rmsle, False, "regression"),
        Metric("mae", _mae, False, "regression"),
    )
}


# Chosen on only, never a competition's metric (so not a --metric choice).
SELECTION_METRICS = {"brier": Metric("brier", _brier, False, "classification", needs_proba=True)}


def get_metric(name: str) -> Metric:
    try:
        return METRICS[name]
    except KeyError:
        raise ConfigError(
            f"metric {name!r} is unknown; use one of {sorted(METRICS)} (--metric or "
            "competition.json)"
        ) from None


def default_metric(task: str, class_columns: bool, sample, preds) -> str:
    """Documented defaults: regression → rmse; probability columns → log_loss; a binary column
    of probabilities → log_loss; class labels → accuracy."""
    if task == "regression":
        return "rmse"
    if class_columns:
        return "log_loss"
    values = sample[preds[0]].dropna()
    numbers = np.asarray(values.map(_to_float).tolist(), dtype=float)
    probabilities = len(numbers) and np.all(np.isfinite(numbers))
    if task == "binary" and probabilities and np.any((numbers > 0) & (numbers < 1)):
        return "log_loss"
    return "accuracy"


def _to_float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return np.nan


def selection_metric(metric: Metric) -> Metric:
    """The metric ensemble weights are chosen on (see Metric.selection)."""
    if not metric.selection:
        return metric
    return SELECTION_METRICS.get(metric.selection) or get_metric(metric.selection)
