"""The time policy on a fake clock: reserves, shares, per-trial caps and fold deadlines."""

import pytest

from automl_tab.budget import COMPLETION_MAX
from automl_tab.budget import COMPLETION_SHARE
from automl_tab.budget import MIN_TRIAL_SECONDS
from automl_tab.budget import TRIAL_SHARE
from automl_tab.budget import Budget
from automl_tab.budget import finish_reserve
from automl_tab.budget import fold_deadlines


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def budget_at(time_limit, elapsed=0.0):
    clock = FakeClock()
    budget = Budget(time_limit, clock=clock)
    clock.now += elapsed
    return budget, clock


@pytest.mark.parametrize(("limit", "reserve"), [(60, 5.0), (300, 15.0), (3600, 45.0)])
def test_the_finish_reserve_is_five_percent_within_5_and_45_seconds(limit, reserve):
    assert finish_reserve(limit) == reserve


def test_the_search_leaves_the_completion_reserve_free_and_it_grows_with_the_best_trials():
    budget, clock = budget_at(300, elapsed=15.0)  # setup took 15 s
    budget.open_search({"lgbm": 1.0, "nn": 1.0}, completes=True)
    left = 300 - 15 - finish_reserve(300)
    assert budget.completion_reserve() == pytest.approx(COMPLETION_SHARE * left)
    assert budget.search_seconds == pytest.approx((1 - COMPLETION_SHARE) * left)
    budget.expect_completion("lgbm", 50.0)
    budget.expect_completion("nn", 30.0)  # more than the floor: the search gives way
    assert budget.completion_reserve() == pytest.approx(80.0)
    assert budget.search_left() == pytest.approx(left - 80.0)
    budget.open_search({"lgbm": 1.0}, completes=False)
    assert budget.completion_reserve() == 0.0


def test_a_familys_first_trial_may_use_its_whole_share_later_ones_a_quarter():
    budget, clock = budget_at(1000)
    budget.open_search({"lgbm": 1.0, "nn": 1.0}, completes=False)
    family = budget.family_seconds("nn")
    assert family == pytest.approx(budget.search_seconds / 2)
    now = clock()
    assert budget.trial_deadline("nn", first=True) - now == pytest.approx(family)
    assert budget.trial_deadline("nn", first=False) - now == pytest.approx(TRIAL_SHARE * family)


def test_no_trial_runs_past_the_search_deadline_and_none_gets_less_than_the_minimum():
    budget, clock = budget_at(60)
    budget.open_search({"lgbm": 1.0, "nn": 1.0}, completes=False)
    assert budget.trial_deadline("lgbm", first=False) - clock() == MIN_TRIAL_SECONDS
    clock.now = budget.search_deadline() - 3
    assert budget.trial_deadline("lgbm", first=True) == budget.search_deadline()


def test_the_next_trial_goes_to_the_family_furthest_behind_its_share():
    budget, _ = budget_at(600)
    budget.open_search({"lgbm": 3.0, "nn": 1.0}, completes=False)
    assert budget.next_family(["lgbm", "nn"]) == "lgbm"  # a tie: the first listed
    budget.charge("lgbm", 30.0)
    assert budget.next_family(["lgbm", "nn"]) == "nn"
    budget.charge("nn", 11.0)  # nn has used 11 of its 1 part, lgbm 30 of its 3
    assert budget.next_family(["lgbm", "nn"]) == "lgbm"


def test_a_family_whose_share_cannot_hold_half_its_typical_trial_waits_for_the_others():
    budget, _ = budget_at(60)  # adult at 60 s: the networks carry no weight after the probes
    budget.open_search({"lgbm": 0.4, "nn": 0.4, "xt": 0.2}, completes=False)
    budget.follow_evidence({"lgbm": 1.0})
    budget.charge("nn", 2.5)  # the default network (the probe)
    budget.charge("lgbm", 25.0)
    nn_left = budget.family_seconds("nn") - 2.5
    assert budget.next_family(["lgbm", "nn"]) == "nn"  # furthest behind its share
    typical = {"lgbm": 0.5, "nn": 2.0 * nn_left + 0.1}  # but half its trial is beyond its share
    assert budget.next_family(["lgbm", "nn"], typical) == "lgbm"
    budget.charge("lgbm", budget.family_seconds("lgbm"))  # no family has room: as before
    assert budget.next_family(["lgbm", "nn"], typical) == "nn"


