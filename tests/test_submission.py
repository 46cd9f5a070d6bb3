import numpy as np
import pandas as pd
import pytest

from automl_tab import load_competition
from automl_tab.exceptions import DataError
from automl_tab.schema import infer_schema
from automl_tab.submission import submission_frame
from automl_tab.submission import write_submission


def setup(path):
    comp = load_competition(path)
    schema = infer_schema(comp)
    return comp, schema


def test_class_probabilities_follow_the_template(multiclass_comp):
    sample = pd.read_csv(multiclass_comp / "sample_submission.csv")
    sample.iloc[::-1].to_csv(multiclass_comp / "sample_submission.csv", index=False)
    comp, schema = setup(multiclass_comp)
    pred = np.tile([0.2, 0.3, 0.5], (len(comp.test), 1))
    pred[0] = [2.0, 0.0, 0.0]  # unnormalised and with a zero: clipped and renormalised
    path = write_submission(
        submission_frame(comp.sample_submission, comp.test["id"], pred, schema),
        multiclass_comp / "out.csv",
        comp.sample_submission,
        schema,
    )
    out = pd.read_csv(path, dtype={"id": str})
    assert list(out.columns) == ["id", "a", "b", "c"]
    assert out["id"].tolist() == comp.sample_submission["id"].tolist()
    assert np.allclose(out[["a", "b", "c"]].sum(axis=1), 1)
    first = out.set_index("id").loc[comp.test["id"].iloc[0]]
    assert first["a"] == pytest.approx(1.0) and first["b"] > 0


def test_labels_are_spelled_as_in_train(binary_comp):
    comp, schema = setup(binary_comp)
    pred = np.column_stack([np.linspace(0, 1, len(comp.test)), np.linspace(1, 0, len(comp.test))])
    frame = submission_frame(comp.sample_submission, comp.test["id"], pred, schema)
    assert set(frame["label"]) == {"yes", "no"}


def test_bad_predictions_leave_no_file(regression_comp, tmp_path):
    comp, schema = setup(regression_comp)
    pred = np.full(len(comp.test), np.nan)
    frame = submission_frame(comp.sample_submission, comp.test["id"], pred, schema)
    out = tmp_path / "out"
    with pytest.raises(DataError, match="empty predictions|NaN"):
        write_submission(frame, out / "sub.csv", comp.sample_submission, schema)
    assert list(out.iterdir()) == []


def test_ids_keep_their_spelling(regression_comp, tmp_path):
    for name in ("test.csv", "sample_submission.csv"):
        frame = pd.read_csv(regression_comp / name, dtype=str)
        frame["id"] = "00" + frame["id"]
        frame.to_csv(regression_comp / name, index=False)
    comp, schema = setup(regression_comp)
    frame = submission_frame(
        comp.sample_submission, comp.test["id"], np.arange(len(comp.test), dtype=float), schema
    )
    path = write_submission(frame, tmp_path / "s.csv", comp.sample_submission, schema)
    assert pd.read_csv(path, dtype=str)["id"].str.startswith("00").all()
