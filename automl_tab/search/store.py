"""The trial store: an Optuna study in an RDB (SQLite in the workdir by default) holds every
trial's params, state, per-split scores and best epochs; out-of-sample and test predictions
sit beside it as .npy files named by trial number. Both optimizer backends write here, each
trial as soon as it finishes, so nothing finished is lost and a rerun can resume."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from .trial import TrialRecord

STUDY_FILE = "study.db"


def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


class TrialStore:
    def __init__(self, workdir: Path, study_name: str, storage: str | None = None):
        self.workdir = Path(workdir)
        self.study_name = study_name
        self.url = storage or f"sqlite:///{(self.workdir / STUDY_FILE).resolve()}"
        self.artifacts = self.workdir / "trials" / study_name

    def open_study(self, sampler=None):
        optuna = _optuna()
        return optuna.create_study(
            storage=self.url,
            study_name=self.study_name,
            sampler=sampler,
            direction="minimize",
            load_if_exists=True,
        )

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
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, array)
            os.replace(tmp, path)  # a reader never sees half an array

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
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(histories))
        os.replace(tmp, path)

    def load_history(self, number: int) -> list[dict]:
        path = self.artifacts / f"{number:05d}" / "history.json"
        return json.loads(path.read_text()) if path.is_file() else []

    def records(self, study=None) -> list[TrialRecord]:
        study = study or self.open_study()
        return [to_record(t, self.study_name) for t in study.get_trials(deepcopy=False)]


def to_record(trial, model: str) -> TrialRecord:
    attrs = trial.user_attrs
    duration = trial.duration.total_seconds() if trial.duration is not None else None
    return TrialRecord(
        number=trial.number,
        state=trial.state.name,
        params=dict(trial.params),
        model=model,
        score=attrs.get("score"),
        score_std=attrs.get("score_std"),
        loss=trial.value,
        split_scores=tuple(attrs.get("split_scores", ())),
        best_epochs=tuple(attrs.get("best_epochs", ())),
        duration=duration,
        fail_reason=attrs.get("fail_reason"),
    )
