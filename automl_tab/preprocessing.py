"""Features: a stateless typing step, then an *unfitted* transformer fitted inside each split.

`prepare_features` only parses cells row by row (numbers, datetime parts), so applying it to
all rows leaks nothing. Everything that learns from data (medians, scales, category
vocabularies, text vocabularies) sits in `build_preprocessor`, which the objective clones
and fits on the training part of each split only, never on validation rows.

Choices: numeric columns get median imputation plus missing-value indicators, then a z-score,
or a normal-quantile map for strongly skewed columns (|skew| > 1, as AutoGluon's networks do;
ties at either end get their mid-rank);
categories are imputed as "__missing__" and one-hot encoded, categories seen fewer than
MIN_FREQUENCY times are grouped and unseen ones ignored; free text (many distinct multi-word
values) becomes binary indicators of its TEXT_TOKENS most frequent words; datetimes become
year, month, day, weekday, hour and day of year (month, weekday and hour also one-hot).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.base import OneToOneFeatureMixin
from sklearn.base import TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.impute import MissingIndicator
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.preprocessing import QuantileTransformer
from sklearn.preprocessing import StandardScaler

from .roles import parse_datetimes
from .roles import parse_numbers
from .schema import REGRESSION
from .schema import DatasetSchema

MIN_FREQUENCY = 3
MAX_CATEGORIES = 64
TEXT_TOKENS = 32
SKEW_LIMIT = 1.0
DATE_NUMBERS = ("year", "month", "day", "weekday", "hour", "dayofyear")
DATE_CATEGORIES = ("month", "weekday", "hour")


def prepare_features(frame: pd.DataFrame, schema: DatasetSchema) -> pd.DataFrame:
    """Typed feature frame: floats for numbers, strings (or NaN) for categories and text."""
    out: dict[str, pd.Series] = {}
    for col in schema.numeric:
        out[col] = parse_numbers(frame[col])
    for col in schema.codes:
        out[f"{col}=code"] = _as_category(out[col].map(lambda v: f"{v:g}", na_action="ignore"))
    for col in schema.categorical:
        out[col] = _as_category(frame[col])
    for col in schema.datetime:
        stamp = parse_datetimes(frame[col])
        parts = {
            "year": stamp.dt.year,
            "month": stamp.dt.month,
            "day": stamp.dt.day,
            "weekday": stamp.dt.weekday,
            "hour": stamp.dt.hour,
            "dayofyear": stamp.dt.dayofyear,
        }
        for name in DATE_NUMBERS:
            out[f"{col}.{name}"] = parts[name].astype(float)
        for name in DATE_CATEGORIES:
            out[f"{col}.{name}=code"] = _as_category(parts[name].map(str, na_action="ignore"))
    for col in schema.text:
        out[col] = frame[col].astype(object).where(frame[col].notna(), "")
    return pd.DataFrame(out, index=frame.index)


def _arrow_strings():
    """Strings in Arrow buffers with NaN for missing (pandas >= 2.3 with pyarrow), else None:
    1,000,000 rows x 15 categoricals take 0.2 GiB so, 1.1 GiB as Python strings."""
    try:
        return pd.StringDtype("pyarrow", na_value=np.nan)
    except (ImportError, TypeError):
        return None


ARROW_STRINGS = _arrow_strings()


def _as_category(values: pd.Series) -> pd.Series:
    values = values.astype(object).where(values.notna(), np.nan)
    return values if ARROW_STRINGS is None else values.astype(ARROW_STRINGS)


def feature_groups(schema: DatasetSchema) -> dict[str, list[str]]:
    """Prepared column names by treatment."""
    numeric = list(schema.numeric)
    categorical = [f"{c}=code" for c in schema.codes] + list(schema.categorical)
    for col in schema.datetime:
        numeric += [f"{col}.{p}" for p in DATE_NUMBERS]
        categorical += [f"{col}.{p}=code" for p in DATE_CATEGORIES]
    return {"numeric": numeric, "categorical": categorical, "text": list(schema.text)}


class SkewAwareScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Z-score, except columns skewed beyond `skew_limit`, which get a normal-quantile map.

    Values outside the range seen in fit are clipped to it first. A network extrapolates
    linearly, and one extreme row can cost a whole score: on house-prices a test house with
    a living area beyond any training house was priced at 4x its value by the best network
    (log error 1.38, 30 % of the holdout's squared error). Trees already treat such values
    as the largest seen, so clipping changes nothing for them.
    """

    def __init__(self, skew_limit: float = SKEW_LIMIT, smooth_clip: float | None = None):
        self.skew_limit = skew_limit
        self.smooth_clip = smooth_clip

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=float)
        self.n_features_in_ = X.shape[1]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # near-constant columns
            skew = np.nan_to_num(stats.skew(X, axis=0), nan=0.0)
        self.skewed_ = np.abs(skew) > self.skew_limit
        self.low_, self.high_ = X.min(axis=0), X.max(axis=0)
        self.scaler_ = StandardScaler().fit(X)
        if self.skewed_.any():
            skewed = X[:, self.skewed_]
            n_quantiles = max(10, min(1000, X.shape[0]))
            self.quantile_ = QuantileTransformer(
                n_quantiles=n_quantiles,
                output_distribution="normal",
                subsample=100_000,
                random_state=0,
            ).fit(skewed)
            # QuantileTransformer sends every value equal to the smallest (largest) one seen
            # to the bound of its output, norm.ppf(1e-7) = -5.2 (+5.2), however many rows
            # hold it; values tied inside the range get their mid-rank. A count column that
            # is 0 in 80 % of the rows became -5.2 against 0.86 for a count of 1 (otto: the
            # mean |input| of the network was 4.1). The tied ends get their mid-rank too.
            low_share = (skewed == skewed.min(axis=0)).mean(axis=0)
            high_share = (skewed == skewed.max(axis=0)).mean(axis=0)
            self.low_score_ = stats.norm.ppf(np.clip(low_share / 2, 1e-7, 0.5))
            self.high_score_ = stats.norm.ppf(np.clip(1 - high_share / 2, 0.5, 1 - 1e-7))
        return self

    def transform(self, X):
        X = np.clip(np.asarray(X, dtype=float), self.low_, self.high_)
        out = self.scaler_.transform(X)
        if self.skewed_.any():
            skewed = X[:, self.skewed_]
            mapped = self.quantile_.transform(skewed)
            mapped = np.where(skewed <= self.low_[self.skewed_], self.low_score_, mapped)
            mapped = np.where(skewed >= self.high_[self.skewed_], self.high_score_, mapped)
            out[:, self.skewed_] = mapped
        if self.smooth_clip:  # RealMLP's x / sqrt(1 + (x / c)^2): near x for small x, at most c
            out = out / np.sqrt(1.0 + (out / self.smooth_clip) ** 2)
        else:
            out = np.clip(out, -8, 8)  # a column with a few far points in training, too
        # float32, as the models take it: the stacked features are then float32 too, not a
        # float64 copy twice their size (2.6 GB more for 800,000 rows x 820 features).
        return out.astype(np.float32)


