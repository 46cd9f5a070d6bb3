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
from dataclasses import replace

import numpy as np

from .exceptions import DataError
from .preprocessing import DATE_CATEGORIES
from .preprocessing import DATE_NUMBERS
from .preprocessing import MAX_CATEGORIES
from .preprocessing import MIN_FREQUENCY
from .preprocessing import TEXT_TOKENS
from .preprocessing import feature_groups

# Cached fold, its transform, and per fold worker the memmapped arrays and the network's
# copy, as the process tree's resident memory counts them (shared pages once per process).
# Measured on 1,000,000 x 50: at 5 a run was killed for memory; at 9 the folds took 5.0 GiB
# where 3.8 were allowed (the tree peaked at 9.2 GiB of 8), so 9 x 5.0 / 3.8 and a margin.
COPIES = 13
MEMORY_SHARE = 0.6  # of the memory available when the run starts
MIN_ROWS = 10_000  # below this, a sample would not be worth running: refuse instead
# One-hot columns per categorical, widest first: on large data a narrower cap, the rest
# grouped, keeps more rows than a sample would.
CATEGORY_CAPS = (MAX_CATEGORIES, MAX_CATEGORIES // 2, MAX_CATEGORIES // 4, MAX_CATEGORIES // 8)
GIB = 2**30


@dataclass(frozen=True)
class MemoryCheck:
    """rows: training rows to use (all of them when they fit); max_categories: the one-hot
    cap a categorical gets; the estimate in bytes for all rows at that cap; the bytes the run
    may take for its folds; the feature count after preprocessing at that cap."""

    rows: int
    needed_bytes: int
    budget_bytes: int
    features: int
    max_categories: int = CATEGORY_CAPS[0]

    def notice(self, total_rows: int) -> str:
        changes = []
        if self.max_categories < CATEGORY_CAPS[0]:
            changes.append(
                f"one-hot columns capped at {self.max_categories} a categorical (the rest "
                "of its categories grouped)"
            )
        if self.rows < total_rows:
            changes.append(f"searching on a seeded sample of {self.rows:,} of {total_rows:,} rows")
        return (
            f"{' and '.join(changes)}: all rows' {self.features:,} features after "
            f"preprocessing would take about {self.needed_bytes / GIB:.1f} GiB, and the folds "
            f"may take {self.budget_bytes / GIB:.1f} GiB (--memory-limit, at most "
            f"{MEMORY_SHARE:.0%} of the memory available)"
        )


def memory_budget(limit_bytes: float | None, available: int | None = None) -> int:
    """The bytes the preprocessed folds may take: MEMORY_SHARE of the memory available, and
    at most `limit_bytes` less what the process tree holds already (the data as read, the
    fold workers started with their libraries)."""
    available = available_bytes() if available is None else available
    budget = available * MEMORY_SHARE
    if limit_bytes is not None:
        budget = min(budget, limit_bytes - tree_bytes())
    return max(0, int(budget))


def tree_bytes() -> int:
    """Resident memory of this process and its children (the fold workers)."""
    import psutil

    me = psutil.Process()
    total = me.memory_info().rss
    for child in me.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:  # a worker that ended meanwhile
            continue
    return int(total)


def available_bytes() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def widest(schema) -> int:
    """The most features preprocessing can make of the schema's columns (one-hot capped at
    MAX_CATEGORIES + 1 a column, missing indicators, date parts): a bound with no fitting."""

    one_hot = CATEGORY_CAPS[0] + 1
    per_date = 2 * len(DATE_NUMBERS) + one_hot * len(DATE_CATEGORIES)
    return (
        2 * len(schema.numeric)
        + one_hot * (len(schema.codes) + len(schema.categorical))
        + per_date * len(schema.datetime)
        + TEXT_TOKENS * len(schema.text)
    )


def feature_widths(X, schema, caps=CATEGORY_CAPS) -> dict[int, int]:
    """The features preprocessing makes of prepared X at each one-hot cap, counted from all
    rows without fitting: a number and its missing indicator, one column per category seen
    MIN_FREQUENCY times plus one for the rare ones (at most the cap), TEXT_TOKENS a text
    column. A fit on a sample counts too few: on 2,000 of 1,000,000 rows most of a large
    column's levels are rare (the run then held 19 GiB)."""

    groups = feature_groups(schema)
    fixed = sum(1 + int(X[c].isna().any()) for c in groups["numeric"])
    fixed += TEXT_TOKENS * len(groups["text"])
    levels = []
    for col in groups["categorical"]:
        counts = X[col].value_counts(dropna=False)
        frequent = int((counts >= MIN_FREQUENCY).sum())
        levels.append(frequent + int(frequent < len(counts)))
    return {cap: fixed + sum(min(cap, n) for n in levels) for cap in caps}


def feature_width(X, schema, max_categories: int = CATEGORY_CAPS[0]) -> int:
    return feature_widths(X, schema, (max_categories,))[max_categories]


def check_memory(X, n_test: int, schema, *, budget: int) -> MemoryCheck:
    """How many of X's rows fit in `budget` bytes, with `n_test` test rows, and at which
    one-hot cap: the widest at which all rows fit, else the narrowest and a sample. Data that
    fits even at the widest preprocessing (see `widest`) is not counted."""
    per_feature = (len(X) + n_test) * np.dtype(np.float32).itemsize * COPIES
    if per_feature * widest(schema) <= budget:
        return MemoryCheck(len(X), per_feature * widest(schema), budget, 0)
    widths = feature_widths(X, schema)
    for cap, features in widths.items():
        if per_feature * features <= budget:
            return MemoryCheck(len(X), per_feature * features, budget, features, cap)
    # The narrowest width, at the widest cap that gives it (a cap that groups nothing more
    # is not said to narrow anything).
    cap = max(c for c, width in widths.items() if width == min(widths.values()))
    per_row = per_feature * widths[cap] / (len(X) + n_test)
    rows = max(0, int(budget / per_row) - n_test)
    return MemoryCheck(rows, int(per_feature * widths[cap]), budget, widths[cap], cap)


def _round_down(rows: int) -> int:
    """Rows kept to two significant digits (334,879 -> 330,000): the budget moves with the
    memory free at the start, the sample size should not with every megabyte."""
    step = 10 ** max(0, len(str(rows)) - 2)
    return rows - rows % step


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


def within_memory(
    X, y, X_test, schema, *, seed: int, on_notice=None, limit_bytes=None, earlier=None
):
    """(X, y, max_categories): all training rows, or a seeded sample of them (stratified for
    classification), and the one-hot cap, chosen so that the preprocessed folds fit in
    memory (see check_memory), said in a notice; refused when not even MIN_ROWS would fit.
    With `earlier` (rows, max_categories of an earlier run on the workdir) those are used
    whatever memory is free now, so the run resumes on the same sample and features."""
    if earlier is not None:
        rows, cap = earlier
        if rows >= len(X):
            return X, y, cap
        if on_notice is not None:
            on_notice(f"resuming on the earlier run's seeded sample of {rows:,} of {len(X):,} rows")
        return (*_sample(X, y, rows, seed, schema), cap)
    check = check_memory(X, len(X_test), schema, budget=memory_budget(limit_bytes))
    if len(X) <= MIN_ROWS:  # too few rows for a sample to help: narrower columns at most
        check = replace(check, rows=len(X))
    if check.rows < len(X):
        check = replace(check, rows=_round_down(check.rows))
    if check.rows < MIN_ROWS and check.rows < len(X):
        raise DataError(
            f"{len(X):,} training rows with {check.features:,} features after preprocessing "
            f"need about {check.needed_bytes / GIB:.1f} GiB, and the folds may take only "
            f"{check.budget_bytes / GIB:.1f} GiB; raise --memory-limit, free memory or drop "
            "columns with many categories"
        )
    if on_notice is not None and (check.rows < len(X) or check.max_categories < CATEGORY_CAPS[0]):
        on_notice(check.notice(len(X)))
    if check.rows >= len(X):
        return X, y, check.max_categories
    return (*_sample(X, y, check.rows, seed, schema), check.max_categories)


def _sample(X, y, rows: int, seed: int, schema):
    keep = sample_rows(len(X), rows, seed, y if schema.is_classification else None)
    return X.iloc[keep].reset_index(drop=True), np.asarray(y)[keep]
