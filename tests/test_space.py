"""Search spaces: a point maps to the unit cube and back."""

import pytest

from automl_tab.space import Categorical
from automl_tab.space import Float
from automl_tab.space import Int


@pytest.mark.parametrize(
    "dim",
    [
        Float("lr", 1e-4, 3e-2, log=True),
        Float("d", 0.0, 0.5),
        Int("n", 1, 10),
        Categorical("c", ("a", "b", "c")),
    ],
)
def test_unit_cube_round_trip(dim):
    for u in (0.0, 0.13, 0.5, 0.77, 1.0):
        value = dim.from_unit(u)
        assert dim.from_unit(dim.to_unit(value)) == pytest.approx(value)
        if not isinstance(dim, Categorical):
            assert dim.low <= value <= dim.high
