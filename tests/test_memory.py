"""The memory guard: an estimate before any fold is built, a seeded sample or a refusal."""

from dataclasses import replace

import pytest

from automl_tab import load_competition
from automl_tab import memory
from automl_tab.exceptions import DataError
from automl_tab.pipeline import training_data
from automl_tab.preprocessing import build_preprocessor
from automl_tab.schema import infer_schema


def prepared(path):
    schema = infer_schema(load_competition(path))
    X, y, X_test = training_data(load_competition(path), schema)
    return schema, X, y, X_test


def test_data_that_fits_is_kept_whole_without_a_notice(binary_comp):
    schema, X, y, X_test = prepared(binary_comp)
    notices = []
    X2, y2 = memory.within_memory(X, y, X_test, schema, seed=0, on_notice=notices.append)
    assert X2 is X and y2 is y and notices == []


def test_too_little_memory_gives_a_seeded_stratified_sample_and_says_so(binary_comp, monkeypatch):
    schema, X, y, X_test = prepared(binary_comp)
    width = memory.feature_width(X, schema)
    # Memory for 100 + 60 test rows at COPIES copies of float32 features, over MEMORY_SHARE.
    room = int((100 + len(X_test)) * width * 4 * memory.COPIES / memory.MEMORY_SHARE) + 1
    monkeypatch.setattr(memory, "available_bytes", lambda: room)
    monkeypatch.setattr(memory, "MIN_ROWS", 50)
    notices = []
    X2, y2 = memory.within_memory(X, y, X_test, schema, seed=3, on_notice=notices.append)
    again, _ = memory.within_memory(X, y, X_test, schema, seed=3)
    assert len(X2) == len(y2) == 100 and X2.equals(again)
    assert abs(y2.mean() - y.mean()) < 0.02  # stratified
    assert "sample of 100 of 160 training rows" in notices[0] and "GiB are available" in notices[0]
    # Resumed with more memory free: the earlier run's 100 rows again, the same ones.
    monkeypatch.setattr(memory, "available_bytes", lambda: 100 * room)
    resumed, _ = memory.within_memory(X, y, X_test, schema, seed=3, rows=100)
    assert resumed.equals(X2)
    assert memory.within_memory(X, y, X_test, schema, seed=3)[0] is X


def test_refused_in_one_line_when_not_even_a_small_sample_fits(binary_comp, monkeypatch):
    schema, X, y, X_test = prepared(binary_comp)
    monkeypatch.setattr(memory, "available_bytes", lambda: 10_000)
    with pytest.raises(DataError, match="GiB are available; free memory"):
        memory.within_memory(X, y, X_test, schema, seed=0)


def test_the_width_is_counted_as_preprocessing_makes_it(binary_comp):
    schema, X, _, _ = prepared(binary_comp)
    X = X.assign(many=[f"L{i % 70}" for i in range(len(X))])  # 70 levels, 2-3 rows each
    schema = replace(schema, categorical=(*schema.categorical, "many"))
    made = build_preprocessor(schema).fit(X).transform(X).shape[1]
    assert memory.feature_width(X, schema) == made <= memory.widest(schema)
