"""How a trial is scored: the same seeded shuffle splits for every trial, preprocessing
fitted on each split's training rows only, early stopping on the split's validation rows."""

from __future__ import annotations

import time
from dataclasses import dataclass
from dataclasses import field

import numpy as np
from sklearn.base import clone

from ..budget import fold_deadlines
from ..exceptions import DataError
from ..exceptions import TrialFailed
from ..metrics import Metric
from ..plan import FamilyCost
from .fold_fit import FoldFit
from .fold_fit import FoldSetup
from .fold_fit import TaskFacts
from .fold_fit import fit_and_predict
from .fold_fit import split_seed
from .fold_pool import fold_workers
from .fold_pool import run_folds
from .fold_pool import warm_up
from .trial import TrialResult

PROBE_SECONDS = 1.0


@dataclass(frozen=True)
class Completion:
    """A trial over all folds: out-of-fold predictions for every row, the mean test
    prediction of all fold models, the completed folds' scores, and whether the deadline cut
    any of them short."""

    oof: np.ndarray
    test: np.ndarray
    fold_scores: list
    time_capped: bool


# Completion folds stay cached while one fold's arrays take at most this much.
KEEP_FOLD_BYTES = 512 * 2**20


@dataclass
class TrainingData:
    """The rows a family's trials are scored on: prepared features, the encoded target, the
    test features, the unfitted preprocessor (cloned and fitted per split), the folds shared
    by all trials (see splits.make_splits), and the preprocessed folds, which do not depend
    on the model: families on the same folds share one `cache`."""

    X: object
    y: np.ndarray
    X_test: object
    preprocessor: object
    splits: list
    cache: dict = field(default_factory=dict)


