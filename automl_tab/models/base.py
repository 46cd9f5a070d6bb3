"""What every model of the search offers. Models see params and arrays, never an optimizer."""

from __future__ import annotations

from typing import ClassVar
from typing import Protocol
from typing import runtime_checkable

import numpy as np

from ..space import SearchSpace


@runtime_checkable
class TabularModel(Protocol):
    """Lifecycle: __init__ stores only: the searched params (its defaults are
    default_params()), the fixed options, then the data facts task and n_classes, the
    random_state and the deadline (search.objective.FoldSetup passes them apart from the
    params); fit(...) returns self and sets learned attributes ending in "_"; predict gives
    probabilities (n, k) for classification or values for regression, and raises
    NotFittedError before fit. tests/models/test_contract.py holds every family to this."""

    name: ClassVar[str]
    optimizer_backend: ClassVar[str | None]  # None: the run's --backend
    has_learning_curves: ClassVar[bool]  # the report plots its epochs

    @classmethod
    def fixed_options(cls, config) -> dict: ...

    @classmethod
    def search_space(cls) -> SearchSpace: ...

    @classmethod
    def default_params(cls, rows: int | None = None) -> dict: ...

    @classmethod
    def starting_points(cls, rows: int | None = None) -> list[dict]:
        """Configurations tried first, in order: default_params(rows), then a family's
        portfolio of known-good points, if it has one (all inside search_space())."""
        ...

    def fit(self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray): ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...
