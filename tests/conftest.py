"""Fixtures: small generated competitions in Kaggle layout, written to tmp_path."""

from __future__ import annotations

import pytest
from helpers import write_competition


@pytest.fixture
def binary_comp(tmp_path):
    return write_competition(tmp_path / "bin", "binary")


@pytest.fixture
def multiclass_comp(tmp_path):
    return write_competition(tmp_path / "multi", "multiclass")


@pytest.fixture
def regression_comp(tmp_path):
    return write_competition(tmp_path / "reg", "regression")
