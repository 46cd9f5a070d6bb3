"""The LightGBM family: it learns, stops at its deadline with the best round, and repeats for a
seed."""

import time

import numpy as np
import pytest
from helpers import objective_for

from automl_tab.models import LightGBMModel


def test_lightgbm_learns_and_reports_its_best_round(multiclass_comp):
    objective, _, _ = objective_for(multiclass_comp, model_cls=LightGBMModel)
    objective.model_options = {}
    result = objective(LightGBMModel.default_params(), number=0)
    assert result.score < np.log(3)
    assert all(e >= 1 for e in result.best_epochs)
    assert np.allclose(result.test.sum(axis=1), 1)


def test_lightgbm_past_its_deadline_keeps_the_best_round_so_far():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    y = X[:, 0] + rng.normal(scale=0.1, size=400)
    model = LightGBMModel(
        task="regression", learning_rate=0.01, deadline=time.monotonic() - 1, patience=1000
    )
    model.fit(X[:300], y[:300], X[300:], y[300:])
    assert model.history_["time_capped"] and model.best_epoch_ == 1
    assert model.predict(X[300:]).shape == (100,)


def test_lightgbm_is_deterministic_for_a_seed():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 6))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    params = {**LightGBMModel.default_params(), "bagging_fraction": 0.7, "feature_fraction": 0.5}
    a = LightGBMModel(**params, random_state=3).fit(X[:200], y[:200], X[200:], y[200:])
    b = LightGBMModel(**params, random_state=3).fit(X[:200], y[:200], X[200:], y[200:])
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_a_learning_rate_too_slow_for_the_plans_slowdown_is_raised_to_what_it_affords():
    def rate(learning_rate, max_slowdown):
        model = LightGBMModel(learning_rate=learning_rate, max_slowdown=max_slowdown)
        return model._learning_rate()

    assert rate(0.005, None) == 0.005  # no plan (--n-trials): as searched
    assert rate(0.005, 1.6) == pytest.approx(0.1 / 1.6)  # otto at 60 s
    assert rate(0.2, 1.6) == 0.2  # faster than the floor: as searched
    assert rate(0.005, 100.0) == 0.005  # small data affords it
    assert rate(0.005, 0.5) == 0.1  # never above the default's rate, the probe's own
