import json

import numpy as np
import pandas as pd
import pytest
from helpers import write_competition

from automl_tab import load_competition
from automl_tab.exceptions import DataError
from automl_tab.preprocessing import prepare_features
from automl_tab.schema import infer_schema
from automl_tab.schema import labelled_rows


def schema_of(path, **overrides):
    return infer_schema(load_competition(path, **overrides))


def test_binary_labels(binary_comp):
    s = schema_of(binary_comp)
    assert (s.task, s.target, s.id_column, s.metric, s.output) == (
        "binary",
        "label",
        "id",
        "accuracy",
        "label",
    )
    assert s.classes == ("no", "yes")
    assert set(s.numeric) == {"x1", "x2", "level"} and s.codes == ("level",)
    assert s.categorical == ("color",)
    assert ("id", "id column") in s.dropped


def test_binary_probabilities_default_to_log_loss(tmp_path):
    s = schema_of(write_competition(tmp_path / "p", "binary", proba=True))
    assert (s.metric, s.output) == ("log_loss", "proba")


def test_multiclass_probability_columns(multiclass_comp):
    s = schema_of(multiclass_comp)
    assert (s.task, s.metric, s.output, s.classes) == (
        "multiclass",
        "log_loss",
        "class_proba",
        ("a", "b", "c"),
    )


def test_regression(regression_comp):
    s = schema_of(regression_comp)
    assert (s.task, s.metric, s.output, s.classes) == ("regression", "rmse", "value", None)


def test_competition_json_and_flags_override(tmp_path):
    path = write_competition(tmp_path / "c", "regression", meta={"metric": "mae"})
    assert schema_of(path).metric == "mae"
    assert schema_of(path, metric="rmsle").metric == "rmsle"
    assert schema_of(path, metric="rmsle").log_target


def test_train_only_columns_and_missing_targets_are_dropped(binary_comp):
    train = pd.read_csv(binary_comp / "train.csv")
    train["leak"] = 1.0
    train.loc[:4, "label"] = None
    train.to_csv(binary_comp / "train.csv", index=False)
    s = schema_of(binary_comp)
    assert dict(s.dropped)["leak"] == "only in train.csv"
    assert s.n_unlabelled == 5 and s.n_train == 155
    assert any("without a 'label'" in n for n in s.notices)


def test_constant_empty_and_datetime_columns(binary_comp):
    for name in ("train.csv", "test.csv"):
        frame = pd.read_csv(binary_comp / name)
        frame["const"] = 7
        frame["empty"] = None
        frame["when"] = pd.date_range("2020-01-01", periods=len(frame), freq="h").astype(str)
        frame.to_csv(binary_comp / name, index=False)
    s = schema_of(binary_comp)
    dropped = dict(s.dropped)
    assert "constant" in dropped["const"] and "empty" in dropped["empty"]
    assert s.datetime == ("when",)


def test_timestamp_id_is_kept_as_feature(tmp_path):
    path = write_competition(tmp_path / "t", "regression")
    for name in ("train.csv", "test.csv", "sample_submission.csv"):
        frame = pd.read_csv(path / name)
        frame["id"] = pd.date_range("2021-03-01", periods=220, freq="h")[
            frame["id"].to_numpy() - 1
        ].astype(str)
        frame.to_csv(path / name, index=False)
    s = schema_of(path)
    assert s.id_column == "id" and s.datetime == ("id",)


def test_numbers_with_thousands_separators_are_numeric(binary_comp):
    for name in ("train.csv", "test.csv"):
        frame = pd.read_csv(binary_comp / name)
        frame["price"] = [f"{1000 + 37 * i:,}" for i in range(len(frame))]
        frame.to_csv(binary_comp / name, index=False)
    assert "price" in schema_of(binary_comp).numeric