class Objective:
    """Callable `objective(params, number=..., deadline=...) -> TrialResult`.

    Args:
        model_cls: a TabularModel class, built per fold with params, `model_options` and
            the data facts (see FoldSetup).
        data: the rows, folds and preprocessor (TrainingData).
        facts: the task, classes and log target (TaskFacts).
        metric: the competition metric.
        model_options: fixed model settings (max_epochs, patience).
        seed: the run's master seed.
        n_splits: how many of the folds the search scores on (default: all); `complete`
            fits the rest.
    """

    def __init__(
        self,
        model_cls,
        data: TrainingData,
        facts: TaskFacts,
        metric: Metric,
        *,
        model_options=None,
        seed: int = 0,
        n_splits: int | None = None,
    ):
        self.model_cls = model_cls
        self.X, self.y, self.X_test = data.X, np.asarray(data.y), data.X_test
        self.preprocessor = data.preprocessor
        self.splits = data.splits
        self.n_splits = len(self.splits) if n_splits is None else n_splits
        self.metric = metric
        self.facts = facts
        self.model_options = dict(model_options or {})
        self.seed = seed
        self._cache: dict[int, tuple] = data.cache
        # Folds already fitted by `probe`, by (fold, seed, params): the next trial reuses them.
        self._fitted: dict[tuple, tuple] = {}
        # One pool size for the whole run: a pool resized later restarts its workers.
        parallel = getattr(model_cls, "parallel_folds", False)
        self._pool = fold_workers(len(self.splits)) if parallel else 1

    def split_data(self, i: int):
        """(X_train, X_valid, X_test) arrays of split i, transformed by a preprocessor fitted
        on X_train only."""
        if i not in self._cache:
            train_idx, valid_idx = self.splits[i]
            prep = clone(self.preprocessor).fit(self.X.iloc[train_idx])
            arrays = tuple(
                np.asarray(prep.transform(frame), dtype=np.float32)
                for frame in (self.X.iloc[train_idx], self.X.iloc[valid_idx], self.X_test)
            )
            if arrays[0].shape[1] == 0:
                raise DataError(
                    f"no feature is left after preprocessing the training rows of fold {i} "
                    f"(columns {list(self.X.columns)[:5]}: all missing, constant or rare "
                    "there); add informative feature columns"
                )
            self._cache[i] = arrays
        return self._cache[i]

    def _fit_target(self, y):
        return np.log1p(y) if self.facts.log_target else y

    def _from_model(self, pred):
        return np.expm1(pred) if self.facts.log_target else pred

    def _fold_task(self, i: int, params: dict, number: int, deadline: float | None) -> tuple:
        """The arguments of `fit_and_predict` for fold i."""
        train_idx, valid_idx = self.splits[i]
        X_tr, X_va, X_te = self.split_data(i)
        seed = split_seed(self.seed, number, i)
        setup = FoldSetup(self.model_options, self.facts, seed, deadline)
        y_tr, y_va = self._fit_target(self.y[train_idx]), self._fit_target(self.y[valid_idx])
        return self.model_cls, params, setup, X_tr, y_tr, X_va, y_va, X_te

    def use_folds(self, n_splits: int, n_folds: int, splits=None) -> None:
        """Score trials on the first `n_splits` folds; complete the best on the first
        `n_folds` (the run plan's choice for this family, made after `probe`). `splits`
        replaces the list when the plan needs more folds; its first folds are the same."""
        splits = self.splits if splits is None else splits
        if not 1 <= n_splits <= n_folds <= len(splits):
            raise ValueError(f"n_splits={n_splits}, n_folds={n_folds} of {len(splits)}")
        self.n_splits, self.splits = n_splits, splits[:n_folds]
        self._fitted = {key: fit for key, fit in self._fitted.items() if key[0] < n_folds}

    @property
    def covers_all(self) -> bool:
        """Whether the search folds are all the folds: a trial then needs no completion."""
        return self.n_splits == len(self.splits)

    def pool_size(self) -> int:
        """Worker processes the folds train in, for a model that asks for them
        (`parallel_folds`); 1 means one after another in this process."""
        return self._pool

    def workers(self, n_folds: int) -> int:
        """Folds fitted at once."""
        return max(1, min(n_folds, self.pool_size()))

    def rounds(self, n_folds: int) -> int:
        """How many fold-times `n_folds` folds take, run `workers(n_folds)` at a time."""
        return -(-n_folds // self.workers(n_folds))

    def _fit_folds(self, folds, params, number, started, deadline, keep=False) -> list[FoldFit]:
        """`fit_and_predict` on each fold, `workers` at a time. Folds the probe fitted with the
        same seed and params are taken as they are; with `keep`, this call's fits that ran to
        their end (not cut by the clock) are kept for the next trial that asks for them."""
        folds = list(folds)
        deadlines = fold_deadlines(started, deadline, len(folds), self.workers(len(folds)))
        tasks = {i: self._fold_task(i, params, number, d) for i, d in zip(folds, deadlines)}
        keys = {i: (i, tasks[i][2].random_state, _frozen(params)) for i in folds}
        todo = [i for i in folds if keys[i] not in self._fitted]
        if self.pool_size() > 1 and todo:  # even one fold: the workers are warm, this is not
            results = run_folds(fit_and_predict, [tasks[i] for i in todo], self.pool_size())
        else:
            results = [fit_and_predict(*tasks[i]) for i in todo]
        fitted = dict(zip(todo, results))
        if keep:
            self._fitted.update(
                (keys[i], fit) for i, fit in fitted.items() if not fit.history.get("time_capped")
            )
        return [fitted[i] if i in fitted else self._fitted.pop(keys[i]) for i in folds]

    def prepare(self) -> None:
        """Start the fold workers and import the model's library in them (or here), so that
        neither is charged to a fit."""
        setup = getattr(self.model_cls, "import_backend", None)
        if self.pool_size() > 1:
            warm_up(self.pool_size(), setup)
        elif setup is not None:
            setup()

    def probe(self, params: dict, *, number: int = 0, deadline: float | None = None) -> FamilyCost:
        """Fit `params` on the first round of folds (as many as train side by side), and on
        more rounds while the probe has taken less than PROBE_SECONDS (a single tiny fit is
        too noisy a measure), then say what a trial costs. Fits that ran to their end are
        kept for the trial `number` that asks for the same params on these folds; one cut by
        the probe's deadline is not (the trial fits it again, with its own time)."""
        workers, started = self.pool_size(), time.monotonic()
        fitted: list[FoldFit] = []
        while len(fitted) < len(self.splits):
            folds = range(len(fitted), min(len(fitted) + workers, len(self.splits)))
            fitted += self._fit_folds(folds, params, number, started, deadline, keep=True)
            if time.monotonic() - started > PROBE_SECONDS:
                break
        histories = [fit.history for fit in fitted]
        setups = [h.get("setup_seconds", 0.0) for h in histories]
        training_seconds = [fit.seconds - setup for fit, setup in zip(fitted, setups)]
        return FamilyCost(
            setup_seconds=max(setups[:workers]),  # later rounds reuse the traced graph
            fold_seconds=max(1e-3, float(np.median(training_seconds))),
            workers=workers,
            target_trials=float(getattr(self.model_cls, "target_trials", 10)),
            converged=not any(h.get("time_capped") for h in histories),
            work_rate=_median_work_rate(self.model_cls, histories),
            epochs=_median_epochs(histories),
            rounds_follow_rate=bool(getattr(self.model_cls, "rounds_follow_rate", False)),
        )

    def _run_folds(self, folds, params, number, deadline) -> FoldRuns:
        task, width = self.facts.task, self.facts.n_classes
        shape = (len(self.y), width) if task != "regression" else (len(self.y),)
        runs = FoldRuns(np.zeros(shape), np.zeros(len(self.y)))
        fitted = self._fit_folds(folds, params, number, time.monotonic(), deadline)
        self._check_trained(fitted)
        for i, fit in zip(folds, fitted):
            valid_pred, test_pred = (
                self._from_model(fit.valid_pred),
                self._from_model(fit.test_pred),
            )
            if not (np.all(np.isfinite(valid_pred)) and np.all(np.isfinite(test_pred))):
                raise TrialFailed(f"the {self.model_cls.name} model predicted NaN or inf")
            valid_idx = self.splits[i][1]
            runs.scores.append(self.metric.score(self.y[valid_idx], valid_pred))
            runs.epochs.append(fit.best_epoch)
            runs.histories.append(fit.history)
            runs.seconds.append(fit.seconds)
            runs.oof_sum[valid_idx] += valid_pred
            runs.oof_count[valid_idx] += 1
            runs.test_sum = runs.test_sum + test_pred
        return runs

    def _check_trained(self, fitted) -> None:
        """A fold cut by the time cap after a handful of epochs is a half-trained model, not
        a candidate for the ensemble: the trial fails with that reason."""
        least = getattr(self.model_cls, "min_epochs", 1)
        for history in (fit.history for fit in fitted):
            trained = len(history.get("val_loss", ()))
            if history.get("time_capped") and trained < least:
                raise TrialFailed(
                    f"cut by the time cap after {trained} epochs (fewer than {least}): "
                    "half-trained, not a candidate"
                )

    def __call__(self, params: dict, *, number: int = 0, deadline: float | None = None):
        """Score params on the search folds (the first `n_splits`)."""
        runs = self._run_folds(range(self.n_splits), params, number, deadline)
        self._fitted.clear()  # the probe's fits serve the trial right after it, or none
        oof, test = _mean_oof(runs.oof_sum, runs.oof_count), runs.test_sum / self.n_splits
        return TrialResult(
            runs.scores,
            runs.epochs,
            runs.seconds,
            oof,
            test,
            runs.histories,
            covers_all=self.covers_all,
        )

    def _completion_rounds(self, deadline: float | None):
        """(folds, deadline) of the completion's fits: all at once while a fold's arrays are
        small; on large data one round of workers at a time, each with its part of the time
        left, its folds' arrays dropped after it (on 1,000,000 x 50 four more cached folds of
        2.4 GB each got the run killed for memory)."""
        extra = list(range(self.n_splits, len(self.splits)))
        if _fold_bytes(self._cache) <= KEEP_FOLD_BYTES:
            yield extra, deadline
            return
        step = self.workers(len(extra))
        starts = range(0, len(extra), step)
        for left, start in zip(range(len(starts), 0, -1), starts):
            now = time.monotonic()
            yield (
                extra[start : start + step],
                (None if deadline is None else now + (deadline - now) / left),
            )
            for i in extra[start : start + step]:
                self._cache.pop(i, None)  # built again if a later completion needs it

    def complete(self, params: dict, oof, test, *, number: int, deadline: float | None = None):
        """Fit the folds the search left out, so every row gets an out-of-fold prediction.

        `oof` and `test` are the trial's stored search predictions; returns the Completion.
        """
        parts = [
            self._run_folds(folds, params, number, end)
            for folds, end in self._completion_rounds(deadline)
        ]
        oof_sum = sum(p.oof_sum for p in parts)
        count = sum(p.oof_count for p in parts)
        test_sum = sum(p.test_sum for p in parts)
        scores = [score for p in parts for score in p.scores]
        capped = any(h.get("time_capped") for p in parts for h in p.histories)
        searched = np.zeros(len(self.y))
        for i in range(self.n_splits):
            searched[self.splits[i][1]] += 1
        weights = searched.reshape((-1,) + (1,) * (oof_sum.ndim - 1))
        oof_sum = oof_sum + np.nan_to_num(np.asarray(oof, float)) * weights
        test_sum = test_sum + np.asarray(test, float) * self.n_splits
        return Completion(
            _mean_oof(oof_sum, count + searched), test_sum / len(self.splits), scores, capped
        )


@dataclass
class FoldRuns:
    """What a set of folds yielded: sums of their out-of-fold and test predictions (a row's
    count says how many folds validated it), and per fold its score, best epoch, seconds and
    learning curve."""

    oof_sum: np.ndarray
    oof_count: np.ndarray
    test_sum: np.ndarray | float = 0.0
    scores: list[float] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    histories: list[dict] = field(default_factory=list)


def _fold_bytes(cache: dict) -> int:
    """The size of one cached fold's arrays (0 when none is cached yet)."""
    return sum(a.nbytes for a in next(iter(cache.values()), ()))


def _median_work_rate(model_cls, histories) -> float | None:
    """The family's training pace from its fits' histories, for models that report one."""
    rate = getattr(model_cls, "work_rate", None)
    rates = [r for r in map(rate, histories) if r] if rate is not None else []
    return float(np.median(rates)) if rates else None


def _median_epochs(histories) -> float | None:
    """The epochs the fits ran (stopped early or by their deadline), for models with epochs."""
    runs = [len(h["val_loss"]) for h in histories if h.get("val_loss")]
    return float(np.median(runs)) if runs else None


def _mean_oof(oof_sum, count):
    count = count.reshape((-1,) + (1,) * (oof_sum.ndim - 1))
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, oof_sum / np.maximum(count, 1), np.nan)


def _frozen(params: dict) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in params.items()))
