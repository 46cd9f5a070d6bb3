"""Which validation the run plan picks for which data, budget and measured cost (no training)."""

from dataclasses import replace

import pytest

from automl_tab.plan import EPOCHS_WANTED
from automl_tab.plan import FamilyCost
from automl_tab.plan import RunPlan
from automl_tab.plan import decide_plan
from automl_tab.plan import wanted_folds

LGBM_FAST = FamilyCost(setup_seconds=0.0, fold_seconds=0.02, workers=1, target_trials=40)
NN_TRACED = FamilyCost(setup_seconds=2.5, fold_seconds=0.3, workers=2, target_trials=10)


@pytest.mark.parametrize(
    ("rows", "folds"), [(300, 10), (1_500, 10), (8_000, 10), (15_000, 4), (32_000, 2), (1e6, 1)]
)
def test_small_data_wants_every_fold_twice_and_large_data_one_hold_out(rows, folds):
    assert wanted_folds(int(rows), 5) == folds


def test_cheap_fits_on_small_data_get_repeated_cross_validation():
    plan = decide_plan(668, {"lgbm": LGBM_FAST}, search_seconds=20)
    assert plan.folds == {"lgbm": 10}
    assert plan.total_folds == 10 and not plan.completes
    assert "5-fold CV x2" in plan.line(0, 8)


def test_an_expensive_family_on_large_data_gets_one_hold_out_fold_then_completion():
    slow = FamilyCost(setup_seconds=0.0, fold_seconds=7.0, workers=1, target_trials=40)
    plan = decide_plan(46_000, {"lgbm": slow}, search_seconds=40)
    assert plan.folds == {"lgbm": 1}
    assert plan.coverage("lgbm") == 5 and plan.completes
    assert "1 hold-out fold of 5" in plan.line(6, 8)


def test_more_budget_buys_more_folds():
    medium = FamilyCost(setup_seconds=0.0, fold_seconds=0.2, workers=1, target_trials=40)
    folds = [decide_plan(1_100, {"lgbm": medium}, s).folds["lgbm"] for s in (20, 45, 120)]
    assert folds == [2, 5, 10]


def test_folds_that_cost_little_more_are_taken_even_on_a_short_budget():
    # A network's trial is mostly tracing: ten folds cost 4 s against 2.8 s for one.
    plan = decide_plan(668, {"nn": NN_TRACED}, search_seconds=5)
    assert plan.folds == {"nn": 10}
    # Two workers train two folds in the time of one: never one fold alone.
    slow = FamilyCost(setup_seconds=4.0, fold_seconds=20.0, workers=2, target_trials=10)
    assert decide_plan(46_000, {"nn": slow}, search_seconds=30).folds == {"nn": 2}


def test_families_choose_apart_on_one_shared_list_of_folds():
    slow_nn = FamilyCost(setup_seconds=1.0, fold_seconds=2.0, workers=2, target_trials=10)
    plan = decide_plan(1_500, {"lgbm": LGBM_FAST, "nn": slow_nn}, search_seconds=40)
    assert plan.folds["lgbm"] == 10 and plan.folds["nn"] < 10
    assert plan.total_folds == 10
    assert plan.coverage("nn") == 5  # completed to one whole repetition
    assert plan.shares == {"lgbm": 0.5, "nn": 0.5}


def test_base_shares_weigh_the_initial_shares():
    costs = {"lgbm": LGBM_FAST, "nn": NN_TRACED, "xt": LGBM_FAST}
    plan = decide_plan(1_500, costs, search_seconds=40, base_shares={"xt": 0.5})
    assert plan.shares == pytest.approx({"lgbm": 0.4, "nn": 0.4, "xt": 0.2})


def test_n_splits_fixes_every_familys_folds():
    plan = decide_plan(100_000, {"lgbm": LGBM_FAST, "nn": NN_TRACED}, 10, n_splits=3)
    assert plan.folds == {"lgbm": 3, "nn": 3} and plan.source == "--n-splits"
    assert plan.total_folds == 5


def test_the_plan_round_trips_through_a_dict():
    plan = decide_plan(668, {"lgbm": LGBM_FAST, "nn": NN_TRACED}, 20)
    again = RunPlan.from_dict(plan.to_dict(), source="resumed")
    assert again.folds == plan.folds and again.source == "resumed"
    assert again.costs["nn"]["setup_seconds"] == 2.5


def test_with_n_trials_the_folds_follow_the_data_alone():
    """--n-trials bounds the search by count, not time: the same seed gives the same folds
    however fast this machine measured the probe."""
    slow = FamilyCost(setup_seconds=0.0, fold_seconds=7.0, workers=1, target_trials=40)
    fast = FamilyCost(setup_seconds=0.0, fold_seconds=0.01, workers=1, target_trials=40)
    plans = [decide_plan(668, {"lgbm": c}, 10, n_trials=20) for c in (slow, fast)]
    assert plans[0].folds == plans[1].folds == {"lgbm": 10}


