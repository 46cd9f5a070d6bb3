"""One fixed, seeded list of shuffle splits shared by every trial (comparable scores)."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import ShuffleSplit
from sklearn.model_selection import StratifiedShuffleSplit


def make_splits(
    y: np.ndarray, *, stratify: bool, n_splits: int, test_size: float, random_state: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train_idx, valid_idx) pairs: StratifiedShuffleSplit for classes, ShuffleSplit otherwise.

    Stratification falls back to plain shuffling when a class is too rare to appear on both
    sides (sklearn would refuse), so tiny or imbalanced competitions still run.
    """
    y = np.asarray(y)
    splitter = ShuffleSplit(n_splits=n_splits, test_size=test_size, random_state=random_state)
    if stratify:
        counts = np.bincount(y)
        n_valid = int(np.ceil(test_size * len(y)))
        if counts[counts > 0].min() >= 2 and n_valid >= (counts > 0).sum():
            splitter = StratifiedShuffleSplit(
                n_splits=n_splits, test_size=test_size, random_state=random_state
            )
    return [(np.sort(tr), np.sort(va)) for tr, va in splitter.split(np.zeros(len(y)), y)]
