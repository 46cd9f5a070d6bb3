"""The objective with fixed params (no optimizer), on small generated data."""

import os

import numpy as np
import optuna
import pytest
from helpers import objective_for
from helpers import run_search

from automl_tab.budget import Budget
from automl_tab.exceptions import TrialFailed
from automl_tab.models import PyramidNNModel
from automl_tab.models.pyramid_nn import count_params
from automl_tab.search import TrialStore
from automl_tab.search.optimizers import get_optimizer


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
    if objective.task != "regression":
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


class ExplodingModel(PyramidNNModel):
    def fit(self, X, y, X_val, y_val):
        if self.learning_rate > 0.01:
            raise TrialFailed("the network diverged (test)")
        return super().fit(X, y, X_val, y_val)


def test_runner_records_failures_and_goes_on(binary_comp, tmp_path):
    objective, _, _ = objective_for(binary_comp, model_cls=ExplodingModel, max_epochs=5)
    store = TrialStore(tmp_path, "nn")
    optimizer = get_optimizer(
        "optuna", store.open_study(), PyramidNNModel.search_space(), seed=0, init_points=2
    )
    optimizer.study.enqueue_trial({**PyramidNNModel.default_params(), "learning_rate": 0.02})
    optimizer.enqueue(PyramidNNModel.default_params())  # no-op: the study is not empty
    run_search(objective, optimizer, store, metric=objective.metric, n_trials=3, budget=Budget(300))
    records = store.records()
    assert records[0].state == "FAIL" and "diverged" in records[0].fail_reason
    # The sampler may draw another learning rate above 0.01: that trial fails too.
    assert [r.state for r in records].count("COMPLETE") == 3
    for r in records:
        assert r.state == "COMPLETE" or "diverged" in r.fail_reason
        assert (r.state == "COMPLETE") == store.has_predictions(r.number)
    assert optuna.load_study(study_name="nn", storage=store.url).trials[0].state.name == "FAIL"


def test_a_reused_training_graph_trains_exactly_as_a_new_one(binary_comp):
    from automl_tab.models import _keras_loop

    objective, y, splits = objective_for(binary_comp)
    X_tr, X_va, X_te = objective.split_data(0)
    (train_idx, valid_idx) = splits[0]

    def fit(seed, **params):
        model = PyramidNNModel(
            **{**PyramidNNModel.default_params(), "dropout": 0.3, **params},
            task="binary",
            random_state=seed,
            max_epochs=15,
            patience=5,
        )
        return model.fit(X_tr, y[train_idx], X_va, y[valid_idx]).predict(X_te)

    fit(0, max_layers=1)  # another shape: the next fit traces a new graph
    cold = fit(1)
    graph = _keras_loop._current
    other = fit(2, learning_rate=0.01)  # same shape: trains the kept graph further
    warm = fit(1)
    assert _keras_loop._current is graph
    assert not np.array_equal(cold, other)
    np.testing.assert_array_equal(cold, warm)


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
    import time

    objective, _, _ = objective_for(binary_comp)
    with pytest.raises(TrialFailed, match="half-trained"):
        objective(PyramidNNModel.default_params(), number=0, deadline=time.monotonic() - 1)


class _ScriptedGraph:
    """A stand-in for TrainingGraph whose validation losses follow a script (no TensorFlow)."""

    def __init__(self, val_losses):
        self.val_losses, self.epoch = list(val_losses), -1
        self.model = self
        self.weights = None

    def train_epoch(self, X, y, seed):
        self.epoch += 1
        return 1.0

    def val_loss(self, X, y):
        return self.val_losses[self.epoch]

    def get_weights(self):
        return f"epoch {self.epoch + 1}"

    def set_weights(self, weights):
        self.weights = weights


class _NoTF:
    int64 = "int64"

    @staticmethod
    def constant(value, dtype=None):
        return value


@pytest.mark.parametrize("rate, epochs_run", [(0.0, 30), (0.5, 40)])
def test_patience_grows_with_the_best_epoch_and_the_best_weights_come_back(rate, epochs_run):
    """Falling for 20 epochs, then flat: patience 10 stops 10 epochs after the best; with
    AutoGluon's rule (10 + 0.5 x the best epoch's index, 19) it waits 20."""
    from automl_tab.models._keras_loop import train

    graph = _ScriptedGraph([1.0 - 0.01 * e for e in range(20)] + [0.9] * 100)
    best, history = train(
        _NoTF, graph, X=None, y=None, X_val=None, y_val=None, max_epochs=120, patience=10,
        min_delta=1e-4, seed=0, patience_rate=rate,
    )  # fmt: skip
    assert best == 20 and graph.weights == "epoch 20"
    assert len(history["val_loss"]) == epochs_run and not history["time_capped"]


def test_no_epoch_starts_that_would_end_past_the_deadline(monkeypatch):
    """Epochs of 5 s against a deadline 12 s away: the third would end at 15 s, so training
    stops after two (the first epoch's time is not known before it, so it always runs)."""
    from automl_tab.models import _keras_loop

    clock = {"now": 0.0}
    monkeypatch.setattr(_keras_loop.time, "monotonic", lambda: clock["now"])
    graph = _ScriptedGraph([1.0 - 0.01 * e for e in range(50)])
    epoch = graph.train_epoch

    def slow_epoch(X, y, seed):
        clock["now"] += 5.0
        return epoch(X, y, seed)

    graph.train_epoch = slow_epoch
    best, history = _keras_loop.train(
        _NoTF, graph, X=None, y=None, X_val=None, y_val=None, max_epochs=50, patience=10,
        min_delta=1e-4, seed=0, deadline=12.0,
    )  # fmt: skip
    assert len(history["val_loss"]) == 2 and history["time_capped"] and best == 2


def test_the_probe_measures_a_pace_and_a_work_limit_narrows_the_network(binary_comp):
    objective, _, _ = objective_for(binary_comp)
    big = {**PyramidNNModel.default_params(), "neuron_pct": 0.2, "max_layers": 3, "members": 4}
    cost = objective.probe(big)
    assert cost.work_rate is not None and cost.work_rate > 0
    assert cost.epochs is not None and 1 <= cost.epochs <= PyramidNNModel().max_epochs
    _, _, X_test = objective.split_data(0)
    X, y = np.random.default_rng(0).normal(size=(120, X_test.shape[1])), np.arange(120) % 2
    free = PyramidNNModel(**{**big, "max_epochs": 3}).fit(X, y, X[:20], y[:20])
    narrow = PyramidNNModel(**{**big, "max_epochs": 3, "max_work": 4 * 5_000}).fit(
        X, y, X[:20], y[:20]
    )
    assert free.widths_[0] == 1000 and count_params(X.shape[1], narrow.widths_, 1) <= 5_000
    assert narrow.history_["work"] <= 4 * 5_000 * 120 and narrow.history_["epoch_seconds"] > 0
