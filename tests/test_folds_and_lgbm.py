"""Folds with full out-of-fold coverage, the LightGBM family, and families sharing one clock."""

import time
import warnings

import numpy as np
import pytest
from helpers import objective_for

from automl_tab.budget import TRIAL_SHARE
from automl_tab.budget import Budget
from automl_tab.budget import finish_reserve
from automl_tab.ensemble import candidates
from automl_tab.ensemble import greedy_weights
from automl_tab.metrics import get_metric
from automl_tab.models import LightGBMModel
from automl_tab.models import PyramidNNModel
from automl_tab.search import TrialStore
from automl_tab.search.optimizers import get_optimizer
from automl_tab.search.runner import MAX_CONSECUTIVE_FAILURES
from automl_tab.search.runner import Stage
from automl_tab.search.runner import run_stages
from automl_tab.search.trial import TrialRecord
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


@pytest.mark.parametrize("comp", ["binary_comp", "multiclass_comp", "regression_comp"])
def test_completion_fills_every_row_and_keeps_search_predictions(comp, request):
    objective, y, _ = objective_for(request.getfixturevalue(comp), model_cls=LightGBMModel)
    objective.model_options = {}
    objective.splits = make_splits(
        y,
        stratify=objective.task != "regression",
        n_splits=2,
        test_size=0.25,
        random_state=0,
        complete=True,
    )
    params = LightGBMModel.default_params()
    result = objective(params, number=1)
    assert len(result.split_scores) == 2
    oof, test, scores, capped = objective.complete(params, result.oof, result.test, number=1)
    assert len(scores) == 2 and np.isfinite(oof).all() and not capped
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

    (oof, test, scores, _), cached = completed(0)
    (oof_all, test_all, scores_all, _), cached_all = completed(2**40)
    np.testing.assert_allclose(oof, oof_all)
    np.testing.assert_allclose(test, test_all)
    assert scores == scores_all and len(scores) == 4
    assert cached == [0] and cached_all == [0, 1, 2, 3, 4]


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


def record(model, number, loss):
    return TrialRecord(number=number, state="COMPLETE", params={}, model=model, loss=loss)


def test_candidates_interleave_the_families_by_rank():
    records = [record("nn", 0, 0.5), record("nn", 1, 0.4), record("lgbm", 0, 0.3)]
    records += [record("lgbm", 1, 0.35), record("lgbm", 2, 0.9), record("nn", 2, 0.45)]
    picked = [(r.model, r.number) for r in candidates(records, 2)]
    assert picked == [("lgbm", 0), ("nn", 1), ("lgbm", 1), ("nn", 2)]


def test_greedy_keeps_the_best_round():
    y = np.array([0.0, 0.0, 1.0, 1.0])
    exact, off = y.copy(), y + 0.5
    weights = greedy_weights(get_metric("rmse"), y, [exact, off], rounds=5)
    assert weights.tolist() == [1.0, 0.0]


def test_families_share_the_clock_and_a_broken_family_stops_alone(binary_comp, tmp_path):
    class Broken(PyramidNNModel):
        name = "nn"

        def fit(self, X, y, X_val, y_val):
            raise FloatingPointError("always")

    notices = []
    stages = []
    for name, cls in (("lgbm", LightGBMModel), ("nn", Broken)):
        objective, _, _ = objective_for(binary_comp, model_cls=cls)
        objective.model_options = {}
        store = TrialStore(tmp_path, name)
        optimizer = get_optimizer(
            "optuna", store.open_study(), cls.search_space(), seed=0, init_points=2
        )
        stages.append(Stage(name, objective, optimizer, store))
    budget = Budget(140)
    budget.open_search({"lgbm": 1.0, "nn": 1.0}, completes=False)
    run_stages(stages, budget, metric=get_metric("accuracy"), n_trials=8, on_notice=notices.append)
    lgbm, nn = (stage.store.records() for stage in stages)
    assert len(lgbm) == 8 and all(r.state == "COMPLETE" for r in lgbm)
    assert len(nn) == 5 and all(r.state == "FAIL" for r in nn)
    assert "FloatingPointError" in nn[0].fail_reason and "nn search stops" in notices[0]


