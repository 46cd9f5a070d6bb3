"""The memory guard: an estimate before any fold is built; narrower one-hot columns, then a
seeded sample, or a refusal."""

from dataclasses import replace

import pytest

from automl_tab import load_competition
from automl_tab import memory
from automl_tab.exceptions import DataError
from automl_tab.pipeline import training_data
from automl_tab.preprocessing import MAX_CATEGORIES
from automl_tab.preprocessing import build_preprocessor
from automl_tab.schema import infer_schema


def prepared(path):
    schema = infer_schema(load_competition(path))
    X, y, X_test = training_data(load_competition(path), schema)
    return schema, X, y, X_test


def room_for(rows, n_test, width):
    """The memory available that leaves exactly room for `rows` rows of `width` features."""
    return int((rows + n_test) * width * 4 * memory.COPIES / memory.MEMORY_SHARE) + 1


def test_data_that_fits_is_kept_whole_without_a_notice(binary_comp):
    schema, X, y, X_test = prepared(binary_comp)
    notices = []
    X2, y2, cap = memory.within_memory(X, y, X_test, schema, seed=0, on_notice=notices.append)
    assert X2 is X and y2 is y and cap == MAX_CATEGORIES == memory.CATEGORY_CAPS[0]
    assert notices == []


def test_too_little_memory_gives_a_seeded_stratified_sample_and_says_so(binary_comp, monkeypatch):
    schema, X, y, X_test = prepared(binary_comp)
    room = room_for(100, len(X_test), memory.feature_width(X, schema))
    monkeypatch.setattr(memory, "available_bytes", lambda: room)
    monkeypatch.setattr(memory, "MIN_ROWS", 50)
    notices = []
    X2, y2, cap = memory.within_memory(X, y, X_test, schema, seed=3, on_notice=notices.append)
    again, _, _ = memory.within_memory(X, y, X_test, schema, seed=3)
    assert len(X2) == len(y2) == 100 and X2.equals(again)
    assert abs(y2.mean() - y.mean()) < 0.02  # stratified
    # Its few categories fit any cap: none is said to be narrowed.
    assert cap == MAX_CATEGORIES and notices[0].startswith("searching on a seeded sample of 100")
    assert "GiB (--memory-limit" in notices[0]
    # Resumed with more memory free: the earlier run's 100 rows again, the same ones.
    monkeypatch.setattr(memory, "available_bytes", lambda: 100 * room)
    resumed, _, _ = memory.within_memory(X, y, X_test, schema, seed=3, earlier=(100, cap))
    assert resumed.equals(X2)
    assert memory.within_memory(X, y, X_test, schema, seed=3)[0] is X


def test_many_categories_get_fewer_one_hot_columns_before_any_sample(binary_comp, monkeypatch):
    schema, X, y, X_test = prepared(binary_comp)
    X = X.assign(many=[f"L{i % 40}" for i in range(len(X))])  # 40 levels, 4 rows each
    X_test = X_test.assign(many="L1")
    schema = replace(schema, categorical=(*schema.categorical, "many"))
    room = room_for(len(X), len(X_test), memory.feature_width(X, schema, 16))
    monkeypatch.setattr(memory, "available_bytes", lambda: room)
    notices = []
    X2, _, cap = memory.within_memory(X, y, X_test, schema, seed=0, on_notice=notices.append)
    assert X2 is X and cap == 16  # 32 would not fit, 16 does: all rows kept
    assert notices[0].startswith("one-hot columns capped at 16 a categorical")
    made = build_preprocessor(schema, max_categories=cap).fit(X).transform(X).shape[1]
    assert made == memory.feature_width(X, schema, 16) < memory.feature_width(X, schema)


def test_refused_in_one_line_when_not_even_a_small_sample_fits(binary_comp, monkeypatch):
    schema, X, y, X_test = prepared(binary_comp)
    monkeypatch.setattr(memory, "available_bytes", lambda: 10_000)
    monkeypatch.setattr(memory, "MIN_ROWS", 50)  # 160 rows count as large
    with pytest.raises(DataError, match="GiB; raise --memory-limit, free memory"):
        memory.within_memory(X, y, X_test, schema, seed=0)


def test_data_too_small_to_sample_is_kept_whole_at_any_limit(binary_comp):
    """A limit below what the process holds leaves no budget: rows no more than MIN_ROWS are
    kept whole (a sample of them would not help), never refused."""
    schema, X, y, X_test = prepared(binary_comp)
    X2, y2, _ = memory.within_memory(X, y, X_test, schema, seed=0, limit_bytes=1)
    assert X2 is X and y2 is y


def test_a_sample_keeps_two_significant_digits_of_rows():
    assert [memory._round_down(n) for n in (334_879, 99, 10_999)] == [330_000, 99, 10_000]


def test_the_limit_counts_what_the_process_tree_holds_already():
    gib = 2**30
    assert memory.memory_budget(None, available=10 * gib) == int(6 * gib)
    held = memory.tree_bytes()
    budget = memory.memory_budget(held + gib, available=100 * gib)
    assert 0.8 * gib < budget <= gib  # the limit less what is held (which moves a little)
    assert memory.memory_budget(held / 2, available=100 * gib) == 0


def test_the_width_is_counted_as_preprocessing_makes_it(binary_comp):
    schema, X, _, _ = prepared(binary_comp)
    X = X.assign(many=[f"L{i % 70}" for i in range(len(X))])  # 70 levels, 2-3 rows each
    schema = replace(schema, categorical=(*schema.categorical, "many"))
    made = build_preprocessor(schema).fit(X).transform(X).shape[1]
    assert memory.feature_width(X, schema) == made <= memory.widest(schema)
