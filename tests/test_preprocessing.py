import numpy as np
import pandas as pd
import pytest
from scipy import stats

from automl_tab import load_competition
from automl_tab.preprocessing import FrequentWords
from automl_tab.preprocessing import SkewAwareScaler
from automl_tab.preprocessing import build_preprocessor
from automl_tab.preprocessing import encode_target
from automl_tab.preprocessing import prepare_features
from automl_tab.schema import infer_schema


def prepared(path):
    comp = load_competition(path)
    schema = infer_schema(comp)
    return schema, prepare_features(comp.train, schema), prepare_features(comp.test, schema)


def test_fitted_on_training_rows_only(binary_comp):
    schema, X, _ = prepared(binary_comp)
    train, valid = X.iloc[:100], X.iloc[100:].copy()
    reference = build_preprocessor(schema).fit(train).transform(train)
    valid["x1"] = 1e6  # extreme validation values must not move the fitted statistics
    valid["color"] = "never-seen-in-train"
    fitted = build_preprocessor(schema).fit(train)
    np.testing.assert_allclose(fitted.transform(train), reference)
    out = fitted.transform(valid)
    assert np.all(np.isfinite(out))


def test_unseen_categories_are_ignored_and_missing_values_imputed(binary_comp):
    schema, X, X_test = prepared(binary_comp)
    X_test = X_test.copy()
    X_test.loc[X_test.index[0], "color"] = "purple"
    X_test.loc[X_test.index[1], ["x1", "x2"]] = np.nan
    out = build_preprocessor(schema).fit(X).transform(X_test)
    assert np.all(np.isfinite(out)) and out.shape[0] == len(X_test)


def test_rare_categories_are_grouped(binary_comp):
    schema, X, _ = prepared(binary_comp)
    X = X.copy()
    X.loc[X.index[:2], "color"] = ["rare1", "rare2"]
    prep = build_preprocessor(schema).fit(X)
    names = list(prep.get_feature_names_out())
    assert not any("rare1" in n for n in names)
    assert any("infrequent" in n for n in names)


def test_skewed_columns_get_a_quantile_map():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=500), rng.lognormal(sigma=2, size=500)])
    scaler = SkewAwareScaler().fit(X)
    assert list(scaler.skewed_) == [False, True]
    out = scaler.transform(X)
    assert abs(out[:, 1].mean()) < 0.1 and out[:, 1].max() < 8.1
    assert list(SkewAwareScaler(skew_limit=0.0).fit(X).skewed_) == [True, True]  # all mapped


def test_a_value_most_rows_share_at_an_end_gets_its_mid_rank():
    # A count that is 0 in 80 % of the rows: QuantileTransformer alone sends all those zeros
    # to its bound (-5.2) and a count of 1 to +0.86. Tied ends get their mid-rank instead.
    rng = np.random.default_rng(0)
    counts = np.where(rng.random(5000) < 0.8, 0.0, rng.poisson(3, 5000) + 1.0)
    skewed = rng.lognormal(sigma=1.5, size=5000)
    capped = np.minimum(skewed, np.quantile(skewed, 0.9))  # a tenth of the rows at the top
    X = np.column_stack([counts, capped])
    scaler = SkewAwareScaler().fit(X)
    assert list(scaler.skewed_) == [True, True]
    zero, one = scaler.transform(np.array([[0.0, 1.0], [1.0, 1.0]]))[:, 0]
    assert zero == pytest.approx(stats.norm.ppf(0.4), abs=0.02)
    assert 0.5 < one < 1.2  # the next value up stays next to it
    top = scaler.transform(np.array([[0.0, capped.max()]]))[0, 1]
    assert top == pytest.approx(stats.norm.ppf(1 - 0.1 / 2), abs=0.01)
    out = scaler.transform(X)
    assert np.abs(out[:, 0]).mean() < 1.0  # otto's count columns: 4.1 without the mid-rank
    order = np.argsort(X[:, 0], kind="stable")
    assert np.all(np.diff(out[order, 0]) >= 0)  # still monotone
    below = scaler.transform(np.array([[-3.0, -1.0]]))  # beyond the training range: its ends
    np.testing.assert_allclose(below, scaler.transform(X.min(axis=0, keepdims=True)))


