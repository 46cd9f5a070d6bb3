"""Turning predictions into a submission that matches sample_submission.csv exactly, checking
it, and writing it atomically (a temporary file renamed into place: never half a file)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .exceptions import DataError
from .schema import DatasetSchema

EPS = 1e-15


def submission_frame(
    template: pd.DataFrame, test_ids: pd.Series, pred: np.ndarray, schema: DatasetSchema
) -> pd.DataFrame:
    """Predictions (one row per test row, in test order) laid out like the template.

    The id column is copied from the template as text, so ids keep their spelling and order.
    """
    position = pd.Series(np.arange(len(test_ids)), index=test_ids.to_numpy())
    order = position.loc[template[schema.id_column].to_numpy()].to_numpy()
    pred = np.asarray(pred, dtype=float)[order]
    out = pd.DataFrame({schema.id_column: template[schema.id_column].to_numpy()})
    if schema.output == "class_proba":
        proba = np.clip(pred, EPS, 1.0)
        proba = proba / proba.sum(axis=1, keepdims=True)
        for j, col in enumerate(schema.prediction_columns):
            out[col] = proba[:, j]
    elif schema.output == "proba":
        out[schema.prediction_columns[0]] = np.clip(pred[:, 1], 0.0, 1.0)
    elif schema.output == "label":
        labels = np.asarray(schema.classes, dtype=object)[np.argmax(pred, axis=1)]
        out[schema.prediction_columns[0]] = labels
    else:
        value = np.clip(pred, 0.0, None) if schema.log_target else pred
        out[schema.prediction_columns[0]] = value
    return out[list(template.columns)]


def check_submission(frame: pd.DataFrame, template: pd.DataFrame, schema: DatasetSchema) -> None:
    """Raise DataError unless `frame` (as read back from disk, all text) fits the template."""
    if list(frame.columns) != list(template.columns):
        raise DataError(
            f"submission columns {list(frame.columns)} differ from "
            f"sample_submission.csv {list(template.columns)}"
        )
    ids = frame[schema.id_column].to_numpy()
    if len(frame) != len(template) or not np.array_equal(ids, template[schema.id_column]):
        raise DataError("submission ids differ from sample_submission.csv's ids or their order")
    values = frame[list(schema.prediction_columns)]
    if values.isna().any().any():
        raise DataError("submission has empty predictions")
    if schema.output == "label":
        unknown = set(values.iloc[:, 0]) - set(schema.classes)
        if unknown:
            raise DataError(f"submission has labels {sorted(unknown)[:3]} not seen in train.csv")
        return
    numbers = values.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(numbers)):
        raise DataError("submission has NaN, inf or non-numeric predictions")
    if schema.output in ("proba", "class_proba") and (numbers.min() < 0 or numbers.max() > 1):
        raise DataError("submission has probabilities outside [0, 1]")
    if schema.output == "class_proba" and not np.allclose(numbers.sum(axis=1), 1.0, atol=1e-6):
        raise DataError("submission's class probabilities do not sum to 1")


def write_submission(
    frame: pd.DataFrame, path: Path, template: pd.DataFrame, schema: DatasetSchema
) -> Path:
    """Write, read back and check, then rename into place; nothing is left on failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            frame.to_csv(handle, index=False, lineterminator="\n")
        check_submission(
            pd.read_csv(tmp, dtype=str, keep_default_na=False, na_values=[""]), template, schema
        )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
