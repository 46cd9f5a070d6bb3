"""The objective with fixed params (no optimizer), on small generated data: scores,
predictions, fold workers, the probe, the completion."""

import os
import time

import numpy as np
import pytest
from helpers import objective_for

from automl_tab.exceptions import TrialFailed
from automl_tab.models import LightGBMModel
from automl_tab.models import PyramidNNModel
from automl_tab.models.pyramid_nn import count_params
from automl_tab.splits import make_splits


@pytest.mark.parametrize("comp", ["binary_comp", "multiclass_comp", "regression_comp"])
def test_fixed_params_give_scores_and_predictions(comp, request):
    objective, y, splits = objective_for(request.getfixturevalue(comp))
    result = objective(PyramidNNModel.default_params(), number=0)
    assert len(result.split_scores) == 2 and np.all(np.isfinite(result.split_scores))
    assert all(1 <= e <= 60 for e in result.best_epochs)
    valid = np.unique(np.concatenate([va for _, va in splits]))
    oof = result.oof.reshape(len(y), -1)
    assert np.isfinite(oof[valid]).all()
    assert np.isnan(np.delete(oof, valid, axis=0)).all()
    assert len(result.test) == 60
    if objective.facts.task != "regression":
        assert np.allclose(result.test.sum(axis=1), 1, atol=1e-5)


def test_learns_better_than_chance(multiclass_comp):
    objective, _, _ = objective_for(multiclass_comp)
    result = objective({**PyramidNNModel.default_params(), "learning_rate": 0.01}, number=0)
    assert result.score < np.log(3)  # below the uniform guess's log loss


def test_same_seed_same_result(binary_comp):
    objective, _, _ = objective_for(binary_comp)
    a = objective(PyramidNNModel.default_params(), number=3)
    b = objective(PyramidNNModel.default_params(), number=3)
    np.testing.assert_array_equal(a.test, b.test)


def test_diverging_network_fails_the_trial(regression_comp):
    objective, _, _ = objective_for(regression_comp)
    params = {**PyramidNNModel.default_params(), "optimizer": "sgd", "learning_rate": 1e12}
    with pytest.raises(TrialFailed, match="diverged"):
        objective(params, number=0)


def test_folds_train_in_worker_processes_and_repeat_exactly(binary_comp, monkeypatch):
    from automl_tab.search import fold_pool

    objective, _, _ = objective_for(binary_comp)
    fold_pool.worker_rss_mb.clear()
    a = objective(PyramidNNModel.default_params(), number=1)
    assert fold_pool.fold_workers(2) == min(2, fold_pool.available_cores())
    if fold_pool.fold_workers(2) > 1:  # a one-core machine trains here
        assert fold_pool.worker_rss_mb and os.getpid() not in fold_pool.worker_rss_mb
    b = objective(PyramidNNModel.default_params(), number=1)
    np.testing.assert_array_equal(a.oof, b.oof)  # whichever worker ran which fold
    np.testing.assert_array_equal(a.test, b.test)
    assert objective.rounds(2) == 2 // fold_pool.fold_workers(2)  # what completion waits for
    monkeypatch.setenv(fold_pool.WORKERS_ENV, "1")
    objective, _, _ = objective_for(binary_comp)  # the pool size is fixed when it is built
    assert fold_pool.fold_workers(2) == 1 and objective.rounds(2) == 2
    fold_pool.worker_rss_mb.clear()
    c = objective(PyramidNNModel.default_params(), number=1)  # in this process
    assert not fold_pool.worker_rss_mb
    np.testing.assert_allclose(a.score, c.score, rtol=0.05)  # one thread there, maybe two here


def test_the_probe_measures_a_trial_and_its_fits_become_the_first_trials_folds(
    binary_comp, monkeypatch
):
    from automl_tab.models import LightGBMModel
    from automl_tab.search import objective as objective_module

    objective, _, _ = objective_for(binary_comp, model_cls=LightGBMModel)
    objective.model_options = {}
    params = LightGBMModel.default_params()
    expected = objective(params, number=0)
    fits = []
    real = objective_module.fit_and_predict
    monkeypatch.setattr(
        objective_module, "fit_and_predict", lambda *task: fits.append(1) or real(*task)
    )
    probed, _, _ = objective_for(binary_comp, model_cls=LightGBMModel)
    probed.model_options = {}
    cost = probed.probe(params, number=0)
    assert cost.workers == 1 and cost.fold_seconds > 0 and cost.converged
    assert cost.target_trials == LightGBMModel.target_trials
    n_probed = len(fits)  # tiny folds: the probe fits every fold within its second
    assert n_probed == 2
    result = probed(params, number=0)
    assert len(fits) == n_probed  # the trial fitted nothing again
    np.testing.assert_array_equal(result.oof, expected.oof)
    np.testing.assert_array_equal(result.test, expected.test)
    probed(params, number=0)
    assert len(fits) == 2 * n_probed  # kept fits serve once