@pytest.mark.parametrize("missing", ["train.csv", "test.csv", "sample_submission.csv"])
def test_missing_file(binary_comp, missing):
    (binary_comp / missing).unlink()
    with pytest.raises(DataError, match=f"{missing}.*not found"):
        load_competition(binary_comp)


def test_empty_and_header_only_files(binary_comp):
    (binary_comp / "test.csv").write_text("")
    with pytest.raises(DataError, match="test.csv is empty"):
        load_competition(binary_comp)
    (binary_comp / "test.csv").write_text("id,x1\n")
    with pytest.raises(DataError, match="test.csv has a header but no rows"):
        load_competition(binary_comp)


def test_binary_file_is_refused(binary_comp):
    (binary_comp / "train.csv").write_bytes(bytes(range(256)) * 10)
    with pytest.raises(DataError, match="train.csv"):
        load_competition(binary_comp)


def test_ids_must_match(binary_comp):
    sample = pd.read_csv(binary_comp / "sample_submission.csv")
    sample.loc[0, "id"] = 99999
    sample.to_csv(binary_comp / "sample_submission.csv", index=False)
    with pytest.raises(DataError, match="ids of sample_submission.csv do not match"):
        schema_of(binary_comp)


def test_duplicated_test_ids(binary_comp):
    test = pd.read_csv(binary_comp / "test.csv")
    test.loc[1, "id"] = test.loc[0, "id"]
    test.to_csv(binary_comp / "test.csv", index=False)
    with pytest.raises(DataError, match="duplicated ids"):
        schema_of(binary_comp)


def test_single_class_target(binary_comp):
    train = pd.read_csv(binary_comp / "train.csv")
    train["label"] = "yes"
    train.to_csv(binary_comp / "train.csv", index=False)
    with pytest.raises(DataError, match="single class"):
        schema_of(binary_comp)


def test_no_target_column(binary_comp):
    train = pd.read_csv(binary_comp / "train.csv").drop(columns="label")
    train.to_csv(binary_comp / "train.csv", index=False)
    with pytest.raises(DataError, match="no column the target could be"):
        schema_of(binary_comp)


def test_unknown_metric_and_task(binary_comp):
    with pytest.raises(DataError, match="metric 'f7' is unknown"):
        schema_of(binary_comp, metric="f7")
    (binary_comp / "competition.json").write_text(json.dumps({"task": "ranking"}))
    with pytest.raises(DataError, match="task 'ranking' is unknown"):
        schema_of(binary_comp)


def test_byte_order_mark_is_ignored(binary_comp):
    text = (binary_comp / "train.csv").read_text()
    (binary_comp / "train.csv").write_text("\ufeff" + text, encoding="utf-8")
    assert schema_of(binary_comp).target == "label"


def test_non_finite_numbers_are_read_as_missing_with_a_notice(binary_comp):
    for name, cell in (("train.csv", "inf"), ("test.csv", "-1e999")):
        frame = pd.read_csv(binary_comp / name, dtype=str)
        frame.loc[3, "x1"] = cell
        frame.to_csv(binary_comp / name, index=False)
    comp = load_competition(binary_comp)
    s = infer_schema(comp)
    assert "x1" in s.numeric
    assert any("'x1': 2 cells (1 in test.csv) are not finite" in n for n in s.notices)
    X = prepare_features(comp.test, s)
    assert X["x1"].isna().sum() == 1 and np.isfinite(X["x1"].dropna()).all()


def test_a_number_column_stays_numeric_when_test_cells_are_not_numbers(binary_comp):
    test = pd.read_csv(binary_comp / "test.csv", dtype=str)
    test["x1"] = "n/a in this release"  # every test cell: the type differs from train
    test.to_csv(binary_comp / "test.csv", index=False)
    s = schema_of(binary_comp)
    assert "x1" in s.numeric
    assert any("'x1': 60 cells (60 in test.csv)" in n for n in s.notices)


