"""Facts inferred from the data: task, target, id, classes, submission format, column roles.

Kept apart from RunConfig (user choices) and trial params (optimizer choices). Column roles are
decided from cells without labels, so they cannot leak the target: a number column is one whose
train.csv cells are numbers (test.csv cells that are not are read as missing, with a notice),
the other roles look at train and test cells together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .competition import Competition
from .exceptions import DataError
from .metrics import METRICS
from .metrics import default_metric

BINARY, MULTICLASS, REGRESSION = "binary", "multiclass", "regression"
TASKS = (BINARY, MULTICLASS, REGRESSION)
MAX_LEVELS = 100  # a string column with more distinct values is text, an id, or rare-grouped
CODE_LEVELS = 10  # integer columns with at most this many values are also one-hot encoded
ROLE_SAMPLE = 20_000  # cells a column's role is judged on (numbers, dates, words)
_DATE = re.compile(r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})")


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


def parse_numbers(values: pd.Series) -> pd.Series:
    """Text to float; "1,234.5" thousands separators allowed; anything else becomes NaN.

    Plain numbers go through pandas' C parser at once; only the cells it cannot read are
    tried again as grouped numbers (the string methods cost 30x more: otto's 93 numeric
    columns took 6 s to parse that way, 0.3 s this way)."""
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    retry = numbers.isna() & values.notna()
    if retry.any():
        text = values[retry].astype("string").str.strip()
        grouped = text.str.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", na=False)
        text = text.where(~grouped, text.str.replace(",", "", regex=False))
        numbers[retry] = pd.to_numeric(text, errors="coerce").astype(float)
    # inf, -inf and overflowing cells (1e999) are unusable as numbers: they read as missing.
    return numbers.mask(np.isinf(numbers))


def infinite_cells(values: pd.Series) -> pd.Series:
    """Cells that read as numbers too large for a float: "inf", "-inf", "1e999"."""
    return pd.Series(np.isinf(pd.to_numeric(values, errors="coerce")), index=values.index)


def labelled_rows(target: pd.Series, task: str) -> pd.Series:
    """The training rows that can be learnt from: a target that is not blank and, for a
    regression, a finite number (the rest are dropped with a notice in infer_schema)."""
    labelled = target.notna() & (target.astype("string").str.strip() != "")
    if task == REGRESSION:
        labelled &= ~infinite_cells(target)
    return labelled


def parse_datetimes(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, errors="coerce", format="mixed")


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


def _sample(cells: pd.Series) -> pd.Series:
    """At most ROLE_SAMPLE cells, seeded: the share-of-cells rules need no more, and the
    string parsing behind them took 140 s on a 1,000,000-row table."""
    return cells if len(cells) <= ROLE_SAMPLE else cells.sample(ROLE_SAMPLE, random_state=0)


def _column_role(name: str, train: pd.Series, test: pd.Series) -> tuple[str, str]:
    """Return (role, why) for one feature column: role "drop" carries the reason, a kept
    column a notice about cells that are read as missing ("" when there is none)."""
    if train.isna().all():
        return "drop", "empty in train.csv"
    if train.nunique(dropna=False) <= 1:
        return "drop", "constant in train.csv"
    if parse_numbers(_sample(train.dropna())).notna().mean() >= 0.98:  # as train.csv says
        train_numbers = parse_numbers(train.dropna())
        numbers = pd.concat([train_numbers, parse_numbers(test.dropna())])
        is_int = np.all(np.mod(numbers.dropna(), 1) == 0)
        unique = train_numbers.nunique() == len(train)
        if is_int and unique and re.search(r"(^|_|\b)id$", name.lower()):
            return "drop", "id-like (distinct integers named like an id)"
        role = "code" if is_int and numbers.nunique() <= CODE_LEVELS else "numeric"
        return role, _unreadable_numbers(train, test, numbers)
    cells = pd.concat([train, test]).dropna()
    some = _sample(cells)
    looks_like_dates = some.astype("string").str.match(_DATE).mean() >= 0.95
    if looks_like_dates and parse_datetimes(some).notna().mean() >= 0.95:
        return "datetime", ""
    levels = cells.nunique()
    if levels <= MAX_LEVELS:
        return "categorical", ""
    if some.astype("string").str.split().str.len().mean() >= 2:
        return "text", ""
    if train.nunique() >= 0.9 * len(train):
        return "drop", "id-like (almost every value distinct)"
    return "categorical", ""


def _unreadable_numbers(train: pd.Series, test: pd.Series, numbers: pd.Series) -> str:
    """A notice for the cells of a numeric column that are read as missing, or ""."""
    unread = numbers.isna().to_numpy()
    if not unread.any():
        return ""
    cells = pd.concat([train.dropna(), test.dropna()])[unread]
    in_test = int(unread[train.notna().sum() :].sum())
    return (
        f"{int(unread.sum())} cells ({in_test} in test.csv) are not finite numbers "
        f"(e.g. {cells.iloc[0]!r}); they are treated as missing"
    )


def _feature_roles(
    train: pd.DataFrame, test: pd.DataFrame, target: str, id_column: str, notices: list[str]
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Columns by role (numeric, code, categorical, datetime, text) and the dropped ones with
    why, with a notice for each dropped column and each kept one with unreadable cells;
    refuses a table with no feature left."""
    roles: dict[str, list[str]] = {
        k: [] for k in ("numeric", "code", "categorical", "datetime", "text")
    }
    dropped: dict[str, str] = {}
    for col in train.columns:
        if col not in test.columns and col != target:
            dropped[col] = "only in train.csv"
    for col in test.columns:
        if col not in train.columns:
            if col != id_column:
                dropped[col] = "only in test.csv"
            continue
        role, why = _column_role(col, train[col], test[col])
        if col == id_column and role != "datetime":
            dropped[col] = "id column"
            continue
        if col == id_column:
            notices.append(f"id column {col!r} holds timestamps: used as datetime features too")
        if role == "drop":
            dropped[col] = why
            continue
        roles[role].append(col)
        if why:
            notices.append(f"column {col!r}: {why}")
    if not any(roles.values()):
        reasons = "; ".join(f"{c!r} {why}" for c, why in list(dropped.items())[:4])
        raise DataError(
            f"train.csv has no usable feature column ({reasons}): nothing to learn from; "
            "add feature columns that vary, shared by train.csv and test.csv"
        )
    for col, why in dropped.items():
        if col != id_column:
            notices.append(f"dropped column {col!r}: {why}")
    return roles, dropped


