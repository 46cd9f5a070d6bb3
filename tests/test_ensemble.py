"""The ensemble: greedy weights on out-of-fold predictions, candidates and their policy."""

import numpy as np
import pytest

from automl_tab.ensemble import blend
from automl_tab.ensemble import candidates
from automl_tab.ensemble import greedy_weights
from automl_tab.ensemble import oof_score
from automl_tab.ensemble import top_trials
from automl_tab.metrics import get_metric
from automl_tab.search.trial import TrialRecord


def test_greedy_never_worse_than_best_member():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=200)
    truth = np.eye(3)[y]
    good = 0.6 * truth + 0.4 * rng.dirichlet(np.ones(3), size=200)
    noisy = 0.3 * truth + 0.7 * rng.dirichlet(np.ones(3), size=200)
    awful = rng.dirichlet(np.ones(3), size=200)
    metric = get_metric("log_loss")
    weights = greedy_weights(metric, y, [good, noisy, awful])
    assert weights.sum() == 1 and weights[0] > 0 and weights[2] == 0
    assert metric.score(y, blend([good, noisy, awful], weights)) <= metric.score(y, good)


def test_greedy_blends_complementary_regressors():
    rng = np.random.default_rng(1)
    y = rng.normal(size=300)
    a = y + rng.normal(scale=0.5, size=300)
    b = y + rng.normal(scale=0.5, size=300)
    rmse = get_metric("rmse")
    weights = greedy_weights(rmse, y, [a, b])
    assert 0.3 < weights[0] < 0.7
    assert rmse.score(y, blend([a, b], weights)) < min(rmse.score(y, a), rmse.score(y, b))


def test_rows_never_out_of_sample_are_ignored():
    y = np.array([0, 1, 0, 1])
    oof = np.array([[0.9, 0.1], [np.nan, np.nan], [0.8, 0.2], [0.1, 0.9]])
    score, rows = oof_score(get_metric("accuracy"), y, oof)
    assert (score, rows) == (1.0, 3)
    assert greedy_weights(get_metric("accuracy"), y, [oof]).tolist() == [1.0]


def test_top_trials_orders_by_loss_and_skips_failures():
    records = [
        TrialRecord(0, "COMPLETE", {}, loss=0.5),
        TrialRecord(1, "FAIL", {}),
        TrialRecord(2, "COMPLETE", {}, loss=0.2),
        TrialRecord(3, "COMPLETE", {}, loss=0.2),
    ]
    assert [r.number for r in top_trials(records, 2)] == [2, 3]


def test_a_better_trial_not_completed_on_all_folds_is_kept():
    """Completion ran out of time for the best trial: it stays a candidate on the search
    folds' rows instead of leaving the ensemble to weaker completed trials (otto at 300 s)."""
    from automl_tab.ensemble import ensemble_weights

    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    search_rows = np.arange(200) < 120
    best = np.where(search_rows, y + rng.normal(0, 0.1, 200), np.nan)  # search folds only
    weak = [y + rng.normal(0, 1.0, 200) for _ in range(2)]  # completed on every fold
    metric = get_metric("rmse")
    weights = ensemble_weights(metric, y, [best, *weak], [False, True, True])
    assert weights[0] > 0.5

    # When only completed trials are picked, their weights are chosen on every row.
    useless = np.where(search_rows, y + 5.0, np.nan)
    weights = ensemble_weights(metric, y, [useless, *weak], [False, True, True])
    on_all_rows = greedy_weights(metric, y, weak)
    on_search_rows = greedy_weights(metric, y[search_rows], [p[search_rows] for p in weak])
    assert on_all_rows.tolist() != on_search_rows.tolist()  # the two choices differ here
    assert weights[0] == 0 and weights[1:].tolist() == on_all_rows.tolist()


def test_a_partial_trial_stays_only_if_it_beats_its_familys_completed_ones():
    from automl_tab.ensemble import without_weaker_partials

    def rec(model, number, loss):
        return TrialRecord(number, "COMPLETE", {}, model=model, score=-loss, loss=loss)

    pool = [rec("lgbm", 0, 0.40), rec("nn", 1, 0.50), rec("lgbm", 2, 0.45), rec("nn", 3, 0.60)]
    full = [False, True, True, False]  # lgbm 0 beats lgbm 2; nn 3 is worse than nn 1
    kept, kept_full = without_weaker_partials(pool, full)
    assert [(r.model, r.number) for r in kept] == [("lgbm", 0), ("nn", 1), ("lgbm", 2)]
    assert kept_full == [False, True, True]
    no_completed = [False] * 4
    assert without_weaker_partials(pool, no_completed)[0] == pool


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


def test_log_loss_blends_are_hedged_by_what_the_rows_can_show():
    """A prediction certain of the wrong class costs 34.5 (log 1e-15) unhedged; with 98
    labelled rows no class gets less than 1 / 100 / 3."""
    from automl_tab.ensemble import hedged

    sure = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    out = hedged(get_metric("log_loss"), sure, n_rows=98)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert out.min() == pytest.approx(0.01 / 3) and out.max() == pytest.approx(0.99 + 0.01 / 3)
    wrong = np.array([2, 2])
    assert (
        get_metric("log_loss").score(wrong, out) < 6.0 < get_metric("log_loss").score(wrong, sure)
    )
    # Other metrics see the blend as it is; the hedge fades on large data.
    assert hedged(get_metric("accuracy"), sure, n_rows=98) is sure
    assert np.abs(hedged(get_metric("log_loss"), sure, n_rows=10**6) - sure).max() < 1e-5