def test_a_probe_stopped_by_its_deadline_gets_one_fold():
    capped = FamilyCost(setup_seconds=0.0, fold_seconds=0.01, workers=1, converged=False)
    assert decide_plan(668, {"lgbm": capped}, 1000).folds == {"lgbm": 1}


def test_fold_counts_are_described_as_they_are():
    plan = decide_plan(668, {"lgbm": LGBM_FAST}, 20, n_splits=7)
    assert plan.describe("lgbm") == "7 folds of a repeated 5-fold"
    assert plan.total_folds == 10 and plan.coverage("lgbm") == 10


def test_networks_are_sized_to_train_enough_epochs_in_a_trial():
    """A pace of 1e9 weight-rows a second; a trial gets a quarter of the family's 32 s, 8 s
    for 4 folds on 2 workers (2 rounds, 2 s of set-up each), on 800 training rows a fold:
    (8 / 2 - 2) s x 1e9 / (EPOCHS_WANTED x 800) weights x members."""
    pace = FamilyCost(setup_seconds=2.0, fold_seconds=0.5, workers=2, work_rate=1e9)
    plan = decide_plan(1_000, {"nn": pace}, search_seconds=32, n_splits=4, trial_share=0.25)
    assert plan.limits == {"nn": {"max_work": int(2.0 * 1e9 / (EPOCHS_WANTED * 800))}}
    more = decide_plan(1_000, {"nn": pace}, search_seconds=320, n_splits=4, trial_share=0.25)
    assert more.limits["nn"]["max_work"] > 10 * plan.limits["nn"]["max_work"]
    assert RunPlan.from_dict(plan.to_dict()) == plan


def test_networks_that_need_more_epochs_than_wanted_are_sized_for_them():
    """The probe's default ran 150 epochs (small data): five times the epochs, a fifth of the
    size; fewer than EPOCHS_WANTED still size for EPOCHS_WANTED."""
    slow = FamilyCost(setup_seconds=2.0, fold_seconds=0.5, workers=2, work_rate=1e9, epochs=150)
    quick = replace(slow, epochs=EPOCHS_WANTED / 3)
    limit = {c.epochs: decide_plan(1_000, {"nn": c}, search_seconds=32, n_splits=4,
                                   trial_share=0.25).limits["nn"]["max_work"]
             for c in (slow, quick)}  # fmt: skip
    assert limit[150] == int(2.0 * 1e9 / (150 * 800))
    assert limit[EPOCHS_WANTED / 3] == int(2.0 * 1e9 / (EPOCHS_WANTED * 800))


def test_no_size_limit_for_families_without_a_pace_nor_with_n_trials():
    pace = FamilyCost(setup_seconds=2.0, fold_seconds=0.5, workers=2, work_rate=1e9)
    assert decide_plan(1_000, {"lgbm": LGBM_FAST}, search_seconds=60).limits == {}
    assert decide_plan(1_000, {"nn": pace}, search_seconds=60, n_trials=20).limits == {}


def test_a_family_new_to_a_resumed_run_gets_the_most_folds_and_the_least_share():
    from automl_tab.config import RunConfig
    from automl_tab.plan import resumed_plan

    stored = decide_plan(1_500, {"lgbm": LGBM_FAST, "nn": NN_TRACED}, 40, seed=0).to_dict()
    stored["shares"] = {"lgbm": 0.6, "nn": 0.4}
    plan = resumed_plan(stored, ["lgbm", "nn", "xt"], RunConfig())
    assert plan.source == "resumed"
    assert plan.folds["xt"] == max(stored["folds"].values())
    assert plan.shares == {"lgbm": 0.6, "nn": 0.4, "xt": 0.4}


def test_boosting_gets_the_slowdown_its_trial_cap_affords_and_networks_do_not():
    """otto at 60 s: the default's 207 rounds took 6.3 s on one fold, a trial may take its
    10 s minimum, so a fold affords 10 / 6.3 times the default's rounds."""
    from automl_tab.budget import MIN_TRIAL_SECONDS

    boosting = FamilyCost(setup_seconds=0.0, fold_seconds=6.3, epochs=207, rounds_follow_rate=True)
    net = FamilyCost(setup_seconds=0.3, fold_seconds=3.3, workers=2, epochs=58)
    plan = decide_plan(49_000, {"lgbm": boosting, "nn": net}, 25.5, n_splits=1, trial_share=0.25)
    assert plan.limits == {"lgbm": {"max_slowdown": pytest.approx(MIN_TRIAL_SECONDS / 6.3)}}
    two = decide_plan(49_000, {"lgbm": boosting}, 400, n_splits=2, trial_share=0.25)
    assert two.limits["lgbm"]["max_slowdown"] == pytest.approx(400 * 0.25 / 2 / 6.3)
    counted = decide_plan(49_000, {"lgbm": boosting}, 25.5, n_trials=5)
    assert counted.limits == {}  # --n-trials: the data alone decides, not the clock
