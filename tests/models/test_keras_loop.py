"""The networks' training loop: a kept graph trains exactly as a new one, patience grows with
the best epoch, no epoch runs past the deadline."""

import numpy as np
import pytest
from helpers import objective_for

from automl_tab.models import PyramidNNModel


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


def test_the_graph_optimiser_runs_from_its_row_count_and_changes_no_result(
    binary_comp, monkeypatch
):
    import tensorflow as tf

    from automl_tab.models import _keras_loop

    objective, y, splits = objective_for(binary_comp)
    X_tr, X_va, X_te = objective.split_data(0)
    (train_idx, valid_idx) = splits[0]

    def fit():
        model = PyramidNNModel(task="binary", random_state=3, max_epochs=8, patience=5)
        predictions = model.fit(X_tr, y[train_idx], X_va, y[valid_idx]).predict(X_te)
        return predictions, tf.config.optimizer.get_experimental_options()

    small, options = fit()  # a few hundred rows: below GRAPPLER_MIN_ROWS
    assert options.get("disable_meta_optimizer") is True
    monkeypatch.setattr(_keras_loop, "GRAPPLER_MIN_ROWS", 1)
    optimised, options = fit()
    assert options.get("disable_meta_optimizer") is False
    np.testing.assert_array_equal(small, optimised)


class _ScriptedGraph:
    """A stand-in for TrainingGraph whose validation losses follow a script (no TensorFlow)."""

    def __init__(self, val_losses):
        self.val_losses, self.epoch = list(val_losses), -1
        self.weights = None

    def tensors(self, X, y):
        return X, y

    def train_epoch(self, data, seed, epoch):
        self.epoch += 1
        return 1.0

    def val_loss(self, data):
        return self.val_losses[self.epoch]

    def snapshot(self):
        return f"epoch {self.epoch + 1}"

    def restore(self, weights):
        self.weights = weights


@pytest.mark.parametrize("rate, epochs_run", [(0.0, 30), (0.5, 40)])
def test_patience_grows_with_the_best_epoch_and_the_best_weights_come_back(rate, epochs_run):
    """Falling for 20 epochs, then flat: patience 10 stops 10 epochs after the best; with
    AutoGluon's rule (10 + 0.5 x the best epoch's index, 19) it waits 20."""
    from automl_tab.models._keras_loop import train

    graph = _ScriptedGraph([1.0 - 0.01 * e for e in range(20)] + [0.9] * 100)
    best, history = train(
        graph, X=None, y=None, X_val=None, y_val=None, max_epochs=120, patience=10,
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

    def slow_epoch(data, seed, n):
        clock["now"] += 5.0
        return epoch(data, seed, n)

    graph.train_epoch = slow_epoch
    best, history = _keras_loop.train(
        graph, X=None, y=None, X_val=None, y_val=None, max_epochs=50, patience=10,
        min_delta=1e-4, seed=0, deadline=12.0,
    )  # fmt: skip
    assert len(history["val_loss"]) == 2 and history["time_capped"] and best == 2
