"""The ExtraTrees family: it learns, grows in chunks until its deadline, sizes its default to
the data, caps its forest's leaves, and repeats for a seed."""

import time

import numpy as np
import pytest
from helpers import objective_for

from automl_tab.models import ExtraTreesModel
from automl_tab.models.extra_trees import CHUNK_TREES
from automl_tab.models.extra_trees import MAX_FOREST_LEAVES


def _classes(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    return X, np.digitize(X[:, 0] - X[:, 1], [-0.7, 0.7])


def test_extra_trees_learn_and_report_their_chunks(multiclass_comp):
    objective, _, _ = objective_for(multiclass_comp, model_cls=ExtraTreesModel)
    objective.model_options = {}
    params = {**ExtraTreesModel.default_params(), "n_estimators": 48}
    result = objective(params, number=0)
    assert result.score < np.log(3)
    assert all(e == 48 // CHUNK_TREES for e in result.best_epochs)  # three chunks of trees
    assert np.allclose(result.test.sum(axis=1), 1)


def test_the_validation_curve_falls_as_trees_are_added():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = X[:, 0] - X[:, 1] + rng.normal(scale=0.5, size=300)
    model = ExtraTreesModel(task="regression", n_estimators=64, max_features=0.5)
    model.fit(X[:200], y[:200], X[200:], y[200:])
    curve = model.history_["val_loss"]
    assert len(curve) == 4 and curve[-1] < curve[0]
    assert not model.history_["time_capped"] and len(model.forest_.estimators_) == 64


def test_past_its_deadline_the_forest_keeps_the_trees_grown_so_far():
    X, y = _classes()
    model = ExtraTreesModel(
        task="multiclass", n_classes=3, n_estimators=300, deadline=time.monotonic() - 1
    )
    model.fit(X[:200], y[:200], X[200:], y[200:])
    assert model.history_["time_capped"] and model.best_epoch_ == 1
    assert len(model.forest_.estimators_) == CHUNK_TREES
    assert model.predict(X[200:]).shape == (100, 3)


def test_a_class_missing_from_the_training_rows_gets_probability_zero():
    X, y = _classes()
    keep = y != 1  # a fold whose training rows lack class 1
    model = ExtraTreesModel(task="multiclass", n_classes=3, n_estimators=32)
    model.fit(X[keep][:150], y[keep][:150], X[200:], y[200:])
    proba = model.predict(X[200:])
    assert proba.shape == (100, 3) and np.all(proba[:, 1] == 0)
    assert np.allclose(proba.sum(axis=1), 1)
    assert np.isfinite(model.history_["val_loss"][-1])  # class 1 is clipped, not log(0)


def test_the_default_forest_shrinks_on_large_data_and_trees_are_capped_in_leaves():
    assert ExtraTreesModel.default_params(1_000)["n_estimators"] == 300
    assert ExtraTreesModel.default_params(5_000)["n_estimators"] == 200
    assert ExtraTreesModel.default_params(37_000)["n_estimators"] == 32  # otto: 27, at least 32
    assert ExtraTreesModel.default_params(10_000_000)["n_estimators"] == 32
    trees = 512
    forest = ExtraTreesModel(n_estimators=trees)._forest(rows=100_000)
    assert forest.max_leaf_nodes == MAX_FOREST_LEAVES // trees
    assert ExtraTreesModel(n_estimators=trees)._forest(rows=300).max_leaf_nodes == 300


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_extra_trees_are_deterministic_for_a_seed(task):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 6))
    y = X[:, 0] + X[:, 1]
    y = y if task == "regression" else (y > 0).astype(int)
    params = {"n_estimators": 40, "max_features": 0.5, "min_samples_leaf": 2}
    a = ExtraTreesModel(**params, task=task, random_state=3).fit(X[:200], y[:200], X[200:], y[200:])
    b = ExtraTreesModel(**params, task=task, random_state=3).fit(X[:200], y[:200], X[200:], y[200:])
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_predictions_in_row_blocks_equal_those_in_one(monkeypatch):
    import automl_tab.models.extra_trees as extra_trees

    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 4))
    y = X[:, 0] + rng.normal(scale=0.3, size=400)
    model = ExtraTreesModel(task="regression", n_estimators=32).fit(
        X[:300], y[:300], X[300:], y[300:]
    )
    whole = model.predict(X)
    monkeypatch.setattr(extra_trees, "BLOCK_ROWS", 100)
    monkeypatch.setattr(extra_trees, "available_cores", lambda: 3)
    np.testing.assert_array_equal(model.predict(X), whole)