def test_smooth_clipping_is_bounded_and_learns_from_the_training_rows_only():
    # RealMLP's x / sqrt(1 + (x / c)^2): close to x near 0, never beyond c; its scale and
    # range come from the rows it was fitted on, so validation rows change nothing.
    rng = np.random.default_rng(1)
    train = np.column_stack([rng.normal(size=400), rng.standard_t(2, size=400)])
    valid = train[:50] * 30 + 100  # far away: would shift a scaler fitted on them
    scaler = SkewAwareScaler(smooth_clip=3.0).fit(train)
    plain = SkewAwareScaler().fit(train)
    out = scaler.transform(np.vstack([train, valid]))
    assert np.abs(out).max() < 3.0
    small = np.abs(plain.transform(train)[:, 0]) < 0.3
    np.testing.assert_allclose(scaler.transform(train)[small, 0],
                               plain.transform(train)[small, 0], atol=0.01)  # fmt: skip
    refit = SkewAwareScaler(smooth_clip=3.0).fit(train)
    np.testing.assert_array_equal(refit.transform(valid), scaler.transform(valid))
    assert (scaler.high_ == train.max(axis=0)).all()


def test_values_beyond_the_training_range_are_clipped_to_it():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=500), rng.lognormal(sigma=2, size=500)])
    scaler = SkewAwareScaler().fit(X)
    far = np.array([[X[:, 0].max() * 10, X[:, 1].max() * 10]])
    edge = np.array([[X[:, 0].max(), X[:, 1].max()]])
    np.testing.assert_allclose(scaler.transform(far), scaler.transform(edge))
    low = np.array([[X[:, 0].min() - 100, X[:, 1].min() - 100]])
    edge_low = np.array([[X[:, 0].min(), X[:, 1].min()]])
    np.testing.assert_allclose(scaler.transform(low), scaler.transform(edge_low))


def test_datetime_and_text_columns(binary_comp):
    rng = np.random.default_rng(1)
    for name in ("train.csv", "test.csv"):
        frame = pd.read_csv(binary_comp / name)
        frame["when"] = pd.date_range("2020-01-01", periods=len(frame), freq="7h").astype(str)
        words = ["mr", "mrs", "miss", "master"]
        frame["name"] = [f"Person{i} {rng.choice(words)} Smith{i}" for i in range(len(frame))]
        frame.to_csv(binary_comp / name, index=False)
    schema, X, X_test = prepared(binary_comp)
    assert schema.datetime == ("when",) and schema.text == ("name",)
    assert {"when.hour", "when.weekday", "when.hour=code"} <= set(X.columns)
    prep = build_preprocessor(schema).fit(X)
    names = list(prep.get_feature_names_out())
    assert any(n.endswith("__mrs") for n in names)
    assert prep.transform(X_test).shape[1] == len(names)


def test_encode_target(binary_comp, regression_comp):
    comp = load_competition(binary_comp)
    schema = infer_schema(comp)
    codes = encode_target(comp.train["label"], schema)
    assert set(codes) == {0, 1} and codes.dtype == np.int64
    comp = load_competition(regression_comp)
    assert encode_target(comp.train["label"], infer_schema(comp)).dtype == float


def test_text_without_a_repeated_word_gives_no_feature_and_no_error():
    # A split's training rows may hold no word MIN_FREQUENCY times: the column then adds
    # nothing (CountVectorizer alone refuses an empty vocabulary).
    train = pd.DataFrame({"note": [f"alpha{i} beta{i}" for i in range(40)]})
    words = FrequentWords().fit(train)
    assert words.transform(train).shape == (40, 0) and len(words.get_feature_names_out()) == 0


def test_frequent_words_are_counted_on_the_training_rows_only():
    train = pd.DataFrame({"note": ["red car", "red bus", "red van", "blue car"]})
    valid = pd.DataFrame({"note": ["green tram"] * 10})
    words = FrequentWords(min_rows=3).fit(train)
    assert list(words.get_feature_names_out()) == ["red"]
    assert words.transform(valid).sum() == 0


def test_categories_stay_arrow_strings_when_pyarrow_is_there(binary_comp):
    """Categorical features are kept in Arrow buffers until a fold encodes them (a tenth of
    the memory of Python strings on large data); without pyarrow they stay objects."""
    pytest.importorskip("pyarrow", minversion="16")
    from automl_tab.preprocessing import ARROW_STRINGS

    schema = infer_schema(load_competition(binary_comp))
    X = prepare_features(load_competition(binary_comp).train, schema)
    assert ARROW_STRINGS is not None and X["color"].dtype == ARROW_STRINGS
    assert X["color"].isna().sum() > 0 and X["color"].dropna().isin(["red", "green", "blue"]).all()
