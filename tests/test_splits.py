"""Folds: the search folds are a prefix of disjoint folds that cover every row; repeats; the
rare-class fallback."""

import warnings

import numpy as np
import pytest

from automl_tab.splits import full_coverage
from automl_tab.splits import make_splits


@pytest.mark.parametrize("stratify", [True, False])
def test_search_folds_are_a_prefix_of_disjoint_covering_folds(stratify):
    y = np.repeat([0, 1, 2], [50, 30, 20])
    search = make_splits(y, stratify=stratify, n_splits=3, test_size=0.2, random_state=4)
    folds = make_splits(
        y, stratify=stratify, n_splits=3, test_size=0.2, random_state=4, complete=True
    )
    assert len(folds) == full_coverage(3, 0.2) == 5
    for (a_tr, a_va), (b_tr, b_va) in zip(search, folds):
        assert np.array_equal(a_tr, b_tr) and np.array_equal(a_va, b_va)
    valid = np.concatenate([va for _, va in folds])
    assert np.array_equal(np.sort(valid), np.arange(100))  # each row validated exactly once
    for train, va in folds:
        assert not set(train) & set(va)
    if stratify:  # every class keeps its share in every fold
        assert all(np.bincount(y[va]).tolist() == [10, 6, 4] for _, va in folds)


def test_more_splits_than_folds_repeat_the_k_fold():
    y = np.arange(40) % 2
    folds = make_splits(y, stratify=True, n_splits=7, test_size=0.25, random_state=0, complete=True)
    assert len(folds) == 8
    counts = np.bincount(np.concatenate([va for _, va in folds]))
    assert set(counts) == {2}


def test_rare_class_falls_back_to_plain_folds():
    """Two rows of a class cannot be stratified over five folds: sklearn would warn (an
    error here) and give unbalanced folds; the plain K-fold is used, every row validated once."""
    y = np.array([0] * 30 + [1] * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        folds = make_splits(
            y, stratify=True, n_splits=2, test_size=0.2, random_state=0, complete=True
        )
    plain = make_splits(y, stratify=False, n_splits=2, test_size=0.2, random_state=0, complete=True)
    assert len(folds) == 5 and all(np.array_equal(a[1], b[1]) for a, b in zip(folds, plain))
    assert sorted(np.concatenate([va for _, va in folds])) == list(range(len(y)))