def test_regression_rows_whose_target_is_not_finite_are_dropped(regression_comp):
    train = pd.read_csv(regression_comp / "train.csv", dtype=str)
    train.loc[[2, 9], "label"] = ["inf", "-inf"]
    train.to_csv(regression_comp / "train.csv", index=False)
    comp = load_competition(regression_comp)
    s = infer_schema(comp)
    assert s.task == "regression" and s.n_train == 158 and s.n_unlabelled == 2
    assert any("2 train rows whose 'label' is not a finite number" in n for n in s.notices)
    assert labelled_rows(comp.train["label"], s.task).sum() == 158


def test_a_regression_whose_every_target_is_infinite_is_refused(regression_comp):
    train = pd.read_csv(regression_comp / "train.csv", dtype=str)
    train["label"] = "inf"
    train.to_csv(regression_comp / "train.csv", index=False)
    with pytest.raises(DataError, match="no row whose 'label' is a finite number"):
        infer_schema(load_competition(regression_comp, task="regression"))


def test_a_table_without_a_usable_feature_is_refused(binary_comp):
    for name in ("train.csv", "test.csv"):
        frame = pd.read_csv(binary_comp / name)
        frame[["x1", "x2", "color", "level"]] = [1.5, 2.0, "same", 3]
        frame.to_csv(binary_comp / name, index=False)
    with pytest.raises(DataError, match="no usable feature column .*'x1' constant"):
        schema_of(binary_comp)


@pytest.mark.parametrize(
    "text",
    [
        '\ufeffid,a,b\n1," x ",NA\n2,"multi\nline",\n',  # BOM, spaces, quoted newline
        'id,a,b\n007,1.50,"NA"\n\n3,None,n/a\r\n4,"x\r\ny",-nan\n',  # spellings, NA cells
        "id,a,a\n1,2,3\n",  # repeated names: pandas renames them
        "id,a\n1,2,3\n4,5,6\n",  # one field more than the header: an index column
        "id,a,b\n1,2\n3,4,5\n",  # a short row
    ],
)
def test_tables_are_read_to_the_cells_pandas_c_reader_gives(binary_comp, text):
    """Whichever reader reads the file (pyarrow's where it can, pandas' C reader where the
    header or rows need pandas' own rules), the frame is the one read_csv(dtype=str) gives."""
    from automl_tab.competition import read_csv_text

    table = binary_comp / "extra.csv"
    table.write_bytes(text.encode())
    expected = pd.read_csv(table, dtype=str, encoding="utf-8-sig")
    pd.testing.assert_frame_equal(read_csv_text(table), expected)


def test_arrow_reads_well_formed_tables_and_leaves_malformed_ones(binary_comp):
    from automl_tab.competition import _read_arrow
    from automl_tab.competition import read_csv_text

    table = binary_comp / "extra.csv"
    table.write_bytes(b'id,a\n007,"x\ny"\n')
    frame = _read_arrow(table)
    if isinstance(pd.Series([], dtype=str).dtype, pd.StringDtype):  # pandas >= 3
        assert frame is not None and frame["id"].tolist() == ["007"]
        assert frame["a"].tolist() == ["x\ny"]
    table.write_text("id,a\n1,2\n3,4,5,6\n")
    assert _read_arrow(table) is None
    with pytest.raises(DataError, match=r"extra.csv is not a readable CSV file \(Error tokeniz"):
        read_csv_text(table)
    table.write_bytes(b"id,a\n1,caf\xe9\n")
    assert _read_arrow(table) is None
    with pytest.raises(DataError, match="extra.csv is not UTF-8 text"):
        read_csv_text(table)


def test_the_missing_cell_spellings_are_pandas_own():
    """The Arrow reader's null spellings are the C reader's defaults; a pandas release that
    changes them fails here instead of reading cells differently by reader."""
    parsers = pytest.importorskip("pandas._libs.parsers")
    from automl_tab.competition import PANDAS_NA_CELLS

    assert set(PANDAS_NA_CELLS) == set(parsers.STR_NA_VALUES)
