"""The trial store: records as the runner reads them, predictions written whole, one plan for
all workers, and heartbeats that let a dead worker's trial be retried."""

import sqlite3
import time

import numpy as np
import pytest

from automl_tab.search import store as store_module
from automl_tab.search.optimizers import get_optimizer
from automl_tab.search.store import TrialStore
from automl_tab.search.trial import TrialState
from automl_tab.space import Float
from automl_tab.space import SearchSpace

SPACE = SearchSpace((Float("x", 0.0, 1.0),))


def optimizer_on(store):
    study = store.open_study()
    return get_optimizer("optuna", study, SPACE, seed=0, init_points=2, heartbeat=store.heartbeat)


def test_a_told_trial_is_a_record_with_its_attributes(tmp_path):
    store = TrialStore(tmp_path, "nn", namespace="comp")
    optimizer = optimizer_on(store)
    number, params = optimizer.ask()
    optimizer.tell(number, 0.25, {"score": -0.25, "split_seconds": [1.5, 2.0]})
    failed, _ = optimizer.ask()
    optimizer.fail(failed, "diverged")
    done, lost = store.records()
    assert store.study_name == "comp/nn" and done.model == "nn"
    assert done.state == TrialState.COMPLETE and done.state == "COMPLETE"
    assert (done.loss, done.score, done.split_seconds, done.params) == (
        0.25,
        -0.25,
        (1.5, 2.0),
        params,
    )
    assert lost.state == TrialState.FAIL and lost.fail_reason == "diverged"
    assert store.record(optimizer.study, number) == done


def test_predictions_are_written_whole_and_the_full_pair_marks_completion(tmp_path):
    store = TrialStore(tmp_path, "lgbm")
    oof, test = np.arange(6.0).reshape(3, 2), np.ones((2, 2))
    store.save_predictions(3, oof, test)
    assert not store.has_predictions(3, full=True)
    store.save_full(3, oof * 2, test)
    assert store.has_predictions(3, full=True)
    np.testing.assert_array_equal(store.load_predictions(3, full=True)[0], oof * 2)
    np.testing.assert_array_equal(store.load_predictions(3)[0], oof)
    store.save_history(3, [{"val_loss": [0.5, 0.4]}])
    assert store.load_history(3) == [{"val_loss": [0.5, 0.4]}]
    assert not list(tmp_path.rglob("*.tmp"))


def test_every_worker_follows_the_earliest_stored_plan(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "PLAN_SETTLE_SECONDS", 0.0)
    first, second = TrialStore(tmp_path, "nn"), TrialStore(tmp_path, "nn")
    assert first.shared_plan(first.open_study()) is None  # none stored, none offered
    assert first.shared_plan(first.open_study(), {"folds": 2}) == {"folds": 2}
    assert second.shared_plan(second.open_study(), {"folds": 5}) == {"folds": 2}


def heartbeats(tmp_path) -> dict:
    with sqlite3.connect(tmp_path / store_module.STUDY_FILE) as db:
        return dict(db.execute("SELECT trial_id, heartbeat FROM trial_heartbeats"))


def test_a_running_trial_beats_until_it_is_told(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "HEARTBEAT_SECONDS", 1)
    store = TrialStore(tmp_path, "nn")
    optimizer = optimizer_on(store)
    number, _ = optimizer.ask()
    time.sleep(1.6)  # the first beat at once, the second after a second
    assert len(heartbeats(tmp_path)) == 1
    optimizer.tell(number, 0.5)
    beaten = heartbeats(tmp_path)
    time.sleep(1.5)
    assert heartbeats(tmp_path) == beaten  # no beat after the trial finished


@pytest.mark.parametrize("backend", ["optuna", "bayes_opt"])
def test_a_dead_workers_trial_is_failed_and_asked_again(tmp_path, monkeypatch, backend):
    """A worker killed mid-trial stops beating: after the grace period the next worker fails
    that trial and asks its configuration again (what resume after kill -9 relies on)."""
    monkeypatch.setattr(store_module, "HEARTBEAT_SECONDS", 1)
    monkeypatch.setattr(store_module, "GRACE_SECONDS", 1)
    store = TrialStore(tmp_path, "nn")
    dead = get_optimizer(
        backend, store.open_study(), SPACE, seed=0, init_points=2, heartbeat=store.heartbeat
    )
    _, params = dead.ask()
    dead._running.popitem()[1][1].stop()  # the worker dies: its heartbeat stops
    time.sleep(2.5)
    alive = get_optimizer(
        backend, store.open_study(), SPACE, seed=1, init_points=2, heartbeat=store.heartbeat
    )
    number, again = alive.ask()
    alive.tell(number, 0.1)
    states = [r.state for r in store.records()]
    assert again == params and states == [TrialState.FAIL, TrialState.COMPLETE]
