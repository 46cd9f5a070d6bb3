"""One fixed, seeded list of validation splits shared by every trial (comparable scores).

The splits are the folds of a seeded, shuffled (stratified) K-fold with K = round(1 /
test_size), repeated when more splits are asked for than one repetition holds. Each fold is
a random hold-out of `test_size` of the rows, like a (Stratified)ShuffleSplit, with one more
property: the hold-outs of one repetition are disjoint. A trial is scored on the first
`n_splits` folds; finishing the remaining folds of the repetition (`full_coverage`) gives
the best trials an out-of-fold prediction for every training row, which the ensemble needs,
without re-running the folds already fitted during the search.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.model_selection import RepeatedKFold
from sklearn.model_selection import RepeatedStratifiedKFold


def n_folds(test_size: float) -> int:
    """K of the K-fold: each fold holds out about `test_size` of the rows."""
    return max(2, round(1 / test_size))


def full_coverage(n_splits: int, test_size: float) -> int:
    """How many folds cover every row equally often: whole repetitions of the K-fold."""
    k = n_folds(test_size)
    return math.ceil(n_splits / k) * k


def make_splits(
    y: np.ndarray,
    *,
    stratify: bool,
    n_splits: int,
    test_size: float,
    random_state: int,
    complete: bool = False,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train_idx, valid_idx) pairs: the first `n_splits` folds, or with `complete` all folds of
    the repetitions they start (see `full_coverage`).

    Stratification falls back to plain shuffling when a class has fewer rows than folds
    (sklearn would warn and give unbalanced folds), so tiny competitions still run.
    """
    y = np.asarray(y)
    k = n_folds(test_size)
    total = full_coverage(n_splits, test_size)
    kwargs = {"n_splits": k, "n_repeats": total // k, "random_state": random_state}
    splitter = RepeatedKFold(**kwargs)
    if stratify:
        counts = np.bincount(y)
        if counts[counts > 0].min() >= k:
            splitter = RepeatedStratifiedKFold(**kwargs)
    folds = [(np.sort(tr), np.sort(va)) for tr, va in splitter.split(np.zeros(len(y)), y)]
    return folds if complete else folds[:n_splits]
