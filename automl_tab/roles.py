"""Which role each feature column plays (number, small-integer code, category, date, text,
or dropped, with why), judged from train and test cells without labels, and the cell parsers
behind it that preprocessing uses too."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .exceptions import DataError

MAX_LEVELS = 100  # a string column with more distinct values is text, an id, or rare-grouped
CODE_LEVELS = 10  # integer columns with at most this many values are also one-hot encoded
ROLE_SAMPLE = 20_000  # cells a column's role is judged on (numbers, dates, words)
_DATE = re.compile(r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})")


def parse_numbers(values: pd.Series) -> pd.Series:
    """Text to float; "1,234.5" thousands separators allowed; anything else becomes NaN.

    Plain numbers go through pandas' C parser at once; only the cells it cannot read are
    tried again as grouped numbers (the string methods cost 30x more: otto's 93 numeric
    columns took 6 s to parse that way, 0.3 s this way). Text in Arrow buffers (pandas >= 3)
    is first cast by pyarrow, which reads the same numbers 18x faster than to_numeric (otto's
    schema and features: 7.7 -> 1.3 s) but refuses a whole column for one cell it cannot read."""
    numbers = _arrow_numbers(values)
    if numbers is None:
        numbers = pd.to_numeric(values, errors="coerce").astype(float)
    retry = numbers.isna() & values.notna()
    if retry.any():
        text = values[retry].astype("string").str.strip()
        grouped = text.str.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", na=False)
        text = text.where(~grouped, text.str.replace(",", "", regex=False))
        numbers[retry] = pd.to_numeric(text, errors="coerce").astype(float)
    # inf, -inf and overflowing cells (1e999) are unusable as numbers: they read as missing.
    return numbers.mask(np.isinf(numbers))


def _arrow_numbers(values: pd.Series) -> pd.Series | None:
    """Arrow text cast to float by pyarrow, or None when the text is not in Arrow buffers or a
    cell is not a plain number (pandas' parser then decides, cell by cell)."""
    if not hasattr(values.array, "__arrow_array__"):
        return None
    try:
        numbers = pc.cast(pa.array(values.array), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    return pd.Series(numbers.to_numpy(zero_copy_only=False), index=values.index, name=values.name)


def infinite_cells(values: pd.Series) -> pd.Series:
    """Cells that read as numbers too large for a float: "inf", "-inf", "1e999"."""
    return pd.Series(np.isinf(pd.to_numeric(values, errors="coerce")), index=values.index)


def parse_datetimes(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, errors="coerce", format="mixed")


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


def feature_roles(
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
