import numpy as np
import pandas as pd
import pytest

from automl_tab.roles import parse_numbers

CELLS = {
    "plain": ["1", "-2.5", ".5", "1e3", None, "+7", "0.1"],
    "one odd cell": ["1", "2", "x", None, "4"],
    "grouped and padded": ["1,234.5", " 3 ", "12,34", None, "-1,000"],
    "overflow and inf": ["1e999", "-inf", "inf", "5", "nan"],
}
EXPECTED = {
    "plain": [1.0, -2.5, 0.5, 1000.0, np.nan, 7.0, 0.1],
    "one odd cell": [1.0, 2.0, np.nan, np.nan, 4.0],
    "grouped and padded": [1234.5, 3.0, np.nan, np.nan, -1000.0],
    "overflow and inf": [np.nan, np.nan, np.nan, 5.0, np.nan],
}


@pytest.mark.parametrize("case", list(CELLS))
@pytest.mark.parametrize("dtype", ["str", object, "string[pyarrow]"])
def test_parse_numbers_reads_the_same_numbers_whatever_holds_the_text(case, dtype):
    # Arrow-backed text takes pyarrow's cast, object text pandas' parser: same numbers.
    values = pd.Series(CELLS[case], dtype=dtype, index=range(10, 10 + len(CELLS[case])))
    numbers = parse_numbers(values)
    assert numbers.dtype == float
    assert list(numbers.index) == list(values.index)
    np.testing.assert_array_equal(numbers.to_numpy(), np.array(EXPECTED[case]))


def test_parse_numbers_of_categories_and_numbers():
    assert parse_numbers(pd.Series(["1", "2"], dtype="category")).tolist() == [1.0, 2.0]
    assert parse_numbers(pd.Series([1, 2], dtype="Int64")).tolist() == [1.0, 2.0]
    assert parse_numbers(pd.Series(["a", "b"], dtype="category")).isna().all()