class FrequentWords(TransformerMixin, BaseEstimator):
    """Binary indicators of a text column's `max_words` most frequent words (those in at least
    `min_rows` training rows). A column whose words are all rarer gives no feature instead of
    failing, as CountVectorizer does on an empty vocabulary: a split's training rows may hold
    no repeated word even when the whole column does."""

    def __init__(self, max_words: int = TEXT_TOKENS, min_rows: int = MIN_FREQUENCY):
        self.max_words = max_words
        self.min_rows = min_rows

    def fit(self, X, y=None):
        words = CountVectorizer(
            binary=True,
            max_features=self.max_words,
            min_df=self.min_rows,
            token_pattern=r"(?u)\b\w+\b",
            dtype=np.float32,
        )
        try:
            self.vectorizer_ = words.fit(np.asarray(X).ravel())
        except ValueError as exc:
            if "no terms remain" not in str(exc) and "empty vocabulary" not in str(exc):
                raise
            self.vectorizer_ = None
        return self

    def transform(self, X):
        if self.vectorizer_ is None:
            return np.zeros((len(X), 0), dtype=np.float32)
        return self.vectorizer_.transform(np.asarray(X).ravel())

    def get_feature_names_out(self, input_features=None):
        if self.vectorizer_ is None:
            return np.array([], dtype=object)
        return self.vectorizer_.get_feature_names_out()


def build_preprocessor(
    schema: DatasetSchema,
    smooth_clip: float | None = None,
    max_categories: int = MAX_CATEGORIES,
    skew_limit: float = SKEW_LIMIT,
) -> ColumnTransformer:
    """The unfitted transformer; clone and fit it on the training rows of each split.
    `smooth_clip` squashes scaled numbers smoothly into (-c, c) instead of clipping at 8;
    `max_categories` caps a categorical's one-hot columns (the memory guard narrows it);
    numbers skewed beyond `skew_limit` get the quantile map (0: every varying column)."""
    groups = feature_groups(schema)
    parts = []
    if groups["numeric"]:
        parts.append(
            (
                "numeric",
                make_pipeline(
                    SimpleImputer(strategy="median"),
                    SkewAwareScaler(skew_limit=skew_limit, smooth_clip=smooth_clip),
                ),
                groups["numeric"],
            )
        )
        parts.append(
            (
                "missing",
                MissingIndicator(features="missing-only", error_on_new=False),
                groups["numeric"],
            )
        )
    if groups["categorical"]:
        parts.append(
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="__missing__"),
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        min_frequency=MIN_FREQUENCY,
                        max_categories=max_categories,
                        sparse_output=False,
                        dtype=np.float32,
                    ),
                ),
                groups["categorical"],
            )
        )
    for col in groups["text"]:
        parts.append((f"text:{col}", FrequentWords(), [col]))
    if not parts:
        raise ValueError("no usable feature columns")  # schema guarantees at least one
    return ColumnTransformer(parts, sparse_threshold=0.0, verbose_feature_names_out=True)


def encode_target(values: pd.Series, schema: DatasetSchema) -> np.ndarray:
    """Class labels → integer codes in `schema.classes` order; regression → float values."""
    if schema.task == REGRESSION:
        return parse_numbers(values).to_numpy(dtype=float)
    index = {label: i for i, label in enumerate(schema.classes)}
    return values.map(index).to_numpy(dtype=np.int64)
