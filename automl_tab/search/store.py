"""The trial store: an Optuna study in an RDB (SQLite in the workdir by default) holds every
trial's params, state, per-split scores and best epochs; out-of-sample and test predictions
sit beside it as .npy files named by trial number. Both optimizer backends write here, each
trial as soon as it finishes, so nothing finished is lost and a rerun can resume."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from ..workdir import save_array_atomic
from ..workdir import write_text_atomic
from .trial import TrialRecord
from .trial import TrialState

STUDY_FILE = "study.db"
# A running trial records a heartbeat this often; one silent for GRACE_SECONDS belongs to a
# dead worker (kill -9, lost machine) and is failed and queued again by the next worker.
HEARTBEAT_SECONDS = 5
GRACE_SECONDS = 20
OPEN_ATTEMPTS = 5
PLAN_KEY = "plan"
PLAN_SETTLE_SECONDS = 0.25


def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


class TrialStore:
    """One model family's trials. With `namespace` (the competition's name) the study is
    called "<namespace>/<model>", so one shared database can hold many competitions."""

    def __init__(
        self,
        workdir: Path,
        model: str,
        storage: str | None = None,
        namespace: str | None = None,
    ):
        self.workdir = Path(workdir)
        self.model = model
        self.study_name = f"{namespace}/{model}" if namespace else model
        self.url = storage or f"sqlite:///{(self.workdir / STUDY_FILE).resolve()}"
        self.artifacts = self.workdir / "trials" / model
        self._storage = None  # the storage of the study opened last, for heartbeats

    def storage(self):
        optuna = _optuna()
        import warnings

        from ..exceptions import ConfigError

        with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna
            warnings.simplefilter("ignore")
            retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
        for attempt in range(OPEN_ATTEMPTS):
            try:
                with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna
                    warnings.simplefilter("ignore")
                    return optuna.storages.RDBStorage(
                        self.url,
                        heartbeat_interval=HEARTBEAT_SECONDS,
                        grace_period=GRACE_SECONDS,
                        heartbeat_stale_trial_callback=retry,
                    )
            except ImportError as exc:
                raise ConfigError(
                    f"--storage {self.url!r} needs a database driver that is not installed "
                    f"({exc.__cause__ or exc}); for PostgreSQL: pip install 'psycopg[binary]'"
                ) from None
            except Exception as exc:  # SQLAlchemy's errors: bad URL, server down, no access
                # Workers starting together race to create the tables: try again shortly.
                if attempt + 1 < OPEN_ATTEMPTS and "connection" not in str(exc).lower():
                    time.sleep(0.5 * (attempt + 1))
                    continue
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise ConfigError(
                    f"--storage {self.url!r} cannot be opened ({type(exc).__name__}: {first}); "
                    "check the URL and that the database server is running"
                ) from None

    def open_study(self):
        optuna = _optuna()
        self._storage = self.storage()
        return optuna.create_study(
            storage=self._storage,
            study_name=self.study_name,
            direction="minimize",
            load_if_exists=True,
        )

    def shared_plan(self, study, plan: dict | None = None) -> dict | None:
        """The run plan (plan.py, as a dict) every worker of this study follows: the earliest
        stored with the study; when there is none and `plan` is given, `plan` is stored first.
        Trials scored on other folds could not be compared or ensembled, so the first
        worker's choice holds for all. Each worker stores under its own time-ordered key and
        then reads again after PLAN_SETTLE_SECONDS, so two workers starting together (Optuna
        has no "set if absent") still agree on the earlier one."""
        stored = _earliest_plan(study)
        if stored is not None or plan is None:
            return stored
        study.set_user_attr(f"{PLAN_KEY}:{time.time_ns():020d}:{os.getpid()}", plan)
        time.sleep(PLAN_SETTLE_SECONDS)
        return _earliest_plan(study)

    def heartbeat(self, number: int) -> Heartbeat:
        """Start trial `number`'s heartbeat in the store (until `stop()`): a trial silent for
        GRACE_SECONDS is taken for a dead worker's, failed and queued again."""
        if self._storage is None:
            self._storage = self.storage()
        return Heartbeat(self._storage, self.study_name, number)

    def delete(self) -> None:
        """Forget the study and its predictions (for --fresh)."""
        optuna = _optuna()
        with contextlib.suppress(KeyError):
            optuna.delete_study(study_name=self.study_name, storage=self.url)
        shutil.rmtree(self.artifacts, ignore_errors=True)

    def _path(self, number: int, kind: str) -> Path:
        return self.artifacts / f"{number:05d}" / f"{kind}.npy"

    def _save(self, number: int, arrays: dict) -> None:
        for kind, array in arrays.items():
            path = self._path(number, kind)
            path.parent.mkdir(parents=True, exist_ok=True)
            save_array_atomic(path, array)  # a reader never sees half an array

    def save_predictions(self, number: int, oof: np.ndarray, test: np.ndarray) -> None:
        """The search folds' out-of-sample predictions (NaN on rows never validated)."""
        self._save(number, {"oof": oof, "test": test})

    def save_full(self, number: int, oof: np.ndarray, test: np.ndarray) -> None:
        """Predictions over all folds: an out-of-fold value for every training row. The test
        file is written last, so its presence means the pair is complete."""
        self._save(number, {"oof_full": oof, "test_full": test})

    def load_predictions(self, number: int, *, full: bool = False):
        suffix = "_full" if full else ""
        return (
            np.load(self._path(number, "oof" + suffix)),
            np.load(self._path(number, "test" + suffix)),
        )

    def has_predictions(self, number: int, *, full: bool = False) -> bool:
        suffix = "_full" if full else ""
        return self._path(number, "test" + suffix).is_file()

    def save_history(self, number: int, histories: list[dict]) -> None:
        """Per-fold learning curves (validation loss per epoch or boosting round)."""
        path = self.artifacts / f"{number:05d}" / "history.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(histories))

    def load_history(self, number: int) -> list[dict]:
        path = self.artifacts / f"{number:05d}" / "history.json"
        return json.loads(path.read_text()) if path.is_file() else []

    def records(self, study=None) -> list[TrialRecord]:
        study = study or self.open_study()
        return [to_record(t, self.model) for t in study.get_trials(deepcopy=False)]

    def record(self, study, number: int) -> TrialRecord:
        """Trial `number` of `study` as it is stored now."""
        return next(r for r in self.records(study) if r.number == number)

    def param_importance(self, min_trials: int = 4) -> dict[str, float] | None:
        """Each searched parameter's share of the score's variance over the completed trials
        (Optuna's fANOVA), most important first; None with fewer than `min_trials` trials or
        too few distinct values to tell."""
        optuna = _optuna()
        study = self.open_study()
        if sum(r.state == TrialState.COMPLETE for r in self.records(study)) < min_trials:
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
                return optuna.importance.get_param_importances(study, evaluator=evaluator)
        except Exception:  # too few distinct values: no importance to show
            return None


