"""The competition metrics: the same values as scikit-learn's, losses to minimise, defaults
read from the submission template, and unknown names refused with the choices."""

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from automl_tab.exceptions import ConfigError
from automl_tab.metrics import default_metric
from automl_tab.metrics import get_metric
from automl_tab.metrics import selection_metric

RNG = np.random.default_rng(0)
LABELS = RNG.integers(0, 3, 200)
PROBA = RNG.dirichlet(np.ones(3), 200)
TRUE, PRED = RNG.lognormal(size=200), RNG.lognormal(size=200)


@pytest.mark.parametrize(
    "name, y, pred, expected",
    [
        ("log_loss", LABELS, PROBA, sk.log_loss(LABELS, PROBA)),
        ("accuracy", LABELS, PROBA, sk.accuracy_score(LABELS, PROBA.argmax(1))),
        ("roc_auc", LABELS % 2, PROBA[:, :2] / PROBA[:, :2].sum(1, keepdims=True),
         sk.roc_auc_score(LABELS % 2, PROBA[:, 1] / PROBA[:, :2].sum(1))),
        ("rmse", TRUE, PRED, np.sqrt(sk.mean_squared_error(TRUE, PRED))),
        ("rmsle", TRUE, PRED, np.sqrt(sk.mean_squared_log_error(TRUE, PRED))),
        ("mae", TRUE, PRED, sk.mean_absolute_error(TRUE, PRED)),
    ],
)  # fmt: skip
def test_scores_equal_scikit_learns(name, y, pred, expected):
    assert get_metric(name).score(y, pred) == pytest.approx(expected, rel=1e-9)


def test_losses_are_minimised_whatever_the_direction():
    accuracy, rmse = get_metric("accuracy"), get_metric("rmse")
    assert accuracy.to_loss(0.9) < accuracy.to_loss(0.8)
    assert rmse.to_loss(0.1) < rmse.to_loss(0.2)
    assert accuracy.loss(LABELS, PROBA) == -accuracy.score(LABELS, PROBA)


def test_weights_for_accuracy_are_chosen_on_the_brier_score():
    brier = selection_metric(get_metric("accuracy"))
    assert brier.name == "brier" and not brier.greater_is_better
    truth = np.eye(3)[LABELS]
    assert brier.loss(LABELS, truth) == 0.0
    assert brier.loss(LABELS, PROBA) == pytest.approx(np.mean(np.sum((PROBA - truth) ** 2, 1)))
    # Bounded, unlike log loss: a sure mistake costs 2, not infinity.
    assert brier.loss(np.array([0]), np.array([[0.0, 1.0]])) == pytest.approx(2.0)
    # A blend's rounding past 1 is not an error.
    assert brier.loss(np.array([0]), np.array([[1 + 2e-16, -2e-16]])) == pytest.approx(0.0)
    with pytest.raises(ConfigError, match="brier"):
        get_metric("brier")  # chosen on only, never a competition's metric
    assert selection_metric(get_metric("rmse")).name == "rmse"


@pytest.mark.parametrize(
    "task, class_columns, cells, expected",
    [
        ("regression", False, [1.5, 2.0], "rmse"),
        ("multiclass", True, [0.3, 0.2], "log_loss"),
        ("binary", False, [0.5, 0.5], "log_loss"),
        ("binary", False, ["yes", "no"], "accuracy"),
        ("binary", False, [0, 1], "accuracy"),
    ],
)
def test_the_default_metric_follows_the_template(task, class_columns, cells, expected):
    sample = pd.DataFrame({"label": cells})
    assert default_metric(task, class_columns, sample, ["label"]) == expected


def test_an_unknown_metric_names_the_choices():
    with pytest.raises(ConfigError, match="'f1' is unknown; use one of .*'log_loss'"):
        get_metric("f1")
