"""The memory guard: before any fold is preprocessed, an estimate of what the run will hold
against the memory available, and a seeded sample of the training rows when it would not fit.

What grows with the data is the preprocessed folds: float32 arrays of (rows x features after
one-hot encoding) for a fold's training rows, its validation rows and the test rows. A run
holds a few copies of them at once: the cached fold, the one being transformed, and one per
fold worker, where a network's training copies its inputs. The estimate is that size times
COPIES, the width counted from the prepared columns (see `feature_width`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .exceptions import DataError

# Cached fold, its transform, and per fold worker the memmapped arrays and the network's
# copy. Measured: at 5, a 1,000,000 x 50 run sampled to 528,769 rows peaked at 20.4 GiB for
# the process tree (about 7 fold-sized copies beyond the data) and was killed for memory.
COPIES = 9
MEMORY_SHARE = 0.6  # of the memory available when the run starts
MIN_ROWS = 10_000  # below this, a sample would not be worth running: refuse instead


@dataclass(frozen=True)
class MemoryCheck:
    """rows: training rows to use (all of them when they fit); the estimate in bytes for
    all rows; the bytes available; the feature count after preprocessing."""

    rows: int
    needed_bytes: int
    available_bytes: int
    features: int

    def notice(self, total_rows: int) -> str:
        gib = 2**30
        return (
            f"searching on a seeded sample of {self.rows:,} of {total_rows:,} training rows: "
            f"their {self.features:,} features after preprocessing would take about "
            f"{self.needed_bytes / gib:.1f} GiB in all, and {self.available_bytes / gib:.1f} "
            "GiB are available"
        )


def available_bytes() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def widest(schema) -> int:
    """The most features preprocessing can make of the schema's columns (one-hot capped at
    MAX_CATEGORIES + 1 a column, missing indicators, date parts): a bound with no fitting."""
    from .preprocessing import DATE_CATEGORIES
    from .preprocessing import DATE_NUMBERS
    from .preprocessing import MAX_CATEGORIES
    from .preprocessing import TEXT_TOKENS

    one_hot = MAX_CATEGORIES + 1
    per_date = 2 * len(DATE_NUMBERS) + one_hot * len(DATE_CATEGORIES)
    return (
        2 * len(schema.numeric)
        + one_hot * (len(schema.codes) + len(schema.categorical))
        + per_date * len(schema.datetime)
        + TEXT_TOKENS * len(schema.text)
    )


def feature_width(X, schema) -> int:
    """The features preprocessing makes of prepared X, counted from all rows without fitting:
    a number and its missing indicator, one column per category seen MIN_FREQUENCY times plus
    one for the rare ones (at most MAX_CATEGORIES), TEXT_TOKENS a text column. A fit on a
    sample counts too few: on 2,000 of 1,000,000 rows most of a large column's levels are rare
    (the run then held 19 GiB)."""
    from .preprocessing import MAX_CATEGORIES
    from .preprocessing import MIN_FREQUENCY
    from .preprocessing import TEXT_TOKENS
    from .preprocessing import feature_groups

    groups = feature_groups(schema)
    width = sum(1 + int(X[c].isna().any()) for c in groups["numeric"])
    for col in groups["categorical"]:
        counts = X[col].value_counts(dropna=False)
        frequent = int((counts >= MIN_FREQUENCY).sum())
        width += min(MAX_CATEGORIES, frequent + int(frequent < len(counts)))
    return width + TEXT_TOKENS * len(groups["text"])


def check_memory(X, n_test: int, schema, *, available: int | None = None) -> MemoryCheck:
    """How many of X's rows fit, with `n_test` test rows; data that fits even at the widest
    preprocessing (see `widest`) is not counted."""
    available = available_bytes() if available is None else available
    budget = available * MEMORY_SHARE
    per_feature = (len(X) + n_test) * np.dtype(np.float32).itemsize * COPIES
    if per_feature * widest(schema) <= budget:
        return MemoryCheck(len(X), per_feature * widest(schema), available, 0)
    features = feature_width(X, schema)
    needed = per_feature * features
    per_row = needed / (len(X) + n_test)
    rows = len(X) if needed <= budget else max(0, int(budget / per_row) - n_test)
    return MemoryCheck(min(rows, len(X)), int(needed), available, features)


def sample_rows(n_rows: int, keep: int, seed: int, y=None) -> np.ndarray:
    """Sorted indices of `keep` of `n_rows` rows, seeded (stratified by `y` when given), so
    that a resumed run draws the same sample."""
    from sklearn.model_selection import train_test_split

    index = np.arange(n_rows)
    if keep >= n_rows:
        return index
    counts = np.unique(y, return_counts=True)[1] if y is not None else np.array([0])
    stratify = y if counts.min() >= 2 and counts.size * 2 <= keep else None
    kept, _ = train_test_split(index, train_size=keep, random_state=seed, stratify=stratify)
    return np.sort(kept)


def within_memory(X, y, X_test, schema, *, seed: int, on_notice=None, rows: int | None = None):
    """(X, y): all training rows, or a seeded sample of them (stratified for classification)
    when their preprocessed folds would not fit in memory, said in a notice; refused when not
    even MIN_ROWS would fit. With `rows` (the rows an earlier run on the workdir used) that
    many are drawn whatever memory is free now, so the run resumes on the same sample."""
    if rows is not None:
        if rows >= len(X):
            return X, y
        if on_notice is not None:
            on_notice(f"resuming on the earlier run's seeded sample of {rows:,} of {len(X):,} rows")
        return _sample(X, y, rows, seed, schema)
    check = check_memory(X, len(X_test), schema)
    if check.rows >= len(X):
        return X, y
    if check.rows < MIN_ROWS:
        raise DataError(
            f"{len(X):,} training rows with {check.features:,} features after preprocessing "
            f"need about {check.needed_bytes / 2**30:.1f} GiB, and only "
            f"{check.available_bytes / 2**30:.1f} GiB are available; free memory or drop "
            "columns with many categories"
        )
    if on_notice is not None:
        on_notice(check.notice(len(X)))
    return _sample(X, y, check.rows, seed, schema)


def _sample(X, y, rows: int, seed: int, schema):
    keep = sample_rows(len(X), rows, seed, y if schema.is_classification else None)
    return X.iloc[keep].reset_index(drop=True), np.asarray(y)[keep]