class Heartbeat:
    """Records a trial's heartbeat every interval on a daemon thread. Optuna beats only inside
    `study.optimize`, not around ask/tell, and its thread is not a daemon: it would keep an
    interrupted process alive. The trial's id is looked up on the thread too, so a busy
    database delays a beat but never fails the `ask` that started it."""

    def __init__(self, storage, study_name: str, number: int):
        self._stop = threading.Event()
        interval = storage.get_heartbeat_interval()
        if interval is None:
            return
        thread = threading.Thread(
            target=self._beat, args=(storage, study_name, number, interval), daemon=True
        )
        thread.start()

    def _beat(self, storage, study_name: str, number: int, interval: float):
        trial_id = None
        while not self._stop.is_set():
            # A lost beat only means a later retry, never a crash.
            with contextlib.suppress(Exception):
                if trial_id is None:
                    study_id = storage.get_study_id_from_name(study_name)
                    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, number)
                storage.record_heartbeat(trial_id)
            self._stop.wait(interval)

    def stop(self):
        self._stop.set()


def _earliest_plan(study) -> dict | None:
    attrs = study.user_attrs
    keys = sorted(k for k in attrs if k.startswith(PLAN_KEY + ":"))
    return attrs[keys[0]] if keys else None


def to_record(trial, model: str) -> TrialRecord:
    attrs = trial.user_attrs
    duration = trial.duration.total_seconds() if trial.duration is not None else None
    return TrialRecord(
        number=trial.number,
        state=TrialState(trial.state.name),
        params=dict(trial.params),
        model=model,
        score=attrs.get("score"),
        score_std=attrs.get("score_std"),
        loss=trial.value,
        split_scores=tuple(attrs.get("split_scores", ())),
        best_epochs=tuple(attrs.get("best_epochs", ())),
        split_seconds=tuple(attrs.get("split_seconds", ())),
        duration=duration,
        fail_reason=attrs.get("fail_reason"),
    )
