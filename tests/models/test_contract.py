"""The contract every model family in the registry must keep (models/base.py: TabularModel)."""

import inspect

import numpy as np
import pytest

from automl_tab.config import RunConfig
from automl_tab.exceptions import ConfigError
from automl_tab.exceptions import NotFittedError
from automl_tab.models import MODEL_REGISTRY
from automl_tab.models import get_model
from automl_tab.models.base import TabularModel

FAMILIES = sorted(MODEL_REGISTRY)
QUICK = {"nn": {"max_epochs": 5}, "lgbm": {}, "xt": {"n_estimators": 32}}  # fits of a second


def _data(task: str, n: int = 160, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)).astype(np.float32)
    signal = X[:, 0] - 0.5 * X[:, 1]
    if task == "regression":
        return X, signal + 0.1 * rng.normal(size=n)
    if task == "binary":
        return X, (signal > 0).astype(int)
    return X, np.digitize(signal, [-0.5, 0.5])


@pytest.mark.parametrize("name", FAMILIES)
def test_the_registry_name_and_the_protocol(name):
    model_cls = get_model(name)
    assert model_cls.name == name and isinstance(model_cls(), TabularModel)
    # What the pipeline and the report read from a family, declared by each.
    assert model_cls.optimizer_backend in (None, "optuna", "bayes_opt")
    assert isinstance(model_cls.has_learning_curves, bool)
    assert isinstance(model_cls.fixed_options(RunConfig()), dict)
    with pytest.raises(ConfigError, match="unknown"):
        get_model(name + "-nope")


@pytest.mark.parametrize("name", FAMILIES)
def test_default_params_are_the_constructor_defaults_and_lie_in_the_space(name):
    model_cls = get_model(name)
    defaults = model_cls.default_params()
    signature = inspect.signature(model_cls.__init__).parameters
    assert {k: signature[k].default for k in defaults} == defaults
    space = model_cls.search_space()
    assert {d.name for d in space.dimensions} == set(defaults)
    for dim in space.dimensions:  # each default survives the trip through the unit cube
        assert dim.from_unit(dim.to_unit(defaults[dim.name])) == pytest.approx(defaults[dim.name])


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("rows", [None, 300, 20_000, 2_000_000])
def test_starting_points_open_with_the_default_and_lie_in_the_space(name, rows):
    model_cls = get_model(name)
    points = model_cls.starting_points(rows)
    assert points[0] == model_cls.default_params(rows)
    space = model_cls.search_space()
    assert all(space.contains(p) and set(p) == set(space.names) for p in points)
    assert len({tuple(sorted(p.items())) for p in points}) == len(points)  # no repeats


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_fit_returns_self_learns_underscored_attributes_and_predicts_the_task_shape(name, task):
    model_cls = get_model(name)
    X, y = _data(task)
    n_classes = len(np.unique(y)) if task != "regression" else 2
    model = model_cls(task=task, n_classes=n_classes, random_state=0, **QUICK[name])
    with pytest.raises(NotFittedError, match="fit"):
        model.predict(X)
    before = set(vars(model))
    assert model.fit(X[:120], y[:120], X[120:], y[120:]) is model
    learned = {a for a in set(vars(model)) - before if not a.startswith("_")}  # public ones
    assert learned and all(a.endswith("_") for a in learned)
    pred = model.predict(X[:7])
    if task == "regression":
        assert pred.shape == (7,) and np.all(np.isfinite(pred))
    else:
        assert pred.shape == (7, n_classes)
        assert np.allclose(pred.sum(axis=1), 1.0, atol=1e-5) and np.all(pred >= 0)
