"""The runner: families share one clock, failures are recorded and counted, the search gives
way to the completion."""

import time

import numpy as np
import optuna
import pytest
from helpers import objective_for
from helpers import run_search

from automl_tab.budget import TRIAL_SHARE
from automl_tab.budget import Budget
from automl_tab.budget import finish_reserve
from automl_tab.exceptions import TrialFailed
from automl_tab.metrics import get_metric
from automl_tab.models import LightGBMModel
from automl_tab.models import PyramidNNModel
from automl_tab.search import TrialStore
from automl_tab.search.optimizers import get_optimizer
from automl_tab.search.runner import MAX_CONSECUTIVE_FAILURES
from automl_tab.search.runner import MIN_EVIDENCE_ROWS
from automl_tab.search.runner import Stage
from automl_tab.search.runner import run_stages


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
    optimizer.enqueue(PyramidNNModel.default_params())  # tried after the queued trial
    run_search(objective, optimizer, store, metric=objective.metric, n_trials=3, budget=Budget(300))
    records = store.records()
    assert records[0].state == "FAIL" and "diverged" in records[0].fail_reason
    # The sampler may draw another learning rate above 0.01: that trial fails too.
    assert [r.state for r in records].count("COMPLETE") == 3
    for r in records:
        assert r.state == "COMPLETE" or "diverged" in r.fail_reason
        assert (r.state == "COMPLETE") == store.has_predictions(r.number)
    assert optuna.load_study(study_name="nn", storage=store.url).trials[0].state.name == "FAIL"


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


def test_no_evidence_until_every_family_still_searching_has_a_trial():
    from types import SimpleNamespace

    from automl_tab.metrics import get_metric
    from automl_tab.search.runner import Stage
    from automl_tab.search.runner import family_weights

    y = np.tile([0, 1], MIN_EVIDENCE_ROWS)
    good = np.eye(2)[y] * 0.9 + 0.05
    objective = SimpleNamespace(y=y)
    stages = [Stage(name, objective, None, None) for name in ("lgbm", "nn", "xt")]
    stages[0].best = [(0.1, 0, good)]
    stages[1].best = [(0.2, 0, np.full((len(y), 2), 0.5))]
    metric = get_metric("log_loss")
    # The forests have no trial yet: weighing them at 0 would halve their share unseen.
    assert family_weights(stages, metric) == {}
    stages[2].done = True  # a family whose search stopped no longer holds the others back
    assert family_weights(stages, metric) == {"lgbm": 1.0, "nn": 0.0}


def test_no_evidence_from_fewer_rows_than_all_families_need():
    """A family scored on one small fold would make the others' weights a draw of a few rows."""
    from types import SimpleNamespace

    from automl_tab.metrics import get_metric
    from automl_tab.search.runner import Stage
    from automl_tab.search.runner import family_weights

    y = np.tile([0, 1], MIN_EVIDENCE_ROWS)
    good = np.eye(2)[y] * 0.9 + 0.05
    stages = [Stage(name, SimpleNamespace(y=y), None, None) for name in ("lgbm", "nn")]
    one_fold = np.full((len(y), 2), np.nan)
    one_fold[: MIN_EVIDENCE_ROWS - 1] = 0.5  # the networks validated one row too few
    stages[0].best, stages[1].best = [(0.1, 0, good)], [(0.2, 0, one_fold)]
    assert family_weights(stages, get_metric("log_loss")) == {}
    one_fold[:MIN_EVIDENCE_ROWS] = 0.5
    assert family_weights(stages, get_metric("log_loss")) == {"lgbm": 1.0, "nn": 0.0}


class _Folds:
    """An objective that uses `k` of five folds, recording each call (time is a fake clock)."""

    def __init__(self, k, clock, seconds):
        self.covers_all = k == 5
        self.clock, self.seconds, self.calls = clock, seconds, []

    def __call__(self, params, *, number, deadline):
        from automl_tab.search.trial import TrialResult

        self.calls.append(self.clock())
        self.clock.now += self.seconds
        return TrialResult([0.5], [1], [0.0], np.zeros((4, 2)), np.zeros((2, 2)), [{}])


def test_what_completion_leaves_goes_back_to_the_families_whose_folds_cover_every_row(tmp_path):
    from automl_tab.search.runner import search_on

    class Clock:
        now = 0.0

        def __call__(self):
            return self.now

    clock = Clock()
    stages = []
    for name, k in (("lgbm", 5), ("xt", 1)):  # LightGBM on 5-fold CV, forests on one fold
        store = TrialStore(tmp_path, name)
        space = LightGBMModel.search_space()
        optimizer = get_optimizer("optuna", store.open_study(), space, seed=0, init_points=1)
        stages.append(Stage(name, _Folds(k, clock, 10.0), optimizer, store))
    budget = Budget(100, clock=clock)  # ends at 95 s, before the 5 s finish reserve
    budget.open_search({"lgbm": 1.0, "xt": 1.0}, completes=True)
    budget.expect_completion("xt", 40.0)  # completing the forests' best: reserved
    assert budget.search_deadline() == pytest.approx(55.0)
    clock.now = 55.0  # the search and a completion that took no time are over
    ran = search_on(stages, budget, metric=get_metric("accuracy"), n_trials=None)
    lgbm, xt = (s.objective for s in stages)
    # Trials start while half of one (5 s) is left before the end: 55, 65, 75 and 85 s.
    assert ran == 4 and lgbm.calls == pytest.approx([55.0, 65.0, 75.0, 85.0])
    assert xt.calls == []  # its trials would need completing, and no time is left for that
    assert budget.completion_reserve() == 0.0