def _instant_lgbm_stage(tmp_path, clock=time.monotonic, seconds=0.0):
    """A stage whose trials take `seconds` on `clock` (a fake one can jump), recording the
    time each one was allowed."""
    from automl_tab.search.trial import TrialResult

    allowed = []

    def objective(params, *, number, deadline):
        allowed.append(deadline - clock())
        if seconds:
            clock.now += seconds
        return TrialResult([0.5], [1], [0.0], np.zeros((4, 2)), np.zeros((2, 2)), [{}])

    store = TrialStore(tmp_path, "lgbm")
    space = LightGBMModel.search_space()
    optimizer = get_optimizer("optuna", store.open_study(), space, seed=0, init_points=1)
    return Stage("lgbm", objective, optimizer, store), allowed


def test_a_familys_first_trial_may_use_all_its_time_later_ones_a_quarter(tmp_path):
    """The default trial is the family's baseline and is never cut half-trained: its time cap
    is the family's whole search time; every later trial's is TRIAL_SHARE of it (measured
    from the deadline each one receives)."""
    stage, allowed = _instant_lgbm_stage(tmp_path)
    budget = Budget(400 + finish_reserve(400))
    budget.open_search({"lgbm": 1.0}, completes=False)
    run_stages([stage], budget, metric=get_metric("accuracy"), n_trials=3)
    assert len(allowed) == 3
    assert allowed[0] == pytest.approx(400, abs=2.0)
    assert allowed[1:] == pytest.approx([TRIAL_SHARE * 400] * 2, abs=2.0)


def test_the_search_gives_way_to_what_completing_the_best_trials_will_take(tmp_path):
    """The completion reserve is re-estimated after every trial: as completing the best
    trial is expected to take longer, the search ends earlier (no trial runs into it)."""

    class Clock:
        now = 0.0

        def __call__(self):
            return self.now

    clock = Clock()
    stage, allowed = _instant_lgbm_stage(tmp_path, clock, seconds=60.0)
    stage.best_completion_seconds = lambda: 76.0
    budget = Budget(160, clock=clock)  # 152 s after the 8 s finish reserve
    budget.open_search({"lgbm": 1.0}, completes=True)
    budget.expect_completion("lgbm", 50.0)
    run_stages([stage], budget, metric=get_metric("accuracy"), n_trials=5)
    # 102 s of search at first; after the first trial (60 s) completing it is expected to take
    # 76 s: 16 s are left, less than a trial takes, so the search ends there.
    assert allowed == pytest.approx([102.0])
    assert budget.completion_reserve() == 76.0


def test_trials_whose_score_is_not_a_number_stop_the_family(tmp_path):
    """A score that is not a number fails its trial and counts towards the consecutive-
    failure stop: a broken target must not run failed trials until the clock ends."""
    from automl_tab.exceptions import AutomlTabError
    from automl_tab.search.trial import TrialResult

    def objective(params, *, number, deadline):
        return TrialResult([float("nan")], [1], [0.0], np.zeros((4, 2)), np.zeros((2, 2)), [{}])

    store = TrialStore(tmp_path, "lgbm")
    optimizer = get_optimizer(
        "optuna", store.open_study(), LightGBMModel.search_space(), seed=0, init_points=1
    )
    budget = Budget(600)
    budget.open_search({"lgbm": 1.0}, completes=False)
    with pytest.raises(AutomlTabError, match="in a row failed"):
        run_stages([Stage("lgbm", objective, optimizer, store)], budget,
                   metric=get_metric("accuracy"), n_trials=50)  # fmt: skip
    records = store.records()
    assert len(records) == MAX_CONSECUTIVE_FAILURES
    assert all(r.state == "FAIL" and "not a number" in r.fail_reason for r in records)