def test_shares_follow_the_ensemble_and_a_family_keeps_an_eighth():
    budget, _ = budget_at(600)
    budget.open_search({"lgbm": 1.0, "nn": 1.0}, completes=False)
    budget.follow_evidence({"lgbm": 1.0})  # the networks add nothing to the ensemble
    assert budget.shares == pytest.approx({"lgbm": 0.875, "nn": 0.125})
    budget.follow_evidence({"lgbm": 0.4, "nn": 0.6})
    assert budget.shares == pytest.approx({"lgbm": 0.425, "nn": 0.575})
    budget.follow_evidence({})  # no evidence yet: shares stay
    assert budget.shares == pytest.approx({"lgbm": 0.425, "nn": 0.575})


def test_shares_follow_the_ensemble_around_each_familys_initial_share():
    budget, _ = budget_at(600)
    budget.open_search({"lgbm": 0.4, "nn": 0.4, "xt": 0.2}, completes=False)
    budget.follow_evidence({"xt": 1.0})  # the forests carry the ensemble alone
    # Each family keeps a quarter of its initial share: the networks a tenth of the search.
    assert budget.shares == pytest.approx({"lgbm": 0.1, "nn": 0.1, "xt": 0.8})
    budget.follow_evidence({"lgbm": 0.5, "nn": 0.5})
    assert budget.shares == pytest.approx({"lgbm": 0.475, "nn": 0.475, "xt": 0.05})


def test_fold_deadlines_give_each_round_its_part_plus_what_earlier_rounds_left():
    assert fold_deadlines(0.0, 30.0, 3, 1) == pytest.approx([10.0, 20.0, 30.0])
    assert fold_deadlines(0.0, 30.0, 4, 2) == pytest.approx([15.0, 15.0, 30.0, 30.0])
    assert fold_deadlines(0.0, None, 2, 2) == [None, None]


def test_a_completion_too_long_for_the_run_is_neither_reserved_nor_started():
    budget, clock = budget_at(60, elapsed=25.0)  # otto: 30 s left when the search opens
    budget.open_search({"lgbm": 1.0}, completes=True)
    budget.expect_completion("lgbm", 46.0)  # four more folds of 7.7 s, with the margin
    assert budget.completion_reserve() == pytest.approx(COMPLETION_SHARE * 30.0)
    assert not budget.completion_fits(46.0)
    assert budget.completion_fits(5.0)
    clock.now = budget.end - 30.0  # after the search, what fits before the end may run
    assert budget.completion_fits(30.0) and not budget.completion_fits(31.0)


def test_a_trial_starts_while_half_its_familys_median_time_is_left():
    from automl_tab.budget import LAST_TRIAL_SHARE

    budget, clock = budget_at(300, elapsed=15.0)
    budget.open_search({"nn": 1.0}, completes=False)
    assert budget.trial_fits(0.0) and budget.trial_fits(budget.search_left() / LAST_TRIAL_SHARE)
    clock.now = budget.search_deadline() - 30.0
    assert budget.trial_fits(60.0) and not budget.trial_fits(61.0)
    clock.now = budget.search_deadline()
    assert not budget.trial_fits(0.0)


def test_no_completion_is_reserved_beyond_the_floor_for_a_family_the_ensemble_does_not_use():
    budget, _ = budget_at(120)
    budget.open_search({"lgbm": 0.4, "nn": 0.4, "xt": 0.2}, completes=True)
    floor = budget.completion_reserve()
    budget.expect_completion("lgbm", 5.0)
    budget.expect_completion("xt", 40.0)  # one slow fold done, four to go
    assert budget.carries("xt")  # no evidence yet: every family counts
    assert budget.completion_reserve() == pytest.approx(max(floor, 45.0))
    budget.follow_evidence({"lgbm": 0.7, "nn": 0.3})  # the forests get no weight
    assert not budget.carries("xt") and budget.carries("nn")
    assert budget.completion_reserve() == pytest.approx(max(floor, 5.0))


def test_the_completion_reserve_never_takes_more_than_half_the_search_window():
    budget, _ = budget_at(120, elapsed=28.0)  # otto: the probes took 28 s
    budget.open_search({"lgbm": 0.4, "nn": 0.4, "xt": 0.2}, completes=True)
    for family, seconds in {"lgbm": 41.0, "xt": 30.0, "nn": 11.0}.items():
        budget.expect_completion(family, seconds)  # each within COMPLETION_MAX alone
    assert budget.completion_reserve() == pytest.approx(COMPLETION_MAX * budget.window)
    assert budget.search_left() == pytest.approx((1 - COMPLETION_MAX) * budget.window)