def test_a_fold_cut_by_the_clock_after_a_handful_of_epochs_fails_the_trial(binary_comp):

    objective, _, _ = objective_for(binary_comp)
    with pytest.raises(TrialFailed, match="half-trained"):
        objective(PyramidNNModel.default_params(), number=0, deadline=time.monotonic() - 1)


def test_the_probe_measures_a_pace_and_a_work_limit_narrows_the_network(binary_comp):
    objective, _, _ = objective_for(binary_comp)
    big = {**PyramidNNModel.default_params(), "neuron_pct": 0.2, "max_layers": 3, "members": 4}
    cost = objective.probe(big)
    assert cost.work_rate is not None and cost.work_rate > 0
    assert cost.epochs is not None and 1 <= cost.epochs <= PyramidNNModel().max_epochs
    _, _, X_test = objective.split_data(0)
    X, y = np.random.default_rng(0).normal(size=(120, X_test.shape[1])), np.arange(120) % 2
    free = PyramidNNModel(**{**big, "max_epochs": 3, "capacity_rule": False}).fit(
        X, y, X[:20], y[:20]
    )
    narrow = PyramidNNModel(**{**big, "max_epochs": 3, "max_work": 4 * 5_000}).fit(
        X, y, X[:20], y[:20]
    )
    assert free.widths_[0] == 1000 and count_params(X.shape[1], narrow.widths_, 1) <= 5_000
    assert narrow.history_["work"] <= 4 * 5_000 * 120 and narrow.history_["epoch_seconds"] > 0


@pytest.mark.parametrize("comp", ["binary_comp", "multiclass_comp", "regression_comp"])
def test_completion_fills_every_row_and_keeps_search_predictions(comp, request):
    objective, y, _ = objective_for(request.getfixturevalue(comp), model_cls=LightGBMModel)
    objective.model_options = {}
    objective.splits = make_splits(
        y,
        stratify=objective.facts.task != "regression",
        n_splits=2,
        test_size=0.25,
        random_state=0,
        complete=True,
    )
    params = LightGBMModel.default_params()
    result = objective(params, number=1)
    assert len(result.split_scores) == 2
    full = objective.complete(params, result.oof, result.test, number=1)
    oof, test = full.oof, full.test
    assert len(full.fold_scores) == 2 and np.isfinite(oof).all() and not full.time_capped
    searched = ~np.isnan(result.oof.reshape(len(y), -1)).any(axis=1)
    np.testing.assert_allclose(oof[searched], result.oof[searched])
    # the test prediction is the mean over all 4 fold models
    again = objective._run_folds(range(4), params, 1, None).test_sum / 4
    np.testing.assert_allclose(test, again, rtol=1e-6)


def test_on_large_data_completion_fits_a_round_at_a_time_and_drops_its_folds(
    binary_comp, monkeypatch
):
    """With folds 'large' (the threshold at 0 bytes), completion gives the same predictions
    as all at once, and the cache holds only the search folds afterwards."""
    from automl_tab.search import objective as objective_module

    def completed(keep_bytes):
        monkeypatch.setattr(objective_module, "KEEP_FOLD_BYTES", keep_bytes)
        objective, y, _ = objective_for(binary_comp, model_cls=LightGBMModel)
        objective.model_options = {}
        objective.splits = make_splits(
            y, stratify=True, n_splits=1, test_size=0.2, random_state=0, complete=True
        )
        objective.n_splits = 1
        params = LightGBMModel.default_params()
        result = objective(params, number=1)
        out = objective.complete(params, result.oof, result.test, number=1)
        return out, sorted(objective._cache)

    full, cached = completed(0)
    full_all, cached_all = completed(2**40)
    np.testing.assert_allclose(full.oof, full_all.oof)
    np.testing.assert_allclose(full.test, full_all.test)
    assert full.fold_scores == full_all.fold_scores and len(full.fold_scores) == 4
    assert cached == [0] and cached_all == [0, 1, 2, 3, 4]