def infer_schema(comp: Competition) -> DatasetSchema:
    """Infer everything the pipeline needs from a loaded competition (see DatasetSchema)."""
    meta, train, test, sample = comp.meta, comp.train, comp.test, comp.sample_submission
    notices: list[str] = []
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
    target = meta.get("target") or _find_target(comp, id_column, preds)
    if target not in train.columns:
        raise DataError(
            f"target {target!r} is not a column of train.csv; fix --target or competition.json"
        )
    _check_ids(sample, test, id_column)
    labelled = labelled_rows(train[target], "")
    infinite = labelled & infinite_cells(train[target])
    n_unlabelled = int((~labelled).sum())
    if n_unlabelled:
        notices.append(f"warning: dropped {n_unlabelled} train rows without a {target!r} value")
    y = train.loc[labelled, target]
    if y.empty:
        raise DataError(f"train.csv has no rows with a {target!r} value; nothing to learn from")
    task = meta.get("task") or _infer_task(train.loc[labelled & ~infinite, target], preds)
    if task not in TASKS:
        raise DataError(f"task {task!r} is unknown; use one of {TASKS}")
    if task == REGRESSION and infinite.any():
        labelled &= ~infinite
        n_unlabelled += int(infinite.sum())
        y = train.loc[labelled, target]
        notices.append(
            f"warning: dropped {int(infinite.sum())} train rows whose {target!r} is not a "
            f"finite number (e.g. {train.loc[infinite, target].iloc[0]!r})"
        )
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
    metric = meta.get("metric") or default_metric(task, len(preds) > 1, sample, preds)
    if metric not in METRICS:
        raise DataError(f"metric {metric!r} is unknown; use one of {sorted(METRICS)}")
    if METRICS[metric].task_kind != ("regression" if task == REGRESSION else "classification"):
        raise DataError(f"metric {metric!r} does not fit a {task} task; choose another metric")
    classes = None
    if task != REGRESSION:
        if len(preds) > 1:
            unknown = set(y.unique()) - set(preds)
            if unknown:
                raise DataError(
                    f"target values {sorted(unknown)[:5]} have no column in "
                    f"sample_submission.csv (columns {preds})"
                )
            classes = tuple(preds)
        else:
            classes = tuple(_class_sort_key(list(y.unique())))
    log_target = metric == "rmsle"
    if log_target and (parse_numbers(y) < 0).any():
        raise DataError(
            f"metric rmsle needs a non-negative target, but {target!r} has negative "
            "values; choose --metric rmse"
        )
    output = _output_format(task, metric, preds, sample, classes or ())

    roles, dropped = _feature_roles(train.loc[labelled], test, target, id_column, notices)
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
