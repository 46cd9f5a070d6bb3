"""Ensembles on arrays only (no model code): pick trials, average their predictions, score the
blend on out-of-sample rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .metrics import Metric

if TYPE_CHECKING:  # the search imports this module: a type only, no import cycle
    from .search.trial import TrialRecord


def top_trials(records: list[TrialRecord], k: int) -> list[TrialRecord]:
    """The k best completed trials, best first (ties broken by trial number)."""
    done = [r for r in records if r.state == "COMPLETE" and r.loss is not None]
    return sorted(done, key=lambda r: (r.loss, r.number))[:k]


def blend(predictions: list[np.ndarray], weights: list[float] | None = None) -> np.ndarray:
    """Weighted mean of prediction arrays (equal weights by default)."""
    stack = np.stack([np.asarray(p, dtype=float) for p in predictions])
    w = np.ones(len(predictions)) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.sum()
    return np.tensordot(w, stack, axes=1)


def covered_rows(oof: np.ndarray) -> np.ndarray:
    """Rows that have an out-of-sample prediction (no NaN in any of their columns)."""
    oof = np.asarray(oof, dtype=float)
    return ~np.isnan(oof.reshape(len(oof), -1)).any(axis=1)


def oof_score(metric: Metric, y: np.ndarray, oof: np.ndarray) -> tuple[float, int]:
    """Score out-of-sample predictions on the rows that have one; returns (score, n_rows).

    Members of one ensemble share their folds, so they cover the same rows.
    """
    covered = covered_rows(oof)
    return metric.score(np.asarray(y)[covered], oof[covered]), int(covered.sum())


def greedy_weights(
    metric: Metric, y: np.ndarray, oofs: list[np.ndarray], *, rounds: int = 25
) -> np.ndarray:
    """Caruana ensemble selection with replacement on out-of-sample predictions.

    Each round adds the candidate that most improves the metric of the running average (ties
    go to the better-ranked candidate, so pass candidates best first). The weights are the
    selection counts of the best-scoring round (a later round can be worse than an earlier
    one, so the best prefix is kept), hence sparse and non-negative, and the blend's
    out-of-sample score is never worse than the best single candidate's. Rows that some
    candidate never validated are left out.
    """
    covered = np.ones(len(oofs[0]), dtype=bool)
    for p in oofs:
        covered &= covered_rows(p)
    y = np.asarray(y)[covered]
    preds = [np.asarray(p, dtype=float)[covered] for p in oofs]
    counts = np.zeros(len(preds))
    running = np.zeros_like(preds[0])
    best_loss, best_counts = np.inf, None
    for step in range(rounds):
        losses = [metric.loss(y, (running * step + p) / (step + 1)) for p in preds]
        pick = int(np.argmin(losses))  # argmin keeps the first of equal losses
        counts[pick] += 1
        running = (running * step + preds[pick]) / (step + 1)
        if losses[pick] < best_loss:
            best_loss, best_counts = losses[pick], counts.copy()
    return best_counts / best_counts.sum()
