"""Facts inferred from the data: task, target, id, classes, submission format, column roles.

Kept apart from RunConfig (user choices) and trial params (optimizer choices). Column roles are
decided from cells without labels, so they cannot leak the target: a number column is one whose
train.csv cells are numbers (test.csv cells that are not are read as missing, with a notice),
the other roles look at train and test cells together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .competition import Competition
from .exceptions import DataError
from .metrics import METRICS
from .metrics import default_metric
from .roles import feature_roles
from .roles import infinite_cells
from .roles import parse_numbers

BINARY, MULTICLASS, REGRESSION = "binary", "multiclass", "regression"
TASKS = (BINARY, MULTICLASS, REGRESSION)


@dataclass(frozen=True)
class DatasetSchema:
    """What the competition is, as inferred (or stated in competition.json / CLI flags).

    `output` says what the submission holds: "label" (class labels spelled as in train),
    "proba" (probability of `classes[1]`), "class_proba" (one probability column per class, in
    sample order) or "value" (regression). Columns in both `numeric` and `codes` are small
    integer codes used both as numbers and as one-hot categories.
    """

    task: str
    target: str
    id_column: str
    metric: str
    output: str
    prediction_columns: tuple[str, ...]
    classes: tuple[str, ...] | None
    numeric: tuple[str, ...]
    codes: tuple[str, ...]
    categorical: tuple[str, ...]
    datetime: tuple[str, ...]
    text: tuple[str, ...]
    dropped: tuple[tuple[str, str], ...]
    n_train: int
    n_test: int
    n_unlabelled: int
    log_target: bool
    notices: tuple[str, ...]

    @property
    def is_classification(self) -> bool:
        return self.task != REGRESSION

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["dropped"] = dict(self.dropped)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> DatasetSchema:
        data = dict(data)
        data["dropped"] = tuple(data["dropped"].items())
        for key in (
            "prediction_columns",
            "numeric",
            "codes",
            "categorical",
            "datetime",
            "text",
            "notices",
        ):
            data[key] = tuple(data[key])
        data["classes"] = tuple(data["classes"]) if data["classes"] is not None else None
        return cls(**data)


def labelled_rows(target: pd.Series, task: str) -> pd.Series:
    """The training rows that can be learnt from: a target that is not blank and, for a
    regression, a finite number (the rest are dropped with a notice in infer_schema)."""
    labelled = target.notna() & (target.astype("string").str.strip() != "")
    if task == REGRESSION:
        labelled &= ~infinite_cells(target)
    return labelled


def _class_sort_key(labels):
    numbers = pd.to_numeric(pd.Series(list(labels)), errors="coerce")
    if numbers.notna().all():
        return [labels[i] for i in np.argsort(numbers.to_numpy(), kind="stable")]
    return sorted(labels)


def _find_target(comp: Competition, id_column: str, preds: list[str]) -> str:
    train_only = [c for c in comp.train.columns if c not in comp.test.columns and c != id_column]
    if len(preds) == 1 and preds[0] in train_only:
        return preds[0]
    if len(preds) > 1:  # one probability column per class: the target holds those labels
        for col in train_only:
            if set(comp.train[col].dropna().unique()) <= set(preds):
                return col
    elif len(train_only) == 1:
        return train_only[0]
    raise DataError(
        f"no column the target could be: sample_submission.csv predicts {preds} but train.csv "
        f"columns absent from test.csv are {train_only}; name it with --target or in "
        "competition.json"
    )


def _infer_task(y: pd.Series, preds: list[str]) -> str:
    if len(preds) > 1:
        return MULTICLASS
    n_levels = y.nunique()
    numbers = parse_numbers(y)
    if numbers.notna().all():
        if n_levels == 2:
            return BINARY
        integer = np.all(np.mod(numbers, 1) == 0)
        return MULTICLASS if integer and n_levels <= 20 else REGRESSION
    return BINARY if n_levels == 2 else MULTICLASS


def _output_format(task, metric, preds, sample, classes) -> str:
    if task == REGRESSION:
        return "value"
    if len(preds) > 1:
        return "class_proba"
    if task == BINARY and METRICS[metric].needs_proba:
        return "proba"
    values = set(sample[preds[0]].dropna().unique())
    if task == BINARY and not values <= set(classes):
        return "proba"
    return "label"


def infer_schema(comp: Competition) -> DatasetSchema:
    """Infer everything the pipeline needs from a loaded competition (see DatasetSchema)."""
    meta, train, test, sample = comp.meta, comp.train, comp.test, comp.sample_submission
    notices: list[str] = []
    id_column, preds = _id_and_prediction_columns(meta, sample, test)
    target = meta.get("target") or _find_target(comp, id_column, preds)
    if target not in train.columns:
        raise DataError(
            f"target {target!r} is not a column of train.csv; fix --target or competition.json"
        )
    _check_ids(sample, test, id_column)
    task, labelled, n_unlabelled = _task_and_labelled_rows(meta, train, target, preds, notices)
    y = train.loc[labelled, target]
    _check_target(y, task, target)
    metric = _metric(meta, task, sample, preds)
    classes = _classes(task, y, preds)
    log_target = metric == "rmsle"
    if log_target and (parse_numbers(y) < 0).any():
        raise DataError(
            f"metric rmsle needs a non-negative target, but {target!r} has negative "
            "values; choose --metric rmse"
        )
    output = _output_format(task, metric, preds, sample, classes or ())
    roles, dropped = feature_roles(train.loc[labelled], test, target, id_column, notices)
    return DatasetSchema(
        task=task,
        target=target,
        id_column=id_column,
        metric=metric,
        output=output,
        prediction_columns=tuple(preds),
        classes=classes,
        numeric=tuple(roles["numeric"] + roles["code"]),
        codes=tuple(roles["code"]),
        categorical=tuple(roles["categorical"]),
        datetime=tuple(roles["datetime"]),
        text=tuple(roles["text"]),
        dropped=tuple(dropped.items()),
        n_train=int(labelled.sum()),
        n_test=len(test),
        n_unlabelled=n_unlabelled,
        log_target=log_target,
        notices=tuple(notices),
    )


def _id_and_prediction_columns(meta: dict, sample, test) -> tuple[str, list[str]]:
    """The id column (stated, else the sample's first) and the columns to predict."""
    id_column = meta.get("id_column") or sample.columns[0]
    if id_column not in sample.columns:
        raise DataError(
            f"id column {id_column!r} is not in sample_submission.csv "
            f"(columns {list(sample.columns)}); fix --id-column or competition.json"
        )
    if id_column not in test.columns:
        raise DataError(
            f"sample_submission.csv's id column {id_column!r} is not in test.csv "
            f"(columns {list(test.columns)[:8]}...); pass the id column with --id-column"
        )
    preds = [c for c in sample.columns if c != id_column]
    if not preds:
        raise DataError(
            "sample_submission.csv has only the id column; it needs the prediction column(s) too"
        )
    return id_column, preds


def _task_and_labelled_rows(meta: dict, train, target: str, preds, notices: list[str]):
    """(task, mask of the train rows to learn from, rows dropped): rows without a target, and
    for regression rows whose target is not a finite number, are dropped with a notice."""
    labelled = labelled_rows(train[target], "")
    infinite = labelled & infinite_cells(train[target])
    n_unlabelled = int((~labelled).sum())
    if n_unlabelled:
        notices.append(f"warning: dropped {n_unlabelled} train rows without a {target!r} value")
    if not labelled.any():
        raise DataError(f"train.csv has no rows with a {target!r} value; nothing to learn from")
    task = meta.get("task") or _infer_task(train.loc[labelled & ~infinite, target], preds)
    if task not in TASKS:
        raise DataError(f"task {task!r} is unknown; use one of {TASKS}")
    if task == REGRESSION and infinite.any():
        labelled &= ~infinite
        n_unlabelled += int(infinite.sum())
        notices.append(
            f"warning: dropped {int(infinite.sum())} train rows whose {target!r} is not a "
            f"finite number (e.g. {train.loc[infinite, target].iloc[0]!r})"
        )
        if not labelled.any():
            raise DataError(
                f"train.csv has no row whose {target!r} is a finite number; nothing to learn from"
            )
    return task, labelled, n_unlabelled


def _check_target(y, task: str, target: str) -> None:
    if task != REGRESSION and y.nunique() < 2:
        raise DataError(
            f"target {target!r} has a single class {y.iloc[0]!r}; a classifier "
            "needs at least two classes in train.csv"
        )
    if task == REGRESSION and parse_numbers(y).isna().any():
        raise DataError(
            f"task is regression but target {target!r} has non-numeric values; "
            "pass --task binary or --task multiclass"
        )


def _metric(meta: dict, task: str, sample, preds) -> str:
    """The stated metric, else the task's usual one; it must suit the task."""
    metric = meta.get("metric") or default_metric(task, len(preds) > 1, sample, preds)
    if metric not in METRICS:
        raise DataError(f"metric {metric!r} is unknown; use one of {sorted(METRICS)}")
    if METRICS[metric].task_kind != ("regression" if task == REGRESSION else "classification"):
        raise DataError(f"metric {metric!r} does not fit a {task} task; choose another metric")
    return metric


def _classes(task: str, y, preds) -> tuple | None:
    """The classes in output order: the sample's columns when it has one per class."""
    if task == REGRESSION:
        return None
    if len(preds) > 1:
        unknown = set(y.unique()) - set(preds)
        if unknown:
            raise DataError(
                f"target values {sorted(unknown)[:5]} have no column in "
                f"sample_submission.csv (columns {preds})"
            )
        return tuple(preds)
    return tuple(_class_sort_key(list(y.unique())))


def _check_ids(sample: pd.DataFrame, test: pd.DataFrame, id_column: str) -> None:
    test_ids, sample_ids = test[id_column], sample[id_column]
    if test_ids.isna().any():
        raise DataError(
            f"test.csv has {int(test_ids.isna().sum())} rows without an "
            f"{id_column!r}; every test row needs an id"
        )
    if test_ids.duplicated().any():
        dup = test_ids[test_ids.duplicated()].iloc[0]
        raise DataError(
            f"test.csv has duplicated ids in {id_column!r} (e.g. {dup!r}); ids must be unique"
        )
    if sample_ids.duplicated().any() or set(sample_ids) != set(test_ids):
        extra = sorted(set(sample_ids) - set(test_ids))[:3]
        lost = sorted(set(test_ids) - set(sample_ids))[:3]
        raise DataError(
            f"ids of sample_submission.csv do not match test.csv ({len(sample_ids)} vs "
            f"{len(test_ids)} rows; only in sample: {extra}, only in test: {lost}); "
            "re-download both files"
        )
